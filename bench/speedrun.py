"""CPU speedrun: the recipes of picaboo.speedrun side by side in one run, several seeds each, for the same CPU budget
(default 5 CPU-minutes); each row's score against the first row's.

Every run is `picaboo.speedrun.speedrun`: chapter 8's Trainer, one torch thread, float32, a step count fitted to
the budget from the CPU time of warm steps measured at the start. On the embedded corpus (the default): the split
`picaboo train` uses, the shipped 2,048-token tokenizer, scored in bits per byte on every window of the held-out
documents. With `--corpus shakespeare` (tiny Shakespeare, from picaboo's download cache: `picaboo data download
shakespeare` once) or a text file: by character, the first 90% to train, scored in bits per character on every
window of the last 10%. Runs go `--jobs` at a time, one process and one thread each (at most one per core, or
they slow each other down).

    python bench/speedrun.py --jobs 2 --seeds 0 1          # what bench/results/speedrun.txt holds
    python bench/speedrun.py --corpus shakespeare --budget 220 --jobs 2 --seeds 0 1    # speedrun_shakespeare.txt
    python bench/speedrun.py --budget 30 --seeds 0 --recipes tiny record    # a quick look
"""
import argparse
import os
import platform
import statistics
from concurrent.futures import ProcessPoolExecutor

import torch

from picaboo.speedrun import DEFAULT_BUDGET, RECIPES, TARGET_BITS_PER_BYTE, speedrun


def one_run(recipe:str, seed:int, budget:float, corpus:str) -> dict:
    "One speedrun in a fresh process with one torch thread."
    torch.set_num_threads(1)
    return speedrun(recipe, budget, seed, progress=False, corpus=corpus)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="CPU-seconds of training per run")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--jobs", type=int, default=1, help="runs at once, one process and one thread each")
    ap.add_argument("--corpus", default="embedded", help="embedded, shakespeare or a text file's path")
    args = ap.parse_args(argv)
    by_char = args.corpus != "embedded"
    unit = "bits per character" if by_char else "bits per byte"
    target = "" if by_char else f"target {TARGET_BITS_PER_BYTE:g} bits per byte, "
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cpus, {args.jobs} run(s) at once, "
          f"1 thread each, corpus {args.corpus}, budget {args.budget:.0f} CPU-s per run, seeds {args.seeds}, "
          f"{target}load average at start {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'recipe':12} {'val bpc' if by_char else 'val bpb':>8} {'per seed':>22} {'steps':>6} {'CPU-s':>6}  "
          "what changed")
    key = "bits_per_char" if by_char else "bits_per_byte"
    results = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        pending = {recipe: [pool.submit(one_run, recipe, seed, args.budget, args.corpus) for seed in args.seeds]
                   for recipe in args.recipes}
        for recipe, futures in pending.items():
            runs = [f.result() for f in futures]
            results[recipe] = statistics.mean(r[key] for r in runs)
            per_seed = " ".join(f"{r[key]:.3f}" for r in runs)
            print(f"{recipe:12} {results[recipe]:8.3f} {per_seed:>22} {statistics.mean(r['steps'] for r in runs):6.0f} "
                  f"{statistics.mean(r['cpu_seconds'] for r in runs):6.0f}  {RECIPES[recipe]['changed']}", flush=True)
    first = args.recipes[0]
    for recipe in args.recipes[1:]:
        ratio = results[recipe] / results[first]
        print(f"{recipe} / {first}: {ratio:.3f} of the {unit} ({abs(1 - ratio):.1%} "
              f"{'fewer' if ratio < 1 else 'more'})")


if __name__ == "__main__":
    main()
