"""Training-step throughput: PicabooLM vs transformers' GPT2LMHeadModel at the same config, on this CPU.

One step = forward + loss + backward + AdamW step (fused), batch of random token ids, dropout 0, float32.
The two models are timed in interleaved rounds (A B, then B A, ...) so that load from other processes on the
machine hits both alike; the table reports the median tokens/s over rounds, and the median (and range) of the
per-round ratio picaboo / HF.

    python bench/model.py                 # default configs, CPU-time clock
    python bench/model.py --rounds 9 --steps 5 --threads 2 --clock wall
"""
import argparse
import os
import platform
import statistics
import time

import torch
import transformers
from transformers.utils import logging as hf_logging

from picaboo.model import PicabooLM, PicabooLMParams

CONFIGS = {  # name -> (PicabooLMParams overrides, batch size, sequence length)
    "tiny": (dict(context_length=128, vocab_size=2048, num_blocks=4, num_heads=4, d_model=128), 8, 128),
    "small": (dict(context_length=256, vocab_size=8192, num_blocks=6, num_heads=6, d_model=384), 4, 256),
}


def make_pair(overrides):
    "A PicabooLM and a GPT2LMHeadModel of the same shape, both without dropout, each with its AdamW."
    p = PicabooLMParams(**overrides, dropout_rate=0.0, bias=True, pos_encoding="learned", tie_weights=True)
    ours = PicabooLM(p).train()
    cfg = transformers.GPT2Config(n_positions=p.context_length, n_embd=p.d_model, n_layer=p.num_blocks,
                                  n_head=p.num_heads, vocab_size=p.vocab_size, resid_pdrop=0.0, embd_pdrop=0.0,
                                  attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    cfg._attn_implementation = "sdpa"
    hf = transformers.GPT2LMHeadModel(cfg).train()
    assert sum(w.numel() for w in ours.parameters()) == sum(w.numel() for w in hf.parameters())
    opt = lambda m: torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.1, fused=True)
    return (ours, opt(ours)), (hf, opt(hf))


def step_ours(model, opt, x, y):
    _, loss = model(x, y)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def step_hf(model, opt, x, y):
    loss = model(input_ids=x, labels=x).loss  # transformers shifts the labels itself
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def tokens_per_s(step, model, opt, x, y, steps, clock):
    t0 = clock()
    for _ in range(steps):
        step(model, opt, x, y)
    return steps * x.numel() / (clock() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds per model")
    ap.add_argument("--steps", type=int, default=3, help="training steps per round")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu: this process's CPU time (robust when other programs share the machine); "
                         "wall: elapsed time")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cpus, "
          f"threads={args.threads}, {args.clock} clock, {args.rounds} interleaved rounds x {args.steps} steps, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    print(f"{'config':8} {'batch x seq':>12} {'params':>8} {'picaboo tok/s':>14} {'HF GPT-2 tok/s':>15} "
          f"{'ratio':>6} {'ratio range':>12}")
    for name in args.configs:
        overrides, B, T = CONFIGS[name]
        (ours, o1), (hf, o2) = make_pair(overrides)
        x = torch.randint(0, overrides["vocab_size"], (B, T))
        y = torch.roll(x, -1, 1)
        for _ in range(2):  # warm up
            step_ours(ours, o1, x, y)
            step_hf(hf, o2, x, y)
        a, b = [], []
        for r in range(args.rounds):
            first, second = ((step_ours, ours, o1, a), (step_hf, hf, o2, b))[:: 1 if r % 2 == 0 else -1]
            for step, m, o, acc in (first, second):
                acc.append(tokens_per_s(step, m, o, x, y, args.steps, clock))
        ratios = [x / y for x, y in zip(a, b)]  # each round's pair ran back to back, under the same load
        print(f"{name:8} {f'{B} x {T}':>12} {sum(w.numel() for w in ours.parameters()) / 1e6:7.2f}M "
              f"{statistics.median(a):14.0f} {statistics.median(b):15.0f} {statistics.median(ratios):6.2f} "
              f"{f'{min(ratios):.2f}-{max(ratios):.2f}':>12}")


if __name__ == "__main__":
    main()
