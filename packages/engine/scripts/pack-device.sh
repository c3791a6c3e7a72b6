#!/usr/bin/env bash
# Prepares the engine's GPU run (the GPU machine has CUDA and Python but no Node.js): Node itself,
# the node_modules closure of vitest + tsx + the workspace's runtime dependencies, the Llama-3.1-8B
# bench bundle, the addon built in the tree given as $1 (default: this checkout) and the committed
# sources (git archive of HEAD), so work in progress elsewhere in the tree does not reach the run. Writes under .device/ (git-ignored); device-check.sh consumes it.
# DEVICE_DIR=.device/x packs into another folder under .device/ (so concurrent packs do not clash);
# HEAD_SRC=0 leaves the committed sources out (the run then tests the working tree as the run tool copies it).
set -euo pipefail
cd "$(dirname "$0")/../../.."
SNAP_FROM=${1:-$PWD}
D=${DEVICE_DIR:-.device}
mkdir -p "$D"
[ -f "$D/node.xz" ] || { [ -f .device/node.xz ] && cp .device/node.xz "$D/node.xz"; } || ../shared/tools/pack-node-for-device.sh "$D" >/dev/null
deps=$(for p in packages/*/package.json tooling/*/package.json; do
  node -e "const p=require('./$p'); console.log(Object.keys(p.dependencies||{}).filter(d=>!d.startsWith('@vllm-ts')).join('\n'))"
done | sort -u)
node packages/cuda/scripts/node-modules-closure.mjs . vitest tsx $deps >/tmp/engine-device-modules.txt
ls -d node_modules/@vllm-ts/* >>/tmp/engine-device-modules.txt
# tsx's esbuild is the same version as vite's (checked below): ship one copy, link the other on the GPU machine.
test "$(node -p "require('./node_modules/tsx/node_modules/esbuild/package.json').version")" = \
     "$(node -p "require('./node_modules/vite/node_modules/esbuild/package.json').version")"
tar -cJf "$D/engine-node-modules.tar.xz" --exclude=node_modules/tsx/node_modules --exclude='*.map' --exclude='*.d.ts' \
  --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.md' --exclude='LICENSE*' -T /tmp/engine-device-modules.txt
tar -cJf "$D/cuda-snapshot.tar.xz" -C "$SNAP_FROM" packages/cuda/build/Release/vllm_cuda.node
# Committed sources, so other work in progress in this tree does not reach the GPU run.
rm -f "$D/head-src.tar.xz"
[ "${HEAD_SRC:-1}" = 0 ] || git archive --format=tar HEAD -- packages tooling apps ':!packages/engine/default-model' ':!tooling/fixtures/data' \
  ':!apps/bench/fonts' ':!apps/bench/gpu' ':!packages/*/bench/results' ':!packages/*/scripts' | xz -9 >"$D/head-src.tar.xz"
for b in gpu-bench; do
  [ -f "packages/engine/bench/$b.ts" ] || continue
  npx esbuild "packages/engine/bench/$b.ts" --bundle --platform=node --format=esm --target=node20 \
    --conditions=@vllm-ts/source --log-level=warning --outfile="$D/engine-$b.mjs" \
    --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
done
ls -la "$D"
