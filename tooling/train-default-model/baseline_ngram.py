"""Peer for the held-out perplexity: interpolated Kneser-Ney n-gram models on the same tokens.

Trained on train.bin and scored on test.bin from prepare_data.py (same tokenizer, same split),
so the numbers compare directly with the transformer's test perplexity in metrics.json.
The highest order uses raw counts, lower orders continuation counts (Chen & Goodman 1998),
one absolute discount per order, D = n1 / (n1 + 2 n2); the unigram level backs off to uniform.

Usage: python3 baseline_ngram.py --data .train --out tooling/train-default-model/results/baseline-ngram.json
"""

import argparse
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np


def discount(counts: Counter) -> float:
    freq = Counter(counts.values())
    n1, n2 = freq.get(1, 0), freq.get(2, 0)
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5


class KneserNey:
    def __init__(self, tokens: list[int], order: int, vocab: int) -> None:
        self.order, self.vocab = order, vocab
        grams = [Counter(zip(*(tokens[i:] for i in range(n)))) for n in range(1, order + 1)]
        # levels[k]: counts for n-grams of length k + 1; raw at the top, continuation below it.
        self.levels: list[Counter] = []
        for n in range(1, order + 1):
            if n == order:
                self.levels.append(grams[n - 1])
            else:
                cont = Counter(g[1:] for g in grams[n])  # distinct left extensions of each n-gram
                self.levels.append(cont)
        self.discounts = [discount(c) for c in self.levels]
        self.context_total: list[Counter] = []
        self.context_types: list[Counter] = []
        for counts in self.levels:
            total, types = Counter(), Counter()
            for g, c in counts.items():
                total[g[:-1]] += c
                types[g[:-1]] += 1
            self.context_total.append(total)
            self.context_types.append(types)

    def prob(self, context: tuple[int, ...], w: int) -> float:
        p = 1.0 / self.vocab
        for k in range(self.order):
            ctx = context[len(context) - k :] if k else ()
            if len(ctx) < k:
                break
            total = self.context_total[k].get(ctx, 0)
            if total == 0:
                continue
            d = self.discounts[k]
            c = self.levels[k].get(ctx + (w,), 0)
            p = max(c - d, 0.0) / total + d * self.context_types[k][ctx] / total * p
        return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--orders", default="2,3,4")
    args = ap.parse_args()
    data = Path(args.data)
    train = np.fromfile(data / "train.bin", dtype="<u2").tolist()
    test = np.fromfile(data / "test.bin", dtype="<u2").tolist()
    vocab = json.loads((data / "corpus_stats.json").read_text())["vocab_size"]
    results = {}
    for order in (int(o) for o in args.orders.split(",")):
        model = KneserNey(train, order, vocab)
        nll = 0.0
        for i in range(1, len(test)):
            nll -= math.log(model.prob(tuple(test[max(0, i - order + 1) : i]), test[i]))
        loss = nll / (len(test) - 1)
        results[f"kn{order}"] = {"order": order, "test_loss": loss, "test_perplexity": math.exp(loss), "discounts": model.discounts}
        print(f"order {order}: test perplexity {math.exp(loss):.3f}", flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
