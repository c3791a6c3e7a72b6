#!/bin/bash
# Seventh session (2026-11-30), fourth call: more decode-1024 samples of the V1 step, and the V0
# scheduler beside V1 in one process (packages/scheduler-v0's bench, BENCH_RUNS=1).
cd "$(dirname "$0")"
lscpu | grep -E "Model name|^CPU\(s\)"; uptime
echo "== decode 1024, SAMPLES=10, pinned"; for c in 1 2 4 6 8 10 12 14; do echo -n "core $c: "; CASES='decode 1024' SAMPLES=10 taskset -c $c node step-bench.mjs 2>&1 | grep "decode 1024"; done
echo "== V0 beside V1 (scheduler-v0 bench), core 3"; BENCH_RUNS=1 taskset -c 3 node v0-bench.mjs 2>&1 | grep -E "decode|mixed"
echo "== decode 1024 again"; for c in 5 11; do echo -n "core $c: "; CASES='decode 1024' SAMPLES=10 taskset -c $c node step-bench.mjs 2>&1 | grep "decode 1024"; done
uptime
