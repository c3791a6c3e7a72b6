# Peer for bench/cpu-forward.ts: Hugging Face transformers on PyTorch CPU, one thread, float32,
# the same models and scenarios (one prefill step for all requests, then greedy decode steps
# with the KV cache). Reads the plan as JSON on stdin, writes seconds per phase (medians) on stdout.
import json, statistics, sys, time
import torch
from transformers import AutoConfig, AutoModelForCausalLM

torch.set_num_threads(1)
plan = json.load(sys.stdin)
out = {}
for m in plan['models']:
    if m['dir'] is not None:
        model = AutoModelForCausalLM.from_pretrained(m['dir'], dtype=torch.float32)
    else:
        cfg = AutoConfig.for_model(**{k: v for k, v in m['config'].items() if k not in ('architectures', 'torch_dtype')})
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.eval()
    vocab = model.config.vocab_size
    out[m['name']] = {}
    for s in plan['scenarios']:
        g = torch.Generator().manual_seed(0)
        def run():
            ids = torch.randint(0, vocab, (s['numReqs'], s['promptLen']), generator=g)
            with torch.inference_mode():
                t0 = time.perf_counter()
                o = model(input_ids=ids, use_cache=True, logits_to_keep=1)
                nxt = o.logits[:, -1].argmax(-1, keepdim=True)
                t1 = time.perf_counter()
                pkv = o.past_key_values
                for _ in range(s['decodeSteps']):
                    o = model(input_ids=nxt, past_key_values=pkv, use_cache=True, logits_to_keep=1)
                    pkv = o.past_key_values
                    nxt = o.logits[:, -1].argmax(-1, keepdim=True)
                t2 = time.perf_counter()
            return t1 - t0, t2 - t1
        run()  # warm-up
        times = [run() for _ in range(plan['reps'])]
        out[m['name']][s['name']] = {'prefill': statistics.median(t[0] for t in times), 'decode': statistics.median(t[1] for t in times)}
json.dump(out, sys.stdout)
