"""Which of today's architecture switches help a tiny model? Each switch alone, and the Llama and Qwen3 designs,
trained on the embedded corpus for the same CPU-time budget as the GPT-2 design, side by side.

Every run: the `tiny` preset plus the switches, AdamW (lr 2e-3, 20 warm-up steps, cosine to 10% over the steps
the budget allows, measured on the first steps), batches of 16 x 128 tokens, one torch thread, float32, no dropout.
Budget and step times are this process's CPU time (robust when other programs share the machine). Reported:
validation bits per byte (mean over seeds, and each seed), parameters, and two speed ratios against GPT-2,
measured after the training runs on fresh models: a training step (forward + backward + AdamW) in 30 rounds, then
a cached greedy generation of 64 tokens after a 64-token prompt in 60 rounds. In every round each variant is timed
right next to GPT-2 (GPT-2 first in even rounds, second in odd ones; the variants in a rotated order), which gives
one ratio of the two times; the median of a variant's ratios is reported. The machine's speed drifts (a shared CPU),
so times taken far apart do not compare; two taken back to back do.

A second table asks whether the generation gap is arithmetic or fixed cost per operation: cached generation at
larger widths (same 4 blocks, vocabulary and 32-wide heads; 16 tokens after a 64-token prompt), no training.

    python bench/architectures.py                          # what bench/results/architectures.txt holds
    python bench/architectures.py --budget 20 --seeds 0 --widths    # a quick look, without the width table
"""
import argparse
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

from picaboo.batches import split_corpus
from picaboo.data import default_documents, shipped_dir
from picaboo.model import SWITCHES, PicabooLM, PicabooLMParams
from picaboo.sampling import generate
from picaboo.tokenizer import load_tokenizer

VARIANTS = {  # name -> switches on top of the tiny preset (GPT-2's design)
    "gpt2": {},
    "rmsnorm": dict(norm="rmsnorm"),
    "swiglu": dict(mlp="swiglu"),
    "rope": dict(pos_encoding="rope"),
    "gqa (2 kv heads)": dict(num_kv_heads=2),
    "qk_norm": dict(qk_norm=True),
    "untied head": dict(tie_weights=False),
    "no bias": dict(bias=False),
    "llama": dict(SWITCHES["llama"], num_kv_heads=2),
    "qwen3": dict(SWITCHES["qwen3"], num_kv_heads=2),
}
BATCH, LR, WARMUP = 16, 2e-3, 20
STEP_ROUNDS, GENERATION_ROUNDS, WIDTH_ROUNDS = 30, 60, 30


def encode_corpus():
    "Train and validation token ids (uint16 arrays) and the validation text's UTF-8 size."
    tok = load_tokenizer(shipped_dir())
    train_docs, val_docs, _ = split_corpus(default_documents(), val_fraction=0.1, seed=0)
    fast = tok.to_tiktoken() if _has_tiktoken() else tok
    eot = [tok.eot_id]
    train = [i for d in train_docs for i in fast.encode_ordinary(d.text) + eot]
    val = [i for d in val_docs for i in fast.encode_ordinary(d.text) + eot]
    return np.array(train, dtype=np.uint16), np.array(val, dtype=np.uint16), tok


def _has_tiktoken():
    try:
        import tiktoken  # noqa: F401
    except ImportError:
        return False
    return True


def batch(data, rng, size, T):
    starts = rng.integers(0, len(data) - T - 1, size)
    rows = torch.from_numpy(np.stack([data[s:s + T + 1] for s in starts]).astype(np.int64))  # (B, T + 1)
    return rows[:, :-1], rows[:, 1:]


def train_step(model, opt, x, y):
    _, loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


@torch.no_grad()
def bits_per_byte(model, val, tok, T, windows=48):
    "Bits per byte on the first `windows` non-overlapping validation windows."
    model.eval()
    nats, n_bytes = 0.0, 0
    for w in range(windows):
        rows = torch.from_numpy(val[w * T:(w + 1) * T + 1].astype(np.int64))[None]  # (1, T + 1)
        _, loss = model(rows[:, :-1], rows[:, 1:])
        nats += loss.item() * T
        n_bytes += len(tok.decode_bytes(rows[0, 1:].tolist()))
    model.train()
    return nats / n_bytes / math.log(2)


def train_for(switches, seed, budget, train, val, tok):
    "Train the tiny preset + `switches` for `budget` CPU-seconds; (bits per byte, median step time, steps, model)."
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    p = PicabooLMParams.preset("tiny", device="cpu", **switches)
    model = PicabooLM(p).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.1, betas=(0.9, 0.95))
    step_times, start, total_steps = [], time.process_time(), None
    step = 0
    while time.process_time() - start < budget:
        if step == WARMUP + 5:  # the budget's step count, from the steps so far
            total_steps = int(budget / statistics.median(step_times[2:]))
        lr = LR * min(1.0, (step + 1) / WARMUP)
        if total_steps:
            progress = min(1.0, step / max(total_steps, 1))
            lr = LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for group in opt.param_groups:
            group["lr"] = lr
        t0 = time.process_time()
        train_step(model, opt, *batch(train, rng, BATCH, p.context_length))
        step_times.append(time.process_time() - t0)
        step += 1
    return bits_per_byte(model, val, tok, p.context_length), statistics.median(step_times[2:]), step, model


def paired_ratios(variants, measure, rounds):
    "Per variant, the median over rounds of measure(variant) / measure(first), the two timed back to back."
    first = variants[0]
    ratios, first_times = {name: [] for name in variants[1:]}, []
    for r in range(rounds):
        for name in rotated(variants[1:], r):
            pair = (first, name) if r % 2 == 0 else (name, first)  # who goes first alternates between rounds
            times = {n: measure(n) for n in pair}
            ratios[name].append(times[name] / times[first])
            first_times.append(times[first])
    return {first: 1.0, **{name: statistics.median(rs) for name, rs in ratios.items()}}, first_times


