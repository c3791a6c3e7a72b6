#!/usr/bin/env python3
"""PyTorch/transformers peer of the Llama-3.1-8B GPU benchmarks (issue 8).

Builds the model of models/llama-3.1-8b/config.json in transformers (LlamaForCausalLM, random bf16
weights, SDPA attention, eager, no torch.compile) on one GPU and measures the workloads that
`vllm-ts-bench latency` / `throughput` run on our engine:

  latency       batch 1: prefill of a --latency-prompt-len prompt (forward + LM head on the last
                row + argmax), then the median wall time of --latency-decode-steps greedy decode
                steps through a manual loop over `past_key_values`.
  throughput    vLLM benchmark_throughput's "N prompts x 1024 random tokens in, 128 out, EOS
                ignored": a subset of --tp-num-prompts prompts in static batches of --tp-batch-size
                through `model.generate` (greedy, min_new_tokens = max_new_tokens).
  decode-heavy  128 prompts x 32 in / 2048 out, run with the output cut to --dh-output-len.

Every figure is wall time around synchronized GPU work, so the host (Python) overhead a user pays
is counted. Each section is written to the JSON file as soon as it finishes; an out-of-memory or
other failure is recorded in its section and the next section still runs.

Usage (on the GPU machine, from the repository root):
  python3 apps/bench/gpu/transformers-peer.py results.json [--sections latency,throughput,decode-heavy]
"""
import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL_DIR = os.path.join(HERE, 'models', 'llama-3.1-8b')
SECTIONS = ('latency', 'throughput', 'decode-heavy')
# Token ids of random prompts are drawn from [FIRST_TOKEN_ID, min(vocab, 128000)): no special tokens.
FIRST_TOKEN_ID = 16
OOM_ERRORS = tuple({getattr(torch, 'OutOfMemoryError', torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('output_json', help='where the results go')
    p.add_argument('--model-dir', default=DEFAULT_MODEL_DIR, help='folder with config.json (weights are random)')
    p.add_argument('--device', default='cuda', help='torch device (cpu only for smoke tests)')
    p.add_argument('--dtype', default='bfloat16', choices=['bfloat16', 'float16', 'float32'], help='weight and activation dtype')
    p.add_argument('--attn', default='sdpa', help='transformers attn_implementation')
    p.add_argument('--cache', default='dynamic', choices=['dynamic', 'static'],
                   help='KV cache: DynamicCache (transformers default) or StaticCache (eager, compile disabled)')
    p.add_argument('--sections', default=','.join(SECTIONS), help='comma-separated subset of ' + ','.join(SECTIONS))
    p.add_argument('--seed', type=int, default=0, help='seed of the weights and the prompts')
    p.add_argument('--override', default='', help='key=value,... applied over config.json (smoke tests on a small shape)')
    p.add_argument('--latency-prompt-len', type=int, default=1024, help='prompt tokens before the timed decode steps')
    p.add_argument('--latency-decode-steps', type=int, default=32, help='timed decode steps')
    p.add_argument('--latency-warmup-steps', type=int, default=4, help='untimed decode steps before them')
    p.add_argument('--prefill-reps', type=int, default=3, help='timed prefills (after one untimed)')
    p.add_argument('--latency-output-len', type=int, default=128,
                   help='output length of the request whose latency is estimated from the prefill and decode medians')
    p.add_argument('--tp-num-prompts', type=int, default=64, help='prompts actually run (subset of the workload)')
    p.add_argument('--tp-workload-prompts', type=int, default=1000, help="the workload's size (recorded, for the estimate)")
    p.add_argument('--tp-batch-size', type=int, default=32, help='prompts per model.generate call')
    p.add_argument('--tp-input-len', type=int, default=1024, help='prompt tokens')
    p.add_argument('--tp-output-len', type=int, default=128, help='tokens generated per prompt')
    p.add_argument('--dh-num-prompts', type=int, default=128, help='prompts run')
    p.add_argument('--dh-batch-size', type=int, default=128, help='prompts per model.generate call')
    p.add_argument('--dh-input-len', type=int, default=32, help='prompt tokens')
    p.add_argument('--dh-output-len', type=int, default=256, help='tokens generated per prompt in this run')
    p.add_argument('--dh-workload-output-len', type=int, default=2048, help="the workload's output length (recorded)")
    args = p.parse_args(argv)
    args.sections = [s for s in args.sections.split(',') if s]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        p.error(f'--sections: unknown {unknown}; expected a subset of {list(SECTIONS)}')
    for name in ('latency_prompt_len', 'latency_decode_steps', 'latency_output_len', 'prefill_reps', 'tp_num_prompts', 'tp_batch_size',
                 'tp_input_len', 'tp_output_len', 'dh_num_prompts', 'dh_batch_size', 'dh_input_len', 'dh_output_len'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1 (got {getattr(args, name)})')
    return args


def parse_overrides(text):
    """'a=1,b=x' -> {'a': 1, 'b': 'x'} with JSON-typed values where they parse."""
    out = {}
    for item in filter(None, text.split(',')):
        key, sep, value = item.partition('=')
        if not sep:
            raise SystemExit(f'--override: expected key=value, got {item!r}')
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def free_memory(device):
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device):
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == 'cuda' else None


def summarize_ms(samples):
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]
    return {'median': statistics.median(s), 'mean': statistics.fmean(s), 'min': s[0], 'p10': pick(0.1), 'p90': pick(0.9),
            'max': s[-1], 'n': len(s)}


def build_model(cfg, args, device):
    """LlamaForCausalLM of `cfg` on `device`, weights N(0, initializer_range), norm weights 1."""
    from transformers import AutoModelForCausalLM
    try:  # skips the per-module init (kaiming/normal) that would run before our own fill
        from transformers.initialization import no_init_weights
    except ImportError:
        no_init_weights = contextlib.nullcontext
    dtype = getattr(torch, args.dtype)
    with torch.device(device), no_init_weights():
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype, attn_implementation=args.attn)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    std = getattr(cfg, 'initializer_range', 0.02) or 0.02
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1:  # RMSNorm scales (Llama has no biases)
                param.fill_(1.0)
            else:
                param.normal_(0.0, std, generator=gen)
    model.eval()
    params = list(model.parameters())
    assert all(p.device.type == device.type and p.dtype == dtype for p in params), 'a parameter is off the device or dtype'
    return model, sum(p.numel() for p in params), sum(p.numel() * p.element_size() for p in params)


def random_prompts(n, length, vocab, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(FIRST_TOKEN_ID, min(vocab, 128000), (n, length), generator=gen)


def new_cache(model, args, max_len):
    if args.cache == 'dynamic':
        from transformers import DynamicCache
        return DynamicCache(config=model.config)
    from transformers import StaticCache
    return StaticCache(config=model.config, max_cache_len=max_len)


def run_latency(model, cfg, args, device):
    length, steps, warm = args.latency_prompt_len, args.latency_decode_steps, args.latency_warmup_steps
    ids = random_prompts(1, length, cfg.vocab_size, args.seed + 1).to(device)
    prefill_ms, step_ms = [], []
    with torch.inference_mode():
        for rep in range(args.prefill_reps + 1):  # rep 0 is the warm-up
            out = cache = None  # the previous prefill's cache is freed before the next one is allocated
            free_memory(device)
            cache = new_cache(model, args, length + warm + steps + 1)
            sync(device)
            t0 = time.perf_counter()
            out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            tok = out.logits[:, -1].argmax(-1, keepdim=True)
            sync(device)
            if rep > 0:
                prefill_ms.append((time.perf_counter() - t0) * 1e3)
        finite = bool(torch.isfinite(out.logits).all())
        for i in range(warm + steps):
            t0 = time.perf_counter()
            out = model(input_ids=tok, past_key_values=cache, use_cache=True)
            tok = out.logits[:, -1].argmax(-1, keepdim=True)
            sync(device)
            if i >= warm:
                step_ms.append((time.perf_counter() - t0) * 1e3)
        context_end = int(cache.get_seq_length())
    assert context_end == length + warm + steps, f'cache holds {context_end} tokens, expected {length + warm + steps}'
    decode = summarize_ms(step_ms)
    return {
        'prompt_len': length,
        'batch_size': 1,
        'prefill_ms': summarize_ms(prefill_ms),
        'prefill_tokens_per_s': length / (statistics.median(prefill_ms) / 1e3),
        'decode_ms_per_token': decode,
        'decode_tokens_per_s': 1e3 / decode['median'],
        'decode_context': [length + warm, length + warm + steps],
        # What `vllm-ts-bench latency --batch-size 1 --input-len L --output-len N` measures end to end:
        # one prefill that yields the first token, then N - 1 decode steps.
        'estimated_request_latency_s': {'output_len': args.latency_output_len,
                                        'seconds': (statistics.median(prefill_ms) + (args.latency_output_len - 1) * decode['median']) / 1e3},
        'logits_finite': finite,
        'peak_gib': peak_gib(device),
        'method': ('manual loop: model(input_ids=last token, past_key_values=cache) + argmax, one synchronize per step; '
                   'prefill computes the LM head on the last row only (logits_to_keep=1)'),
    }


def generate_batches(model, cfg, args, device, prompts, batch_size, output_len, pad_id):
    """Static batches through model.generate; returns wall time, per-batch times and token counts."""
    kwargs = dict(max_new_tokens=output_len, min_new_tokens=output_len, do_sample=False, pad_token_id=pad_id)
    if args.cache == 'static':
        kwargs.update(cache_implementation='static', disable_compile=True)
    in_len = prompts.shape[1]
    with torch.inference_mode():
        warm = prompts[:batch_size].to(device)  # same batch shape, 2 tokens: kernels and allocator warmed
        model.generate(input_ids=warm, attention_mask=torch.ones_like(warm), **{**kwargs, 'max_new_tokens': 2, 'min_new_tokens': 2})
        del warm
        free_memory(device)
        batch_s, out_tokens = [], 0
        sync(device)
        start = time.perf_counter()
        for first in range(0, prompts.shape[0], batch_size):
            batch = prompts[first:first + batch_size].to(device)
            t0 = time.perf_counter()
            out = model.generate(input_ids=batch, attention_mask=torch.ones_like(batch), **kwargs)
            sync(device)
            batch_s.append(time.perf_counter() - t0)
            generated = out.shape[1] - in_len
            assert generated == output_len, f'generate produced {generated} tokens per prompt, expected {output_len}'
            out_tokens += out.shape[0] * generated
            del out, batch
        elapsed = time.perf_counter() - start
    n = prompts.shape[0]
    return {
        'elapsed_s': elapsed,
        'batch_s': batch_s,
        'input_tokens': n * in_len,
        'output_tokens': out_tokens,
        'requests_per_s': n / elapsed,
        'output_tokens_per_s': out_tokens / elapsed,
        'total_tokens_per_s': (n * in_len + out_tokens) / elapsed,
        'mean_ms_per_step': statistics.fmean(batch_s) / output_len * 1e3,
    }


def run_throughput(model, cfg, args, device, pad_id):
    prompts = random_prompts(args.tp_num_prompts, args.tp_input_len, cfg.vocab_size, args.seed + 2)
    r = generate_batches(model, cfg, args, device, prompts, args.tp_batch_size, args.tp_output_len, pad_id)
    return {
        'workload': f'{args.tp_workload_prompts} prompts x {args.tp_input_len} random tokens in, {args.tp_output_len} out, EOS ignored',
        'num_prompts_run': args.tp_num_prompts,
        'subset': args.tp_num_prompts < args.tp_workload_prompts,
        'batch_size': args.tp_batch_size,
        'input_len': args.tp_input_len,
        'output_len': args.tp_output_len,
        **r,
        'estimated_workload_s': r['elapsed_s'] * args.tp_workload_prompts / args.tp_num_prompts,
        'method': 'static batches through model.generate (greedy, min_new_tokens = max_new_tokens, no padding: equal prompt lengths)',
        'peak_gib': peak_gib(device),
    }


def run_decode_heavy(model, cfg, args, device, pad_id):
    prompts = random_prompts(args.dh_num_prompts, args.dh_input_len, cfg.vocab_size, args.seed + 3)
    r = generate_batches(model, cfg, args, device, prompts, args.dh_batch_size, args.dh_output_len, pad_id)
    truncated = args.dh_output_len < args.dh_workload_output_len
    return {
        'workload': f'{args.dh_num_prompts} prompts x {args.dh_input_len} in / {args.dh_workload_output_len} out, EOS ignored',
        'truncated': truncated,
        'output_len_run': args.dh_output_len,
        'output_len_workload': args.dh_workload_output_len,
        'note': ('output cut to output_len_run tokens per prompt to fit the GPU-time budget; decode steps get slower as the '
                 'context grows, so the full workload would give fewer output tokens/s than this' if truncated else 'full workload'),
        'num_prompts_run': args.dh_num_prompts,
        'batch_size': args.dh_batch_size,
        'input_len': args.dh_input_len,
        **r,
        'method': 'static batches through model.generate (greedy, min_new_tokens = max_new_tokens)',
        'peak_gib': peak_gib(device),
    }


def environment(device):
    import transformers
    env = {
        'date_utc': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'torch_cuda': torch.version.cuda,
        'transformers': transformers.__version__,
        'device': str(device),
    }
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), sm_count=props.multi_processor_count,
                   flash_sdp_enabled=torch.backends.cuda.flash_sdp_enabled())
    else:
        env.update(gpu=None)
    return env


