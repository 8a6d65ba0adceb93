"""Where QK-norm's extra generation time goes, on the tiny model: the QK-norm and Qwen3 designs against GPT-2's, and
the same two models with their head norms skipped (the attention then takes the raw queries and keys: wrong outputs,
the same everything else), in cached greedy generation of 64 tokens after a 64-token prompt.

Each row also counts the operations PyTorch dispatches for one new token with a KV cache. If skipping the norms
brings a model back to GPT-2's time, the gap is those operations alone: no Python elsewhere in the switch, no memory
traffic, nothing a rewrite of the rest could win back. Timing as in bench/architectures.py: one torch thread, this
process's CPU time, each variant timed right next to GPT-2 in every round (alternating who goes first), the median
of the paired ratios.

    python bench/qk_norm_cost.py          # what bench/results/qk_norm_cost.txt holds
"""
import argparse
import os
import platform
import statistics
import types

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from architectures import VARIANTS, generation_time, paired_ratios  # bench/ is on the path when run as a script
from picaboo.model import PicabooLM, PicabooLMParams


class CountOps(TorchDispatchMode):
    "Counts the operations dispatched inside its `with` block."
    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def unnormed_heads(self, qk, kv_cache):
    "Stands in for CausalSelfAttention._norm_heads: the queries and keys as they come."
    return qk


def make_models():
    "GPT-2, QK-norm and Qwen3 on the tiny preset, and the last two again with their head norms skipped."
    torch.manual_seed(0)
    models = {}
    for name in ["gpt2", "qk_norm", "qwen3"]:
        models[name] = PicabooLM(PicabooLMParams.preset("tiny", device="cpu", **VARIANTS[name])).eval()
    for name in ["qk_norm", "qwen3"]:
        skipped = PicabooLM(models[name].params).eval()
        skipped.load_state_dict(models[name].state_dict())
        for block in skipped.blocks:
            block.attn._norm_heads = types.MethodType(unnormed_heads, block.attn)
        models[f"{name}, norms skipped"] = skipped
    return models


def ops_per_token(model, prompt):
    "Operations dispatched for one new token after `prompt`, with a KV cache."
    token = prompt[:, -1:]
    with torch.inference_mode():
        cache = model.new_kv_cache(1)
        model(prompt, kv_cache=cache)
        model(token, kv_cache=cache)  # the first token after a prompt makes what the cache keeps
        with CountOps() as counter:
            model(token, kv_cache=cache)
    return counter.count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=60, help="paired rounds per variant")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1 (each round times every variant next to GPT-2); got {args.rounds}")
    torch.set_num_threads(1)
    models = make_models()
    prompt = torch.randint(0, 2048, (1, 64))
    names = list(models)
    ops = {name: ops_per_token(models[name], prompt) for name in names}
    ratios, gpt2_times = paired_ratios(names, lambda name: generation_time(models[name], prompt, 64), args.rounds)
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cpus, 1 thread, CPU-time clock, "
          f"{args.rounds} paired rounds, load average at start {os.getloadavg()[0]:.1f}")
    print(f"cached greedy generation, 64 tokens after 64, tiny preset (width 128, 4 blocks); gpt2: "
          f"{statistics.median(gpt2_times) * 1e3:.1f} ms per generation")
    print(f"{'variant':24} {'ops/token':>9} {'extra ops':>9} {'time':>6}")
    for name in names:
        print(f"{name:24} {ops[name]:9d} {ops[name] - ops['gpt2']:+9d} {ratios[name]:5.2f}x")


if __name__ == "__main__":
    main()
