#!/usr/bin/env bash
# Runs on the GPU machine from the repo root, after apps/bench/gpu/pack.sh here:
#   run(command: "bash apps/bench/gpu/run-on-device.sh",
#       carry: [".device/node.xz", ".device/bench", "packages/cuda/build/Release"])
# (or ".device/bench.tar.xz" and ".device/cuda-snapshot.tar.xz" in place of the last two)
# Llama-3.1-8B (config only, dummy bf16 weights) through `vllm-ts-bench` on the GPU, then the
# transformers peer on the same GPU, then one table (summarize.mjs). JSON and logs go to $OUT.
# Sizes: NUM_PROMPTS (1000), DH_PROMPTS (128), DH_OUTPUT (2048); SKIP_PEER=1, SKIP_OURS=1, SKIP_SCHEDULER=1;
# DH_ASYNC=1: decode-heavy again with --async-scheduling; THROUGHPUT_ARGS: extra flags of the two throughput runs (e.g. --async-scheduling).
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/gpu-bench-out}
mkdir -p "$OUT"
source packages/cuda/scripts/device-node.sh
sh apps/bench/gpu/prepare.sh
# Optional packed forms (pack.sh's output as one archive; an addon + TypeScript snapshot of @vllm-ts/cuda).
[ -f .device/bench.tar.xz ] && tar -xJf .device/bench.tar.xz
[ -f .device/cuda-snapshot.tar.xz ] && tar -xJf .device/cuda-snapshot.tar.xz
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader | tee "$OUT/gpu.txt"
if [ "${SKIP_GOLDEN:-0}" != 1 ] && [ -f .device/bench/golden-check.mjs ]; then
  echo "== golden check (fixture models on the GPU)"
  timeout 240 node .device/bench/golden-check.mjs 2>&1 | tee "$OUT/golden-check.log" | grep -v '^\s*$' | tail -16
fi
M=apps/bench/gpu/models/llama-3.1-8b
COMMON="--model $M --load-format dummy --device cuda --dtype bfloat16 --max-model-len 4096"
# VLLM_TS_CUDA_STEP_TIMING=1: the runner prints where each kind of step spends its time when it closes.
export VLLM_TS_CUDA_STEP_TIMING=${VLLM_TS_CUDA_STEP_TIMING:-1}
n=0
bench() {
  n=$((n + 1)); echo "== vllm-ts-bench $*"
  timeout "${STEP_TIMEOUT:-300}" node .device/bench/vllm-ts-bench.mjs "$@" >"$OUT/bench-$n.log" 2>&1
  grep -v '^\s*$' "$OUT/bench-$n.log" | grep -v '^\[cuda runner\]' | tail -4; grep '^\[cuda runner\]' "$OUT/bench-$n.log"
}
if [ "${SKIP_OURS:-0}" != 1 ]; then
  bench latency $COMMON --batch-size 1 --input-len 1024 --output-len 128 --num-iters-warmup 1 --num-iters 5 --output-json "$OUT/ours-latency-b1.json"
  # The same with async scheduling (step N+1 prepared on the host while step N runs).
  bench latency $COMMON --async-scheduling --batch-size 1 --input-len 1024 --output-len 128 --num-iters-warmup 1 --num-iters 5 --output-json "$OUT/ours-latency-b1-async.json"
  bench throughput $COMMON ${THROUGHPUT_ARGS:-} --dataset-name random --num-prompts "${NUM_PROMPTS:-1000}" --input-len 1024 --output-len 128 --output-json "$OUT/ours-throughput.json"
  bench throughput $COMMON ${THROUGHPUT_ARGS:-} --dataset-name random --num-prompts "${DH_PROMPTS:-128}" --input-len 32 --output-len "${DH_OUTPUT:-2048}" --output-json "$OUT/ours-decode-heavy.json"
  # DH_ASYNC=1: the decode-heavy run once more with async scheduling.
  [ "${DH_ASYNC:-0}" = 1 ] && bench throughput $COMMON --async-scheduling --dataset-name random --num-prompts "${DH_PROMPTS:-128}" --input-len 32 --output-len "${DH_OUTPUT:-2048}" --output-json "$OUT/ours-decode-heavy-async.json"
fi
if [ "${SKIP_PEER:-0}" != 1 ]; then
  echo "== transformers peer"
  timeout "${PEER_TIMEOUT:-300}" python3 apps/bench/gpu/transformers-peer.py "$OUT/transformers-peer.json" ${PEER_ARGS:-} >"$OUT/peer.log" 2>&1 || tail -5 "$OUT/peer.log"
fi
# The V1 scheduler's step benchmark on this machine's CPUs (bundled by pack.sh when present).
if [ "${SKIP_SCHEDULER:-0}" != 1 ] && [ -f .device/bench/scheduler-step-bench.mjs ]; then
  echo "== scheduler-v1 step bench (CPU)"
  (cd .device/bench && timeout 240 node scheduler-step-bench.mjs) >"$OUT/scheduler-step-bench.log" 2>&1
  tail -14 "$OUT/scheduler-step-bench.log"
  cp -r .device/bench/results "$OUT/scheduler-results" 2>/dev/null || true
fi
node apps/bench/gpu/summarize.mjs "$OUT" | tee "$OUT/summary.md"
