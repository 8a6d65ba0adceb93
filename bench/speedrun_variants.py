"""Variants of one speedrun recipe, raced by `picaboo.speedrun.speedrun` as bench/speedrun.py races the recipes:
the scratch races behind a new recipe, kept so that the chapter's figures can be rerun.

A variants file is JSON: name -> {"model": fields to change, "trainer": settings to change}, each applied on top
of `--base` (a key of RECIPES). One line per run, in the order given, two runs at a time by default.

    python bench/speedrun_variants.py bench/variants/sizes.json --corpus shakespeare --budget 220
"""
import argparse
import copy
import dataclasses
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from picaboo.model import PicabooLMParams
from picaboo.speedrun import RECIPES, speedrun
from picaboo.training import TrainerParams


def read_variants(path:str, base:str) -> dict:
    "The variants file, checked: a ValueError saying what is wrong in one line, before any run starts."
    try:
        with open(path, encoding="utf-8") as f:
            variants = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    if not isinstance(variants, dict) or not variants:
        raise ValueError(f'{path}: expected a JSON object, name -> {{"model": {{...}}, "trainer": {{...}}}}')
    fields = {"model": {f.name for f in dataclasses.fields(PicabooLMParams)},
              "trainer": {f.name for f in dataclasses.fields(TrainerParams)}}
    for name, change in variants.items():
        if name in RECIPES:
            raise ValueError(f"variant {name!r} is a recipe's name already; name it otherwise")
        if not isinstance(change, dict) or not set(change) <= set(fields):
            raise ValueError(f'variant {name!r}: expected {{"model": {{...}}, "trainer": {{...}}}}, got {change!r}')
        for part, known in fields.items():
            unknown = sorted(set(change.get(part, {})) - known)
            if unknown:
                raise ValueError(f"variant {name!r}: {part} has no field(s) {unknown}")
        model = {**RECIPES[base]["model"], **change.get("model", {})}
        try:
            PicabooLMParams.preset("tiny", device="cpu", **model)  # a bad value fails here, with its own message
        except ValueError as e:
            raise ValueError(f"variant {name!r}: {e}") from None
    return variants


def add_variants(variants:dict, base:str) -> list[str]:
    "Put every variant into RECIPES as `base` with its changes; their names."
    for name, change in variants.items():
        recipe = copy.deepcopy(RECIPES[base])
        recipe["model"].update(change.get("model", {}))
        recipe["trainer"].update(change.get("trainer", {}))
        if "betas" in recipe["trainer"]:
            recipe["trainer"]["betas"] = tuple(recipe["trainer"]["betas"])  # JSON has lists
        recipe["changed"] = json.dumps(change)
        RECIPES[name] = recipe
    return list(variants)


def one_run(variants:dict, base:str, name:str, seed:int, budget:float, corpus:str) -> dict:
    "One race in a fresh process with one torch thread."
    torch.set_num_threads(1)
    add_variants(variants, base)
    return speedrun(name, budget, seed, progress=False, corpus=corpus)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", help="a JSON file: name -> {model: {...}, trainer: {...}}")
    ap.add_argument("--base", default="short-blocks", choices=list(RECIPES), help="the recipe the variants change")
    ap.add_argument("--budget", type=float, default=220.0, help="CPU-seconds of training per run")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--jobs", type=int, default=2, help="runs at once, one process and one thread each")
    ap.add_argument("--corpus", default="shakespeare", help="embedded, shakespeare or a text file's path")
    args = ap.parse_args(argv)
    try:
        variants = read_variants(args.variants, args.base)
    except ValueError as e:
        ap.error(str(e))
    key = "bits_per_byte" if args.corpus == "embedded" else "bits_per_char"
    print(f"torch {torch.__version__}, {os.cpu_count()} cpus, {args.jobs} run(s) at once, 1 thread each, corpus "
          f"{args.corpus}, budget {args.budget:.0f} CPU-s, base {args.base}, seeds {args.seeds}", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = [(name, seed, pool.submit(one_run, variants, args.base, name, seed, args.budget, args.corpus))
                for name in variants for seed in args.seeds]
        for name, seed, future in runs:
            r = future.result()
            print(f"{name:16} seed {seed}  {key.replace('_', ' ')} {r[key]:.4f}  steps {r['steps']:5d}  "
                  f"CPU-s {r['cpu_seconds']:5.1f}  {time.strftime('%H:%M')}  {json.dumps(variants[name])}", flush=True)


if __name__ == "__main__":
    main()
