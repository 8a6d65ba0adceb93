"""Benchmark: tokens/s of greedy generation at batch 1 on the CPU, picaboo with and without its KV cache
against `transformers`' GPT2LMHeadModel.generate (with its cache), all on the same random weights.

    OMP_NUM_THREADS=1 python bench/sampling.py [--threads 1] [--tokens 500] [--gpt2-tokens 100] [--repeats 3]

Both models are built from one random GPT2Config (no download): the Hugging Face model is saved to a temporary
folder and loaded into picaboo with `PicabooLM.from_hf_gpt2`, so the three runs must produce the same tokens.

Speed is measured in CPU time of this process (time.process_time, one torch thread), best of --repeats runs taken
in turn: on a machine shared with other jobs, wall time mostly measures the others. Wall time is printed too.
"""
import argparse, cProfile, os, platform, pstats, tempfile, time, warnings

import torch

from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.sampling import generate

def build_pair(params:PicabooLMParams, seed=0):
    "A random GPT2LMHeadModel of `params`' shape and the same weights as a PicabooLM."
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=params.vocab_size, n_positions=params.context_length, n_embd=params.d_model,
                     n_layer=params.num_blocks, n_head=params.num_heads, bos_token_id=0, eos_token_id=0,
                     initializer_range=0.1)  # wider than GPT-2's 0.02: random models then say more than one token
    hf = GPT2LMHeadModel(cfg).eval()
    with tempfile.TemporaryDirectory() as d:
        hf.save_pretrained(d)
        ours = PicabooLM.from_hf_gpt2(d).eval()
    assert ((ours.params.num_blocks, ours.params.d_model, ours.params.context_length)
            == (params.num_blocks, params.d_model, params.context_length))
    return ours, hf

def clock():
    return time.perf_counter(), time.process_time()

def timed(fns:dict, repeats:dict):
    """Run each of `fns` (label -> callable) `repeats[label]` times, interleaved, after a warm-up call each;
    return label -> (best wall seconds, best CPU seconds of this process, last result)."""
    results = {label: [float("inf"), float("inf"),
                       fn() if repeats[label] > 1 else None]  # warm-up (not for one slow run)
               for label, fn in fns.items()}
    for rep in range(max(repeats.values())):
        for label, fn in fns.items():
            if rep >= repeats[label]:
                continue
            (w0, c0), out = clock(), fn()
            w1, c1 = clock()
            r = results[label]
            r[0], r[1], r[2] = min(r[0], w1 - w0), min(r[1], c1 - c0), out
    return results

def bench(name, params, new_tokens, repeats, prompt_len=12):
    ours, hf = build_pair(params)
    idx = torch.randint(0, params.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(1))
    runs = {
        "picaboo, KV cache": lambda: generate(ours, idx, new_tokens, temperature=0),
        "picaboo, no cache": lambda: generate(ours, idx, new_tokens, temperature=0, use_cache=False),
        "transformers generate, cache": lambda: hf.generate(idx, attention_mask=torch.ones_like(idx),
                                                           max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                                           do_sample=False, use_cache=True, pad_token_id=0),
    }
    with torch.inference_mode():
        results = timed(runs, {label: 1 if "no cache" in label else repeats for label in runs})
    same = all(torch.equal(results["picaboo, KV cache"][2], r[2]) for r in results.values())
    print(f"\n{name}: {params.num_blocks} layers, d_model {params.d_model}, {params.num_heads} heads, "
          f"vocab {params.vocab_size}, "
          f"context {params.context_length}; prompt {prompt_len} + {new_tokens} new tokens, greedy, batch 1")
    print(f"  {'':32s} {'tokens/CPU-s':>12s} {'ms/token CPU':>13s} {'ms/token wall':>14s}")
    for label, (wall, cpu, _) in results.items():
        print(f"  {label:32s} {new_tokens / cpu:12.1f} {1000 * cpu / new_tokens:13.2f} "
              f"{1000 * wall / new_tokens:14.2f}")
    a, b, c = (new_tokens / results[k][1] for k in runs)
    print(f"  load average now {os.getloadavg()[0]:.1f}")
    print(f"  (a)/(b) cache vs no cache: {a / b:5.2f}x    (a)/(c) picaboo vs transformers: {a / c:5.2f}x    "
          f"same tokens in all three: {same}")
    return a / b, a / c

@torch.inference_mode()
def where_the_time_goes(params, steps=200, prompt_len=12):
    "Split one cached decoding step of a random model into: model forward (torch ops vs Python) and the sampling loop."
    model = PicabooLM(params).eval()
    idx = torch.randint(0, params.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(1))
    def forwards():
        cache = model.new_kv_cache(1)
        model(idx, kv_cache=cache)
        x = idx[:, -1:]
        for _ in range(steps - 1):
            model(x, kv_cache=cache)
    r = timed({"step": lambda: generate(model, idx, steps, temperature=0), "forward": forwards},
              {"step": 5, "forward": 5})
    step, forward = r["step"][1] / steps * 1e6, r["forward"][1] / steps * 1e6  # CPU microseconds per token
    print(f"\nwhere the time goes, {params.num_blocks} layers x d_model {params.d_model}, greedy, one cached step, "
          "CPU time:")
    print(f"  whole step {step:6.0f} us = model forward {forward:6.0f} us + sampling and loop {step - forward:4.0f} us")
    prof = cProfile.Profile(time.process_time)  # CPU-time profile of the whole loop, grouped by where the code lives
    prof.enable()
    generate(model, idx, steps, temperature=0)
    prof.disable()
    groups, ops = {}, {}
    for (file, _, name), (_, calls, own, _, _) in pstats.Stats(prof).stats.items():
        if file == "~":
            group = "inside torch ops (C++)" if "torch" in name else "Python built-ins"
            if "torch" in name:
                ops[name] = (own, calls)
        elif "torch/nn/modules/module.py" in file:
            group = "nn.Module.__call__ machinery"
        elif "picaboo/sampling.py" in file:
            group = "sampling loop (picaboo.sampling)"
        elif "picaboo/" in file:
            group = "model code in Python (picaboo.model, .attention)"
        elif "torch/" in file:
            group = "torch's Python layers (nn.Linear.forward, F.*)"
        else:
            group = "other Python"
        groups[group] = groups.get(group, 0.0) + own
    total = sum(groups.values())
    print(f"  profiled with cProfile (its per-call cost inflates the Python rows: "
          f"{total / steps * 1e6:.0f} us per profiled step):")
    for group, own in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"    {group:50s} {100 * own / total:5.1f}%")
    print(f"  the costliest torch calls (us per step, calls per step):")
    for name, (own, calls) in sorted(ops.items(), key=lambda kv: -kv[1][0])[:6]:
        print(f"    {name[:60]:60s} {own / steps * 1e6:6.0f} us  x{calls // steps}")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: per-step overhead, not parallel math)")
    ap.add_argument("--tokens", type=int, default=500, help="new tokens for the tiny preset")
    ap.add_argument("--gpt2-tokens", type=int, default=100, help="new tokens for the GPT-2-small shape (0 skips it)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed repeats, best one reported (the uncached run is timed once)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import transformers
    transformers.utils.logging.disable_progress_bar()  # no "Writing model shards" bars in the table
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, Python {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    bench("tiny preset", PicabooLMParams.preset("tiny", context_length=512), args.tokens, args.repeats)
    where_the_time_goes(PicabooLMParams.preset("tiny", context_length=512))
    if args.gpt2_tokens:
        bench("GPT-2 small shape", PicabooLMParams.preset("gpt2", context_length=512), args.gpt2_tokens, args.repeats)
