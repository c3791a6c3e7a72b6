"""Picks the run with the lowest validation loss, exports it in the Hugging Face layout and
produces the reference data that the TypeScript engine is checked against.

Usage: python3 export.py --data .train --runs .train/runs --out .train/default-model

Everything after the export reads the written folder back (bfloat16 weights upcast to
float32, on the CPU, eager attention), so the reference describes exactly the shipped files:
- reference.json: greedy continuations (full recompute each step, no EOS stop) and the
  last-position logits of each prompt;
- metrics.json: validation and test perplexity of the shipped weights, samples at
  temperature 0.8, the sweep's results and the selected run's hyperparameters.
"""

import argparse
import base64
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import AutoTokenizer, LlamaForCausalLM

from train import load_stream, make_model, mean_loss

GREEDY_TOKENS = 32
REFERENCE_PROMPTS = [
    {"name": "single-token", "text": "And"},
    {"name": "genesis", "text": "In the beginning"},
    {"name": "moses", "text": "And the LORD said unto Moses,"},
    {"name": "beatitudes", "text": "Blessed are the"},
    {"name": "chat", "messages": [{"role": "user", "content": "The LORD is my shepherd; I shall not want."}]},
]
SAMPLE_PROMPTS = [
    {"text": "And it came to pass"},
    {"text": "The word of the LORD came unto me, saying,"},
    {"text": "Wisdom"},
    {"messages": [{"role": "user", "content": "Who shall dwell in thy holy hill?"}]},
]
SAMPLE_TEMPERATURE = 0.8
SAMPLE_TOKENS = 60


def prompt_ids(tok, prompt: dict) -> list[int]:
    if "messages" in prompt:
        return list(tok.apply_chat_template(prompt["messages"], add_generation_prompt=True, tokenize=True, return_dict=False))
    return tok.encode(prompt["text"], add_special_tokens=False)


@torch.no_grad()
def greedy(model, ids: list[int], steps: int) -> tuple[list[int], float, torch.Tensor]:
    """Greedy tokens from a full forward pass each step; the smallest top-1 margin; first-step logits."""
    seq = list(ids)
    out, margin, first = [], math.inf, None
    for _ in range(steps):
        logits = model(input_ids=torch.tensor([seq])).logits[0, -1].float()
        if first is None:
            first = logits.clone()
        top2 = torch.topk(logits, 2)
        margin = min(margin, (top2.values[0] - top2.values[1]).item())
        nxt = int(top2.indices[0])
        out.append(nxt)
        seq.append(nxt)
    return out, margin, first


@torch.no_grad()
def sample(model, ids: list[int], steps: int, temperature: float, gen: torch.Generator, stop: set[int]) -> list[int]:
    seq = list(ids)
    out = []
    for _ in range(steps):
        logits = model(input_ids=torch.tensor([seq])).logits[0, -1].float()
        nxt = int(torch.multinomial(F.softmax(logits / temperature, dim=-1), 1, generator=gen))
        if nxt in stop:
            break
        out.append(nxt)
        seq.append(nxt)
    return out


def logits_summary(logits: torch.Tensor) -> dict:
    top = torch.topk(logits, 10)
    return {
        "top_ids": [int(i) for i in top.indices],
        "top_values": [float(v) for v in top.values],
        "logsumexp": float(torch.logsumexp(logits.double(), 0)),
        "mean": float(logits.double().mean()),
        "std": float(logits.double().std()),
        "f32_base64": base64.b64encode(logits.numpy().astype("<f4").tobytes()).decode("ascii"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".train")
    ap.add_argument("--runs", default=".train/runs")
    ap.add_argument("--out", default=".train/default-model")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    sweep = []
    for run_dir in sorted(Path(args.runs).iterdir()):
        if (run_dir / "run.json").exists():
            run = json.loads((run_dir / "run.json").read_text())
            sweep.append({"run": run_dir.name, **run})
    best = min(sweep, key=lambda r: r["best_val_loss"])
    best_dir = Path(args.runs) / best["run"]
    print(f"selected {best['run']} (val loss {best['best_val_loss']:.4f})", flush=True)

    model = make_model()
    model.load_state_dict(torch.load(best_dir / "best.pt", map_location="cpu"))
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(data / name, out / name)
    generation_config = {"bos_token_id": 0, "eos_token_id": [2, 0], "pad_token_id": 0}
    (out / "generation_config.json").write_text(json.dumps(generation_config, indent=2) + "\n")
    shutil.copy(best_dir / "curve.csv", out.parent / "curve.csv")

    # From here on only the written folder is used.
    torch.set_num_threads(max(1, min(16, torch.get_num_threads())))
    shipped = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(out)

    t0 = time.time()
    val_loss = mean_loss(shipped, load_stream(data / "val.bin", "cpu"), 512, 16)
    test_loss = mean_loss(shipped, load_stream(data / "test.bin", "cpu"), 512, 16)
    stats = json.loads((data / "corpus_stats.json").read_text())
    test_tokens, test_bytes = stats["test"]["tokens"], stats["test"]["bytes"]
    print(f"val ppl {math.exp(val_loss):.3f} test ppl {math.exp(test_loss):.3f} ({time.time() - t0:.1f}s)", flush=True)

    references = []
    for prompt in REFERENCE_PROMPTS:
        ids = prompt_ids(tok, prompt)
        greedy_ids, margin, first = greedy(shipped, ids, GREEDY_TOKENS)
        references.append(
            {
                "name": prompt["name"],
                **({"messages": prompt["messages"]} if "messages" in prompt else {"text": prompt["text"]}),
                "prompt_ids": ids,
                "greedy_ids": greedy_ids,
                "greedy_text": tok.decode(greedy_ids, skip_special_tokens=False),
                "min_top1_margin": margin,
                "last_logits": logits_summary(first),
            }
        )
    reference = {
        "reference": f"transformers {transformers.__version__}, torch {torch.__version__}, float32 on CPU, eager attention; "
        "bfloat16 weights upcast; greedy by full recompute each step, no EOS stop",
        "vocab_size": shipped.config.vocab_size,
        "greedy_tokens": GREEDY_TOKENS,
        "prompts": references,
    }
    (out / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")

    gen = torch.Generator().manual_seed(args.seed)
    samples = []
    for prompt in SAMPLE_PROMPTS:
        ids = prompt_ids(tok, prompt)
        got = sample(shipped, ids, SAMPLE_TOKENS, SAMPLE_TEMPERATURE, gen, {0, 2})
        samples.append({**prompt, "completion": tok.decode(got, skip_special_tokens=False)})
        print(json.dumps(samples[-1]), flush=True)

    metrics = {
        "selected_run": best["run"],
        "val_loss": val_loss,
        "val_perplexity": math.exp(val_loss),
        "test_loss": test_loss,
        "test_perplexity": math.exp(test_loss),
        "test_bits_per_byte": test_loss * test_tokens / test_bytes / math.log(2),
        "eval_context": 512,
        "sample_temperature": SAMPLE_TEMPERATURE,
        "sample_seed": args.seed,
        "samples": samples,
        "model_bytes": (out / "model.safetensors").stat().st_size,
        "sweep": [{k: r[k] for k in ("run", "hyperparameters", "steps", "epochs", "best_step", "best_val_loss", "train_seconds", "tokens_per_second", "device", "torch")} for r in sweep],
        "transformers": transformers.__version__,
        "numpy": np.__version__,
    }
    (out.parent / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("samples", "sweep")}, indent=2))


if __name__ == "__main__":
    main()
