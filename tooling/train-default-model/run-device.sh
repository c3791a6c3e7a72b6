#!/usr/bin/env bash
# One GPU session: a small sweep trained concurrently on one GPU, then export and references.
# Run from the repository root with the prepared data in .train/ (prepare_data.py).
# Results: $OUT/result.tar (default-model/, curve.csv, metrics.json, runs/*/{curve.csv,run.json}).
set -euo pipefail
export PYTHONUNBUFFERED=1
BUDGET_S=${BUDGET_S:-200}
OUT=${OUT:-.train/out}
mkdir -p "$OUT"
REPO=$(pwd)
cd tooling/train-default-model
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"
python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'

RUNS="$REPO/.train/runs"
rm -rf "$RUNS"
# name dropout max_steps
SWEEP="a-d0.0-s1000 0.0 1000
b-d0.1-s2000 0.1 2000
c-d0.1-budget 0.1 8000
d-d0.2-budget 0.2 8000
e-d0.3-budget 0.3 8000"
pids=()
while read -r name dropout steps; do
  python3 train.py --data "$REPO/.train" --out "$RUNS/$name" --dropout "$dropout" --max-steps "$steps" \
    --budget-s "$BUDGET_S" --seed 0 ${EXTRA_ARGS:-} > "$OUT/train-$name.log" 2>&1 &
  pids+=($!)
done <<< "$SWEEP"
for pid in "${pids[@]}"; do wait "$pid"; done
tail -n 2 "$OUT"/train-*.log

if ! python3 export.py --data "$REPO/.train" --runs "$RUNS" --out "$REPO/.train/default-model"; then
  # Keep the training result: the best run's weights come back for a local export.
  best=$(python3 -c 'import json,sys,pathlib; r=[(json.loads(p.read_text())["best_val_loss"],p.parent) for p in pathlib.Path(sys.argv[1]).glob("*/run.json")]; print(min(r)[1])' "$RUNS")
  cp "$best/best.pt" "$OUT/best.pt"; echo "export failed; $best/best.pt copied"
  mkdir -p "$REPO/.train/default-model"; touch "$REPO/.train/curve.csv" "$REPO/.train/metrics.json"
fi
tar -C "$REPO/.train" -cf "$OUT/result.tar" default-model curve.csv metrics.json \
  $(cd "$REPO/.train" && ls runs/*/curve.csv runs/*/run.json)
cat "$OUT"/train-*.log > "$OUT/train.log"
rm -f "$OUT"/train-*.log
date -u
