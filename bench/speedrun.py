"""CPU speedrun on the embedded corpus: the recipes of picaboo.speedrun side by side in one run, several seeds each,
for the same CPU budget (default 5 CPU-minutes); each row's bits per byte against the first row's.

Every run is `picaboo.speedrun.speedrun`: chapter 8's Trainer on the split `picaboo train` uses, the shipped
2,048-token tokenizer, one torch thread, float32, a step count fitted to the budget from the CPU time of warm
steps measured at the start, scored in bits per byte on every window of the held-out documents. Runs go `--jobs`
at a time, one process and one thread each (at most one per core, or they slow each other down).

    python bench/speedrun.py --jobs 2 --seeds 0 1          # what bench/results/speedrun.txt holds
    python bench/speedrun.py --budget 30 --seeds 0 --recipes tiny record    # a quick look
"""
import argparse
import os
import platform
import statistics
from concurrent.futures import ProcessPoolExecutor

import torch

from picaboo.speedrun import DEFAULT_BUDGET, RECIPES, TARGET_BITS_PER_BYTE, speedrun


def one_run(recipe:str, seed:int, budget:float) -> dict:
    "One speedrun in a fresh process with one torch thread."
    torch.set_num_threads(1)
    return speedrun(recipe, budget, seed, progress=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="CPU-seconds of training per run")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--jobs", type=int, default=1, help="runs at once, one process and one thread each")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cpus, {args.jobs} run(s) at once, "
          f"1 thread each, budget {args.budget:.0f} CPU-s per run, seeds {args.seeds}, target "
          f"{TARGET_BITS_PER_BYTE:g} bits per byte, load average at start {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'recipe':12} {'val bpb':>8} {'per seed':>22} {'steps':>6} {'CPU-s':>6}  what changed")
    results = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        pending = {recipe: [pool.submit(one_run, recipe, seed, args.budget) for seed in args.seeds]
                   for recipe in args.recipes}
        for recipe, futures in pending.items():
            runs = [f.result() for f in futures]
            results[recipe] = statistics.mean(r["bits_per_byte"] for r in runs)
            per_seed = " ".join(f"{r['bits_per_byte']:.3f}" for r in runs)
            print(f"{recipe:12} {results[recipe]:8.3f} {per_seed:>22} {statistics.mean(r['steps'] for r in runs):6.0f} "
                  f"{statistics.mean(r['cpu_seconds'] for r in runs):6.0f}  {RECIPES[recipe]['changed']}", flush=True)
    first = args.recipes[0]
    for recipe in args.recipes[1:]:
        ratio = results[recipe] / results[first]
        print(f"{recipe} / {first}: {ratio:.3f} of the bits per byte ({abs(1 - ratio):.1%} "
              f"{'fewer' if ratio < 1 else 'more'})")


if __name__ == "__main__":
    main()
