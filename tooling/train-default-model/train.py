"""Trains one configuration of the default model on the token streams from prepare_data.py.

The step count is fixed after a short timing phase so that the run fits --budget-s seconds;
the learning rate then follows linear warmup and cosine decay over exactly that many steps.
The checkpoint with the lowest validation loss is kept (the test split is never looked at).

Usage: python3 train.py --data .train --out .train/runs/d01 --dropout 0.1 --budget-s 200
Writes in --out: best.pt (bfloat16 state dict), curve.csv (step, tokens, train_loss, val_loss, lr),
run.json (hyperparameters, steps, best step and validation loss, tokens per second).
"""

import argparse
import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

# Architecture of the shipped model: about 5.77M parameters, 11.5 MB in bfloat16.
MODEL_CONFIG = dict(
    vocab_size=4096,
    hidden_size=256,
    intermediate_size=768,
    num_hidden_layers=6,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=64,
    max_position_embeddings=1024,
    rms_norm_eps=1e-5,
    rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    tie_word_embeddings=True,
    bos_token_id=0,
    eos_token_id=2,
    pad_token_id=0,
)


def make_model() -> LlamaForCausalLM:
    config = LlamaConfig(**MODEL_CONFIG)
    config._attn_implementation = "sdpa"
    return LlamaForCausalLM(config)


def add_residual_dropout(model: LlamaForCausalLM, p: float) -> None:
    """Dropout on the embeddings and on each attention/MLP branch before the residual add.

    Forward hooks leave the module tree, and so the exported weights, untouched.
    """
    if p == 0:
        return

    def on_tensor(mod, _inp, out):
        return F.dropout(out, p, mod.training)

    def on_attention(mod, _inp, out):
        return (F.dropout(out[0], p, mod.training),) + tuple(out[1:])

    model.model.embed_tokens.register_forward_hook(on_tensor)
    for layer in model.model.layers:
        layer.self_attn.register_forward_hook(on_attention)
        layer.mlp.register_forward_hook(on_tensor)


def load_stream(path: Path, device: str) -> torch.Tensor:
    return torch.from_numpy(np.fromfile(path, dtype="<u2").astype(np.int64)).to(device)


@torch.no_grad()
def mean_loss(model, stream: torch.Tensor, seq_len: int, batch: int, max_windows: int | None = None) -> float:
    """Mean next-token loss over non-overlapping windows of seq_len + 1 tokens."""
    model.eval()
    n = (stream.numel() - 1) // seq_len
    if max_windows is not None:
        n = min(n, max_windows)
    total, count = 0.0, 0
    for start in range(0, n, batch):
        rows = torch.arange(start, min(n, start + batch), device=stream.device)
        idx = rows[:, None] * seq_len + torch.arange(seq_len + 1, device=stream.device)
        chunk = stream[idx]
        with torch.autocast(stream.device.type, dtype=torch.bfloat16, enabled=stream.device.type == "cuda"):
            logits = model(input_ids=chunk[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), chunk[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += chunk[:, 1:].numel()
    model.train()
    return total / count


def lr_at(step: int, total: int, peak: float, warmup: int, floor: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--budget-s", type=float, default=200.0)
    ap.add_argument("--max-steps", type=int, default=20000)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    torch.manual_seed(args.seed)
    device = args.device
    data = Path(args.data)
    train = load_stream(data / "train.bin", device)
    val = load_stream(data / "val.bin", device)

    model = make_model().to(device)
    add_residual_dropout(model, args.dropout)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
        eps=1e-8,
        fused=device == "cuda",
    )
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed + 1)
    span = torch.arange(args.seq_len + 1, device=device)
    tokens_per_step = args.batch * args.seq_len

    def step_once(step: int, total: int) -> torch.Tensor:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, args.lr, args.warmup, args.lr * 0.05)
        offsets = torch.randint(0, train.numel() - args.seq_len - 1, (args.batch,), device=device, generator=gen)
        chunk = train[offsets[:, None] + span]
        with torch.autocast(device if device == "cuda" else "cpu", dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(input_ids=chunk[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), chunk[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    # Timing phase: these steps count as the start of warmup; the total is fixed from their speed.
    timing_steps = min(30, args.max_steps)
    total = args.max_steps
    rows = []
    best = (float("inf"), -1)
    best_state = None
    running = []
    step = 0
    t_train = time.time()
    while step < total:
        loss = step_once(step, total)
        running.append(loss)
        step += 1
        if step == timing_steps:
            if device == "cuda":
                torch.cuda.synchronize()
            per_step = (time.time() - t_train) / timing_steps
            # Leave room for the evaluations (about 5% of a step each window batch).
            remaining = args.budget_s - (time.time() - t_start)
            total = max(step + 1, min(args.max_steps, step + int(remaining / (per_step * 1.08))))
        if step % args.eval_every == 0 or step == total:
            train_loss = torch.stack(running).mean().item()
            running = []
            val_loss = mean_loss(model, val, args.seq_len, 64)
            lr = opt.param_groups[0]["lr"]
            rows.append((step, step * tokens_per_step, train_loss, val_loss, lr))
            print(f"[{out.name}] step {step}/{total} train {train_loss:.4f} val {val_loss:.4f} lr {lr:.2e}", flush=True)
            if val_loss < best[0]:
                best = (val_loss, step)
                # bfloat16 is the shipped precision, so keeping the best state in it loses nothing.
                best_state = {k: v.detach().to(torch.bfloat16).cpu().clone() for k, v in model.state_dict().items()}
    elapsed = time.time() - t_train

    torch.save(best_state, out / "best.pt")
    with open(out / "curve.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "tokens", "train_loss", "val_loss", "lr"])
        w.writerows(rows)
    run = {
        "hyperparameters": {k: v for k, v in vars(args).items() if k not in ("data", "out", "device")},
        "model_config": MODEL_CONFIG,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": total,
        "tokens_seen": total * tokens_per_step,
        "epochs": total * tokens_per_step / train.numel(),
        "best_step": best[1],
        "best_val_loss": best[0],
        "train_seconds": elapsed,
        "tokens_per_second": total * tokens_per_step / elapsed,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    print(f"[{out.name}] done: best val {best[0]:.4f} at step {best[1]}, {elapsed:.1f}s", flush=True)


if __name__ == "__main__":
    main()
