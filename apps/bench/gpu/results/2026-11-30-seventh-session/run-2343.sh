#!/bin/bash
# Seventh session (2026-11-30), 23:43 UTC call (log: run-2343.log). floor3/4/5.mjs, proto.mjs and
# proto3.mjs were the first versions of probes/step-floor-probe.mjs (objects, columns from an
# object, columns as module constants, WebAssembly, the WebAssembly loop alone), since folded into it.
cd "$(dirname "$0")"
lscpu | grep -E "Model name|MHz|^CPU\(s\)|L2|L3"; uptime; node --version
python3 -c "import vllm; print('vllm', vllm.__version__)" 2>&1 | tail -1
echo "== all cases, pinned"; for c in 1 7 13; do echo "core $c:"; taskset -c $c node step-bench.mjs 2>&1 | grep -E "decode|mixed"; done
echo "== decode 1024, SAMPLES=10, pinned"; for c in 0 3 6 9 12 15; do echo -n "core $c: "; CASES='decode 1024' SAMPLES=10 taskset -c $c node step-bench.mjs 2>&1 | grep "decode 1024"; done
echo "== fair A/A (3c6193d both sides)"; for k in 1 2; do ROUNDS=30 taskset -c 4 node aa.mjs 2>&1 | grep -E "A: |B: "; done
echo "== floors (objects / columns / columns folded as constants)"; for f in floor3 floor4 floor5; do echo -n "$f: "; taskset -c 2 node $f.mjs; done
echo "== wasm prototype (columns in WebAssembly memory)"; echo -n "proto: "; taskset -c 2 node proto.mjs; taskset -c 2 node proto3.mjs
echo "== decode 1024 again at the end"; for c in 5 10; do echo -n "core $c: "; CASES='decode 1024' SAMPLES=10 taskset -c $c node step-bench.mjs 2>&1 | grep "decode 1024"; done
uptime
