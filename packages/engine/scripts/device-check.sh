#!/usr/bin/env bash
# Runs on the GPU machine, from the repo root, after scripts/pack-device.sh here:
#   run(command: "bash packages/engine/scripts/device-check.sh",
#       carry: [".device/node.xz", ".device/engine-node-modules.tar.xz", ".device/cuda-snapshot.tar.xz", ...])
# The engine's CUDA tests for real (vitest: the golden fixtures through LLM on the GPU), then the
# cuda package's tests, then (unless SKIP_BENCH=1) the GPU benchmarks. Logs go to $OUT.
# DEVICE_DIR: the folder pack-device.sh wrote (default .device).
set -uo pipefail
cd "$(dirname "$0")/../../.."
D=${DEVICE_DIR:-.device}
OUT=${OUT:-/tmp/engine-device-out}
mkdir -p "$OUT"
DEVICE_DIR=$D source packages/cuda/scripts/device-node.sh
tar -xJf "$D/engine-node-modules.tar.xz"
mkdir -p node_modules/tsx/node_modules/@esbuild
ln -sfn ../../vite/node_modules/esbuild node_modules/tsx/node_modules/esbuild
ln -sfn ../../../vite/node_modules/@esbuild/linux-x64 node_modules/tsx/node_modules/@esbuild/linux-x64
# Optional: committed sources over work in progress (git archive), then the addon built here.
[ -f "$D/head-src.tar.xz" ] && tar -xJf "$D/head-src.tar.xz"
[ -f "$D/cuda-snapshot.tar.xz" ] && tar -xJf "$D/cuda-snapshot.tar.xz"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
node -e "const b=require(process.env.VLLM_TS_CUDA_ADDON); console.log(JSON.stringify(b.probe()))"

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  echo "== engine GPU tests"
  timeout "${TEST_TIMEOUT:-240}" node node_modules/vitest/vitest.mjs run --project engine ${ENGINE_TEST_FILTER:-src/engine-golden-cuda.test.ts} >"$OUT/engine-tests.log" 2>&1
  echo "vitest exit: $?"
  grep -E "×|✗|FAIL|AssertionError|Error:|bf16 |Tests: " "$OUT/engine-tests.log" | head -40
  if [ "${CUDA_TESTS:-1}" = 1 ]; then
    echo "== cuda GPU tests"
    (cd packages/cuda && timeout 180 node ../../node_modules/vitest/vitest.mjs run ${CUDA_TEST_FILTER:-}) >"$OUT/cuda-tests.log" 2>&1
    echo "vitest exit: $?"
    grep -E "×|✗|FAIL|AssertionError|Tests: " "$OUT/cuda-tests.log" | head -20
  fi
fi
if [ "${SKIP_BENCH:-0}" != 1 ] && [ -f "$D/engine-gpu-bench.mjs" ]; then
  echo "== GPU benchmarks"
  node "$D/engine-gpu-bench.mjs" "$OUT" 2>&1 | tee "$OUT/gpu-bench.log" | tail -40
fi
true
