# Single-core float32 matmul rate (numpy / OpenBLAS, one thread) on the shape the JS bench uses.
import json, sys, time
import numpy as np

rows, in_dim, out_dim = 16, 512, 2048
x = np.random.default_rng(0).standard_normal((rows, in_dim), dtype=np.float32)
w = np.random.default_rng(1).standard_normal((out_dim, in_dim), dtype=np.float32)
best = float('inf')
for _ in range(50):
    t0 = time.perf_counter()
    for _ in range(10):
        x @ w.T
    best = min(best, (time.perf_counter() - t0) / 10)
json.dump({'flops': 2 * rows * in_dim * out_dim / best}, sys.stdout)
