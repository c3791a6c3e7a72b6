#!/usr/bin/env bash
# Runs on the GPU machine, from the repo root, after scripts/pack-device.sh here:
#   run(command: "ADDON_XZ=1 bash packages/cuda/scripts/device-check.sh", carry: [".device/node.xz",
#     ".device/cuda-node-modules.tar.xz", ".device/bench-kernels.mjs", ".device/bench-llama-decode.mjs",
#     ".device/vllm_cuda.node.xz"])
# The CUDA tests for real (vitest), then the kernel benchmarks with their PyTorch peer; the
# benchmark table is printed last. Logs and JSON go to $OUT. SKIP_BENCH, SKIP_PEER, SKIP_LLAMA=1 skip parts;
# SKIP_TRANSFORMERS=1 keeps the PyTorch kernel peers but skips the transformers decode peer; SKIP_KERNELS=1
# skips the kernel benchmarks (bench/kernels.ts) after the decode step.
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/cuda-device-out}
mkdir -p "$OUT"
source packages/cuda/scripts/device-node.sh
tar -xJf .device/cuda-node-modules.tar.xz
# ADDON_XZ=1: the addon came as .device/vllm_cuda.node.xz (a warm machine may still hold an older one
# under build/Release, so only an explicit request replaces it).
if [ "${ADDON_XZ:-0}" = 1 ]; then
  mkdir -p packages/cuda/build/Release && xz -dc .device/vllm_cuda.node.xz >packages/cuda/build/Release/vllm_cuda.node
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
node -e "const b=require(process.env.VLLM_TS_CUDA_ADDON); console.log(JSON.stringify(b.probe())); console.log('cublasLt:', b.gemmInit())"

echo "== GPU tests"
(cd packages/cuda && node ../../node_modules/vitest/vitest.mjs run --reporter=verbose ${CUDA_TEST_FILTER:-}) >"$OUT/tests.log" 2>&1
echo "vitest exit: $?"
grep -E "×|✗|FAIL|AssertionError|expected|Error:|relative error" "$OUT/tests.log" | head -40
grep -E "Tests: " "$OUT/tests.log"

if [ "${SKIP_BENCH:-0}" != 1 ]; then
  if [ "${SKIP_PEER:-0}" != 1 ]; then
  echo "== PyTorch peer"
  PYTHONUNBUFFERED=1 python3 packages/cuda/bench/torch-peer.py "$OUT/torch-peer.json" >"$OUT/torch.log" 2>&1 || tail -5 "$OUT/torch.log"
  grep -E "llama8b|failed" "$OUT/torch.log"
  fi
  if [ -f .device/bench-llama-decode.mjs ] && [ "${SKIP_LLAMA:-0}" != 1 ]; then
    echo "== Llama-3.1-8B decode step"
    BENCH_OUT="$OUT/llama-decode.json" node .device/bench-llama-decode.mjs 2>&1 | tee "$OUT/llama-decode.log" | tail -15
  fi
  if [ "${SKIP_KERNELS:-0}" != 1 ]; then
  echo "== kernels"
  TORCH_PEER_JSON="$OUT/torch-peer.json" BENCH_OUT="$OUT/kernels.json" node .device/bench-kernels.mjs >"$OUT/bench.log" 2>&1
  echo "bench exit: $?"
  sed -n '/^ceilings:/,$p' "$OUT/bench.log"
  grep -iE "error|at " "$OUT/bench.log" | head -10
  fi
fi
true
