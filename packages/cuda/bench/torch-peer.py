# PyTorch equivalents of bench/kernels.ts, timed the same way (CUDA events, warm-up, median of 7
# groups of 10 calls) on the same GPU in the same command. Writes {kernel name: ms} as JSON.
import json, math, sys
import torch
import torch.nn.functional as F

dev = 'cuda'
bf = torch.bfloat16
torch.manual_seed(0)

def time_ms(fn, iters=10, reps=7, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(reps):
        s.record()
        for _ in range(iters):
            fn()
        e.record()
        e.synchronize()
        samples.append(s.elapsed_time(e) / iters)
    samples.sort()
    return samples[len(samples) // 2]

out = {}
H, NH, NKV, D, I, V, T = 4096, 32, 8, 128, 14336, 128256, 16384

a = torch.randn(1 << 30, device=dev, dtype=bf); b = torch.empty_like(a)
out['ceiling: D2D copy 2 GiB'] = time_ms(lambda: b.copy_(a), iters=5); del a, b
x = torch.randn(8192, 8192, device=dev, dtype=bf); w = torch.randn(8192, 8192, device=dev, dtype=bf) * 0.05
out['ceiling: cuBLASLt bf16 GEMM 8192^3'] = time_ms(lambda: x @ w.t(), iters=5); del x, w

table = torch.randn(V, H, device=dev, dtype=bf); ids = torch.randint(0, V, (T,), device=dev)
out['embedding 16k tokens'] = time_ms(lambda: F.embedding(ids, table)); del table

x = torch.randn(T, H, device=dev, dtype=bf); r = torch.randn(T, H, device=dev, dtype=bf); w = torch.randn(H, device=dev, dtype=bf)
def add_rms():
    s = x + r
    v = s.float().pow(2).mean(-1, keepdim=True)
    return w * (s.float() * torch.rsqrt(v + 1e-5)).to(bf)
out['fusedAddRmsNorm 16k x 4096'] = time_ms(add_rms)
gu = torch.randn(T, 2 * I, device=dev, dtype=bf)
out['siluAndMul 16k x 14336'] = time_ms(lambda: F.silu(gu[:, :I]) * gu[:, I:]); del gu

# Prefill attention: 16 x 1024 causal, GQA, contiguous (no paging) through SDPA (flash).
q = torch.randn(16, NH, 1024, D, device=dev, dtype=bf); k = torch.randn(16, NKV, 1024, D, device=dev, dtype=bf); v = torch.randn_like(k)
out['pagedAttentionPrefill 16 x 1024 causal'] = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True), iters=3)
q = torch.randn(16, 64, 1024, 64, device=dev, dtype=bf); k = torch.randn(16, 16, 1024, 64, device=dev, dtype=bf); v = torch.randn_like(k)
out['pagedAttentionPrefill 16 x 1024 causal, head dim 64'] = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True), iters=3)
q = torch.randn(64, NH, 1, D, device=dev, dtype=bf); k = torch.randn(64, NKV, 2048, D, device=dev, dtype=bf); v = torch.randn_like(k)
out['pagedAttentionDecode 64 x 2048 ctx'] = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
del q, k, v

for label, n, k in [('qkv', (NH + 2 * NKV) * D, H), ('o_proj', H, NH * D), ('gate_up', 2 * I, H), ('down', H, I), ('lm_head', V, H)]:
    w = torch.randn(n, k, device=dev, dtype=bf) * 0.05
    for m in [1, 4096]:
        if label == 'lm_head' and m > 1:
            continue
        a = torch.randn(m, k, device=dev, dtype=bf)
        if label == 'lm_head':
            out[f'gemm {label} m={m} ({n}x{k})'] = time_ms(lambda: F.linear(a, w).float())
        else:
            out[f'gemm {label} m={m} ({n}x{k})'] = time_ms(lambda: F.linear(a, w))
    del w

logits = torch.randn(256, V, device=dev) * 3
out['argmax 256 x 128256 fp32'] = time_ms(lambda: logits.argmax(-1))
def topk_topp():
    l = logits / 0.8
    kth = torch.topk(l, 50, dim=-1).values[:, -1:]
    l = l.masked_fill(l < kth, float('-inf'))
    sl, si = l.sort(dim=-1, descending=False)
    cum = sl.softmax(-1).cumsum(-1)
    mask = cum <= 1 - 0.9
    mask[:, -1] = False
    sl = sl.masked_fill(mask, float('-inf'))
    probs = sl.softmax(-1)
    return si.gather(-1, torch.multinomial(probs, 1))
out['sample top-k 50 top-p 0.9, 256 rows'] = time_ms(topk_topp)

json.dump(out, open(sys.argv[1], 'w'), indent=1)
print(json.dumps(out, indent=1))

# Transformers peer for bench/llama-decode.ts: a Llama-3.1-8B-shaped model (random bf16 weights),
# batch 1, eager decode with a dynamic KV cache after a 1024-token prompt; median ms per token.
def llama_peer():
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192, rms_norm_eps=1e-5)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(dev):
        model = LlamaForCausalLM(cfg).eval()
    torch.set_default_dtype(torch.float32)
    ids = torch.randint(0, cfg.vocab_size, (1, 1024), device=dev)
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        tok = out.logits[:, -1:].argmax(-1)
        times = []
        for i in range(24):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            out = model(input_ids=tok, past_key_values=cache, use_cache=True)
            tok = out.logits[:, -1:].argmax(-1)
            e.record()
            e.synchronize()
            if i >= 4:
                times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]

import os
try:
    if os.environ.get('SKIP_TRANSFORMERS') == '1':
        raise RuntimeError('skipped (SKIP_TRANSFORMERS=1)')
    for k in list(globals().keys()):
        if isinstance(globals()[k], torch.Tensor):
            del globals()[k]
    torch.cuda.empty_cache()
    out['llama8b decode batch 1 ctx 1024 (transformers eager)'] = llama_peer()
except Exception as e:  # the kernel peers above stay valid
    print('transformers peer failed:', repr(e))
json.dump(out, open(sys.argv[1], 'w'), indent=1)
print('llama8b transformers ms/token:', out.get('llama8b decode batch 1 ctx 1024 (transformers eager)'))
