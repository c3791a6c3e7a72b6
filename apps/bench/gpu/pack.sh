#!/usr/bin/env bash
# Bundles `vllm-ts-bench` and the engine-core worker for the GPU machine (it has no Node.js
# packages): .device/bench/{vllm-ts-bench.mjs,engine-core-worker.js,package.json}. Send
# `.device/bench`, `.device/node.xz` and the addon along; run-on-device.sh runs the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/../../.."
mkdir -p .device/bench
[ -f .device/node.xz ] || ../shared/tools/pack-node-for-device.sh >/dev/null
echo '{ "type": "module" }' > .device/bench/package.json
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild apps/bench/src/cli.ts --bundle --platform=node --format=esm --target=node20 --conditions=@vllm-ts/source \
  --alias:@resvg/resvg-js=./apps/bench/gpu/no-resvg.mjs --log-level=warning --outfile=.device/bench/vllm-ts-bench.mjs --banner:js="$banner"
npx esbuild apps/bench/gpu/golden-check.ts --bundle --platform=node --format=esm --target=node20 --conditions=@vllm-ts/source \
  --log-level=warning --outfile=.device/bench/golden-check.mjs --banner:js="$banner"
npx esbuild packages/engine/src/core/engine-core-worker.ts --bundle --platform=node --format=esm --target=node20 \
  --conditions=@vllm-ts/source --log-level=warning --outfile=.device/bench/engine-core-worker.js --banner:js="$banner"
# The V1 scheduler's step benchmark (CPU only), run by run-on-device.sh on the GPU host's cores.
npx esbuild packages/scheduler-v1/bench/step-bench.ts --bundle --platform=node --format=esm --target=node20 \
  --conditions=@vllm-ts/source --log-level=warning --outfile=.device/bench/scheduler-step-bench.mjs
ls -la .device/bench
