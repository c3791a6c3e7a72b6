#!/usr/bin/env bash
# Runs on the GPU machine, from the repo root, after scripts/pack-device.sh here:
#   run(command: "bash packages/cuda/scripts/device-check.sh", carry: [".device", "packages/cuda/build/Release"])
# The CUDA tests for real (vitest), then the kernel benchmarks with their PyTorch peer; the
# benchmark table is printed last. Logs and JSON go to $OUT. SKIP_BENCH, SKIP_PEER, SKIP_LLAMA=1 skip parts.
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/cuda-device-out}
mkdir -p "$OUT"
xz -dc .device/node.xz >/tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
tar -xJf .device/cuda-node-modules.tar.xz
export VLLM_TS_CUDA_ADDON="$PWD/packages/cuda/build/Release/vllm_cuda.node"
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
  echo "== kernels"
  TORCH_PEER_JSON="$OUT/torch-peer.json" BENCH_OUT="$OUT/kernels.json" node .device/bench-kernels.mjs >"$OUT/bench.log" 2>&1
  echo "bench exit: $?"
  sed -n '/^ceilings:/,$p' "$OUT/bench.log"
  grep -iE "error|at " "$OUT/bench.log" | head -10
fi
true
