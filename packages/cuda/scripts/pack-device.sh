#!/usr/bin/env bash
# Prepares what the GPU machine needs (it has CUDA and Python but no Node.js): Node itself, the
# vitest closure of node_modules, and the benchmark bundled into one file. Writes under .device/
# (git-ignored). Run from anywhere; then send `.device` (or its files) along; the addon travels as
# .device/vllm_cuda.node.xz, or uncompressed as packages/cuda/build/Release.
set -euo pipefail
cd "$(dirname "$0")/../../.."
../shared/tools/pack-node-for-device.sh >/dev/null
node packages/cuda/scripts/node-modules-closure.mjs . vitest >/tmp/cuda-device-modules.txt
ls -d node_modules/@vllm-ts/* >>/tmp/cuda-device-modules.txt
tar -cJf .device/cuda-node-modules.tar.xz -T /tmp/cuda-device-modules.txt
for b in kernels llama-decode; do
  [ -f "packages/cuda/bench/$b.ts" ] || continue
  npx esbuild "packages/cuda/bench/$b.ts" --bundle --platform=node --format=esm --target=node20 \
    --conditions=@vllm-ts/source --log-level=warning --outfile=".device/bench-$b.mjs"
done
# The addon travels compressed (a quarter of its size): the working tree sent to the GPU machine is capped.
[ -f packages/cuda/build/Release/vllm_cuda.node ] && xz -9 -T2 -c packages/cuda/build/Release/vllm_cuda.node >.device/vllm_cuda.node.xz
ls -la .device
