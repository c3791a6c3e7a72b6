"""Draws curve.csv (train and validation loss against tokens seen) as a self-contained SVG.

Usage: python3 plot_loss.py curve.csv loss-curve.svg [--best-step N]
No plotting library needed: the SVG is written by hand.
"""

import argparse
import csv
import math

W, H = 720, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 50


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("svg")
    ap.add_argument("--best-step", type=int, default=None)
    ap.add_argument("--title", default="Default model: loss per token (nats)")
    args = ap.parse_args()
    rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(args.csv))]
    xs = [r["tokens"] / 1e6 for r in rows]
    series = [("train", "#1f77b4", [r["train_loss"] for r in rows]), ("validation", "#d62728", [r["val_loss"] for r in rows])]
    ys = [y for _, _, s in series for y in s]
    y_lo = math.floor(min(ys) * 2) / 2
    y_hi = min(math.ceil(max(ys) * 2) / 2, y_lo + 6)
    x_hi = max(xs)

    def px(x: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * x / x_hi

    def py(y: float) -> float:
        y = min(max(y, y_lo), y_hi)
        return TOP + (H - TOP - BOTTOM) * (1 - (y - y_lo) / (y_hi - y_lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">{args.title}</text>',
    ]
    steps = 6
    for i in range(steps + 1):
        y = y_lo + (y_hi - y_lo) * i / steps
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    for i in range(steps + 1):
        x = x_hi * i / steps
        parts.append(f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#eee"/>')
        parts.append(f'<text x="{px(x):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{x:.0f}</text>')
    parts.append(f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">training tokens seen (millions)</text>')
    for i, (name, color, s) in enumerate(series):
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, s))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        parts.append(f'<line x1="{W - 170}" x2="{W - 145}" y1="{TOP + 14 + 18 * i}" y2="{TOP + 14 + 18 * i}" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<text x="{W - 140}" y="{TOP + 18 + 18 * i}">{name}</text>')
    if args.best_step is not None:
        best = next((r for r in rows if int(r["step"]) == args.best_step), None)
        if best is not None:
            x = px(best["tokens"] / 1e6)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#555" stroke-dasharray="4 3"/>')
            anchor, dx = ("end", -4) if x > W / 2 else ("start", 4)
            parts.append(f'<text x="{x + dx:.1f}" y="{H - BOTTOM - 8}" text-anchor="{anchor}" fill="#555">kept (step {args.best_step})</text>')
    parts.append("</svg>")
    with open(args.svg, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