def rotated(names, r):
    "`names` from the `r`-th on, then the others: each round starts with another variant."
    k = r % len(names)
    return names[k:] + names[:k]


def speed_ratios(variants):
    "Median paired ratios of a training step's and a cached generation's CPU time, per variant, against the first."
    torch.manual_seed(0)
    models = {name: PicabooLM(PicabooLMParams.preset("tiny", device="cpu", **VARIANTS[name])) for name in variants}
    opts = {name: torch.optim.AdamW(m.parameters(), lr=LR) for name, m in models.items()}
    x = torch.randint(0, 2048, (BATCH, 129))
    prompt = torch.randint(0, 2048, (1, 64))

    def step_time(name):
        model = models[name].train()
        t0 = time.process_time()
        train_step(model, opts[name], x[:, :-1], x[:, 1:])
        return time.process_time() - t0

    step, _ = paired_ratios(variants, step_time, STEP_ROUNDS)  # training steps alone, then generations alone
    gen, _ = paired_ratios(variants, lambda name: generation_time(models[name], prompt, 64), GENERATION_ROUNDS)
    return {name: (step[name], gen[name]) for name in models}


def generation_time(model, prompt, new_tokens):
    "CPU seconds of a cached greedy generation of `new_tokens` after `prompt`."
    with torch.no_grad():
        model.eval()
        t0 = time.process_time()
        generate(model, prompt, new_tokens, temperature=0)
        return time.process_time() - t0


def wide_params(name, width):
    "The tiny preset with `name`'s switches, `width` wide with 32-wide heads."
    return PicabooLMParams.preset("tiny", d_model=width, num_heads=width // 32, device="cpu", **VARIANTS[name])


def width_ratios(variants, widths, new_tokens=16):
    "Per width: (parameters of gpt2, its CPU ms per generation, {variant: median paired generation ratio})."
    prompt = torch.randint(0, 2048, (1, 64))
    rows = {}
    for width in widths:
        torch.manual_seed(0)
        models = {name: PicabooLM(wide_params(name, width)) for name in variants}
        ratios, first_times = paired_ratios(variants, lambda name: generation_time(models[name], prompt, new_tokens),
                                            WIDTH_ROUNDS)
        first = models[variants[0]]
        rows[width] = (first.num_params(non_embedding=False), statistics.median(first_times) * 1e3, ratios)
        print(f"measured width {width}", file=sys.stderr, flush=True)
    return rows


def print_widths(rows, variants):
    print()
    print("cached generation time relative to gpt2 by model width (4 blocks, 32-wide heads, vocabulary 2048; "
          f"16 tokens after a 64-token prompt; median paired ratio of {WIDTH_ROUNDS} rounds; gpt2 ms: CPU time of one "
          "generation)")
    labels = {name: name.split(" (")[0].replace(" ", "-") for name in variants[1:]}  # "no bias" -> "no-bias"
    print(f"{'width':>5} {'params':>7} {'gpt2 ms':>8} " + " ".join(f"{label:>8}" for label in labels.values()))
    for width, (params, ms, ratios) in rows.items():
        cells = [f"{ratios[name]:.2f}x".rjust(max(8, len(label))) for name, label in labels.items()]
        print(f"{width:5} {params / 1e6:6.1f}M {ms:8.2f} " + " ".join(cells), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=35.0, help="CPU-seconds of training per run")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--widths", type=int, nargs="*", default=[128, 256, 512, 768],
                    help="model widths (multiples of 32) for the generation table; none: skip it")
    args = ap.parse_args(argv)
    if args.variants[0] != "gpt2":
        ap.error("the first variant is what the others are compared with: it must be gpt2")
    if any(w <= 0 or w % 32 for w in args.widths):
        ap.error(f"--widths must be positive multiples of 32 (the head width), got {args.widths}")
    for width in args.widths:  # a shape some variant cannot take fails now, not after the training runs
        for name in args.variants:
            try:
                wide_params(name, width)
            except ValueError as e:
                ap.error(f"--widths {width} does not suit {name}: {e}")
    torch.set_num_threads(1)
    train, val, tok = encode_corpus()
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cpus, 1 thread, CPU-time clock, "
          f"budget {args.budget:.0f} CPU-s per run, seeds {args.seeds}, batch {BATCH} x 128, "
          f"{len(train):,} train / {len(val):,} validation tokens, load average at start {os.getloadavg()[0]:.1f}")
    print(f"{'variant':18} {'params':>8} {'val bpb':>8} {'per seed':>14} {'steps':>6} "
          f"{'step time':>10} {'generation':>11}")
    trained = {}
    for name in args.variants:
        trained[name] = [train_for(VARIANTS[name], seed, args.budget, train, val, tok) for seed in args.seeds]
        print(f"trained {name}", file=sys.stderr, flush=True)
    ratios = speed_ratios(args.variants)
    for name, runs in trained.items():
        bpb = statistics.mean(r[0] for r in runs)
        per_seed = " ".join(f"{r[0]:.3f}" for r in runs)
        params = runs[0][3].num_params(non_embedding=False)
        steps = statistics.mean(r[2] for r in runs)
        step_ratio, gen_ratio = ratios[name]
        print(f"{name:18} {params / 1e6:7.2f}M {bpb:8.3f} {per_seed:>14} {steps:6.0f} "
              f"{step_ratio:9.2f}x {gen_ratio:10.2f}x", flush=True)
    if args.widths:
        print_widths(width_ratios(args.variants, args.widths), args.variants)


if __name__ == "__main__":
    main()
