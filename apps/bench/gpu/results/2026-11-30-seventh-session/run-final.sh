#!/bin/bash
# Seventh session (2026-11-30), second call: the scheduler-v1 step bench (tree with the lean
# ScriptedRunner, scheduler code as at 3c6193d) and the loop-floor probe on the GPU machine's CPU.
# Files beside it: step-bench.mjs (npm run bench:bundle), aa.mjs (the sixth session's fair A/A
# bundle), step-floor-probe.mjs and decode-loops.wasm (probes/).
cd "$(dirname "$0")"
lscpu | grep -E "Model name|MHz|^CPU\(s\)|L2|L3"; uptime; node --version
echo "== loop floor probe (3 rounds, core 2)"; for r in 1 2 3; do for v in objects columns wasm; do taskset -c 2 node step-floor-probe.mjs $v; done; done
echo "== all cases, pinned"; for c in 1 7; do echo "core $c:"; taskset -c $c node step-bench.mjs 2>&1 | grep -E "decode|mixed"; done
echo "== decode 1024, SAMPLES=10, pinned"; for c in 0 3 6 9 12 15; do echo -n "core $c: "; CASES='decode 1024' SAMPLES=10 taskset -c $c node step-bench.mjs 2>&1 | grep "decode 1024"; done
echo "== fair A/A (3c6193d both sides)"; ROUNDS=30 taskset -c 4 node aa.mjs 2>&1 | grep -E "A: |B: "
echo "== loop floor probe again (core 10)"; for v in objects columns wasm; do taskset -c 10 node step-floor-probe.mjs $v; done
uptime
