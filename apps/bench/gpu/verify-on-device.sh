#!/usr/bin/env bash
# Correctness on the GPU machine in one call (from the repo root), before run-on-device.sh's benchmarks:
# the cuda package's GPU tests (vitest), the engine's async-scheduling checks and the fixture golden
# check (bundles, no node_modules), then the V1 scheduler's step benchmark on this host's CPUs.
#   here: packages/cuda/scripts/pack-device.sh; apps/bench/gpu/pack.sh; bundle
#         packages/engine/scripts/async-gpu-check.ts into .device/bench; tar .device/bench; xz the addon
#   run(command: "bash apps/bench/gpu/verify-on-device.sh",
#       carry: [".device/node.xz", ".device/cuda-node-modules.tar.xz", ".device/final"])
# .device/final holds bench.tar.xz (.device/bench) and vllm_cuda.node.xz. Logs go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/gpu-verify-out}
mkdir -p "$OUT"
source packages/cuda/scripts/device-node.sh
tar -xJf .device/cuda-node-modules.tar.xz
tar -xJf .device/final/bench.tar.xz
mkdir -p packages/cuda/build/Release && xz -dc .device/final/vllm_cuda.node.xz >packages/cuda/build/Release/vllm_cuda.node
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader | tee "$OUT/gpu.txt"
status=0
echo "== cuda GPU tests"
(cd packages/cuda && timeout 240 node ../../node_modules/vitest/vitest.mjs run ${CUDA_TEST_FILTER:-}) >"$OUT/cuda-tests.log" 2>&1 || status=1
grep -E "×|✗|FAIL|AssertionError|Test Files|Tests  " "$OUT/cuda-tests.log" | head -30
echo "== engine: async scheduling on the GPU"
timeout 180 node .device/bench/async-gpu-check.mjs >"$OUT/async-gpu-check.log" 2>&1 || status=1
grep -v '^\s*$' "$OUT/async-gpu-check.log" | tail -30
echo "== engine: fixture golden check"
timeout 180 node .device/bench/golden-check.mjs >"$OUT/golden-check.log" 2>&1 || status=1
grep -v '^\s*$' "$OUT/golden-check.log" | tail -16
if [ "${SKIP_SCHEDULER:-0}" != 1 ]; then
  echo "== scheduler-v1 step bench (CPU, $(nproc) cores)"
  (cd .device/bench && timeout "${SCHEDULER_TIMEOUT:-150}" node scheduler-step-bench.mjs) >"$OUT/scheduler-step-bench.log" 2>&1
  tail -16 "$OUT/scheduler-step-bench.log"
  cp -r .device/bench/results "$OUT/scheduler-results" 2>/dev/null || true
fi
echo "verify status: $status"
exit $status
