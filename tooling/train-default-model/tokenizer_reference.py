"""Reference encodings of the bundled tokenizer by Hugging Face `tokenizers`, for the TypeScript tokenizer.

Texts: verses and multi-verse passages sampled from the held-out test chapters, chat turns with the
special tokens written inline, and edge cases (spaces, newlines, digits, punctuation, non-ASCII).
For each: `ids` from encode(text, add_special_tokens=False); `decoded` only where decode(ids)
differs from the text.

Usage: python3 tokenizer_reference.py --data .train --tokenizer packages/engine/default-model/tokenizer.json \
           --out tooling/train-default-model/results/tokenizer-reference.json
"""

import argparse
import json
import random
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

EDGE_CASES = [
    "",
    " ",
    "\n",
    "  two leading spaces",
    "trailing spaces   ",
    "blank lines\n\n\nbetween",
    "Windows\r\nline ends\r\n",
    "tabs\tand\u00a0no-break spaces",
    "Psalm 23:1-6, Genesis 1:1 and the year 1611.",
    "THE LORD'S PRAYER; it's, don't, I'll, we've, they're",
    "naïve café — “curly quotes” and ‘single’ ones…",
    "Ἐν ἀρχῇ ἦν ὁ λόγος",
    "בְּרֵאשִׁית",
    "漢字とかな",
    "emoji 🙏🏽 and 👨‍👩‍👧",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|im_end|><|im_end|>",
    "<|im_start",
    "a" * 300,
    "And" * 50,
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".train")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=31102)
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    rng = random.Random(args.seed)
    chapters = [c.strip("\n") for c in Path(args.data, "test.txt").read_text(encoding="utf-8").split("<|endoftext|>")]
    verses = [v for c in chapters for v in c.split("\n") if v]
    texts = rng.sample(verses, 120)
    for _ in range(20):
        c = rng.choice(chapters).split("\n")
        start = rng.randrange(0, max(1, len(c) - 4))
        texts.append("\n".join(c[start : start + rng.randint(2, 5)]))
    for _ in range(10):
        user, reply = rng.sample(verses, 2)
        texts.append(f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{reply}<|im_end|>\n")
    texts += EDGE_CASES
    lines = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        line = {"text": text, "ids": ids}
        decoded = tok.decode(ids, skip_special_tokens=False)
        if decoded != text:
            line["decoded"] = decoded
        lines.append(line)
    header = json.dumps(f"tokenizers {tokenizers.__version__}, encode(text, add_special_tokens=False)")
    body = ",\n".join(json.dumps(line, ensure_ascii=False) for line in lines)  # one text per line
    Path(args.out).write_text(f'{{"reference": {header},\n"texts": [\n{body}\n]}}\n', encoding="utf-8")
    print(f"{len(lines)} texts, {sum(len(l['ids']) for l in lines)} tokens")


if __name__ == "__main__":
    main()