def write(path, results):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, path)


def print_table(results):
    rows = [('section', 'figure', 'value')]
    for name, sec in results['sections'].items():
        if sec.get('status') != 'ok':
            rows.append((name, sec.get('status', '?'), sec.get('error', '')[:60]))
            continue
        if name == 'latency':
            rows.append((name, f'prefill {sec["prompt_len"]} tokens, median ms', f'{sec["prefill_ms"]["median"]:.1f}'))
            rows.append((name, 'decode batch 1, median ms/token', f'{sec["decode_ms_per_token"]["median"]:.2f}'))
            est = sec['estimated_request_latency_s']
            rows.append((name, f'request {sec["prompt_len"]} in / {est["output_len"]} out, s (estimate)', f'{est["seconds"]:.2f}'))
        else:
            label = f'{sec["num_prompts_run"]} prompts, batch {sec["batch_size"]}, {sec["input_len"]} in / {sec.get("output_len", sec.get("output_len_run"))} out'
            if sec.get('truncated'):
                label += ' (truncated)'
            rows.append((name, label, ''))
            rows.append((name, 'output tokens/s', f'{sec["output_tokens_per_s"]:.0f}'))
            rows.append((name, 'total tokens/s', f'{sec["total_tokens_per_s"]:.0f}'))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    env = results['environment']
    print(f'\ntransformers {env["transformers"]} / torch {env["torch"]} on {env.get("gpu") or env["device"]}, '
          f'{results["model"]["params_billion"]:.2f}B params {results["model"]["dtype"]}, {results["model"]["attn_implementation"]}, '
          f'KV {results["model"]["cache"]}')
    for i, r in enumerate(rows):
        print(' | '.join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print('-|-'.join('-' * w for w in widths))


def main(argv):
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('CUDA is not available to torch; pass --device cpu for a smoke test')
    torch.manual_seed(args.seed)
    from transformers import AutoConfig
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    cfg = AutoConfig.from_pretrained(args.model_dir)
    overrides = parse_overrides(args.override)
    for key, value in overrides.items():
        setattr(cfg, key, value)
    eos = cfg.eos_token_id
    pad_id = eos[0] if isinstance(eos, list) else eos

    results = {'environment': environment(device), 'args': vars(args), 'sections': {}}
    t0 = time.perf_counter()
    model, n_params, n_bytes = build_model(cfg, args, device)
    sync(device)
    results['model'] = {
        'model_dir': os.path.relpath(args.model_dir),
        'config_overrides': overrides,
        'architecture': type(model).__name__,
        'hidden_size': cfg.hidden_size, 'intermediate_size': cfg.intermediate_size, 'num_hidden_layers': cfg.num_hidden_layers,
        'num_attention_heads': cfg.num_attention_heads, 'num_key_value_heads': cfg.num_key_value_heads,
        'head_dim': getattr(cfg, 'head_dim', None), 'vocab_size': cfg.vocab_size,
        'rope_parameters': getattr(cfg, 'rope_parameters', None), 'rms_norm_eps': cfg.rms_norm_eps,
        'tie_word_embeddings': cfg.tie_word_embeddings,
        'params_billion': n_params / 1e9, 'weight_gb': n_bytes / 1e9, 'dtype': args.dtype,
        'attn_implementation': model.config._attn_implementation,
        'cache': 'DynamicCache' if args.cache == 'dynamic' else 'StaticCache (torch.compile disabled)',
        'weights': 'random N(0, initializer_range), RMSNorm scales 1',
        'build_s': time.perf_counter() - t0,
    }
    print(f'model built in {results["model"]["build_s"]:.1f} s: {n_params / 1e9:.2f}B params, {n_bytes / 1e9:.2f} GB', flush=True)
    write(args.output_json, results)

    runners = {'latency': lambda: run_latency(model, cfg, args, device),
               'throughput': lambda: run_throughput(model, cfg, args, device, pad_id),
               'decode-heavy': lambda: run_decode_heavy(model, cfg, args, device, pad_id)}
    for name in args.sections:
        free_memory(device)
        start = time.perf_counter()
        print(f'{name} ...', flush=True)
        try:
            section = {'status': 'ok', **runners[name]()}
        except OOM_ERRORS as e:
            section = {'status': 'oom', 'error': str(e)[:2000]}
        except Exception as e:  # recorded; the remaining sections still run
            section = {'status': 'error', 'error': repr(e)[:2000], 'traceback': traceback.format_exc()[-4000:]}
        section['section_s'] = time.perf_counter() - start
        results['sections'][name] = section
        print(f'{name}: {section["status"]} in {section["section_s"]:.1f} s', flush=True)
        write(args.output_json, results)
    results['total_s'] = time.perf_counter() - t0
    write(args.output_json, results)
    print_table(results)
    # An out-of-memory section is a recorded result; only an unexpected error fails the run.
    return 1 if any(s['status'] == 'error' for s in results['sections'].values()) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
