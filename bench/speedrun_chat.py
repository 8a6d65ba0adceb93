"""From nothing to a lookup assistant: `picaboo speedrun --chat` (picaboo.speedrun_chat.CHAT_PLAN) run alone on
this machine, in wall-clock seconds, its assistant scored on the held-out questions; the shipped lookup model (25
minutes of fine-tuning on a base model that trained for 13) scored on the same questions beside it, as the peer.

The run uses the threads `picaboo` would pick (one per idle core): run it on a quiet machine, nothing else busy.

    python bench/speedrun_chat.py        # what bench/results/speedrun_chat.txt holds (and speedrun_chat.json)
"""
import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from picaboo.cli import pick_threads
from picaboo.loading import load_model_and_tokenizer
from picaboo.lookup import default_index
from picaboo.lookup_recipe import lookup_scores
from picaboo.speedrun_chat import ANSWER_TARGET, CHAT_PLAN, TIME_TARGET, chat_run_table, speedrun_chat


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="keep the run here (default: a temporary folder)")
    ap.add_argument("--json", default=None, help="write the run's record and the peer's scores to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(pick_threads())
    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} cpus, {torch.get_num_threads()} "
          f"threads, load average at start {os.getloadavg()[0]:.1f}, seed {args.seed}", flush=True)
    print(f"plan: {json.dumps(CHAT_PLAN)}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out or Path(scratch)/"run")
        start = time.perf_counter()
        record = speedrun_chat(out, args.seed, progress=False, overwrite=True)
        wall = time.perf_counter() - start
        print(chat_run_table(record))
        held_out = json.loads((out/"model"/"held_out.json").read_text(encoding="utf-8"))
        model, tokenizer = load_model_and_tokenizer("picaboo-tiny-lookup")
        peer = lookup_scores(model.eval(), tokenizer, default_index(), held_out, "plain", CHAT_PLAN["eval_limit"])
    mine = record["stages"]["card"]
    print(f"wall clock of the whole run: {wall:.0f} s = {wall / TIME_TARGET:.2f} of the {TIME_TARGET:.0f} s goal")
    print(f"held-out questions right: {mine['what_right']:.1%} of {mine['questions']['what']} (goal "
          f"{ANSWER_TARGET:.0%}); the shipped picaboo-tiny-lookup on the same questions: {peer['what_right']:.1%} "
          f"(ratio {mine['what_right'] / peer['what_right']:.2f})")
    print(f"made-up names said not found: {mine['fake_right']:.0%} (shipped {peer['fake_right']:.0%}); "
          f"inventions after a lookup found nothing: {mine['invented_after_not_found']}")
    if args.json:
        Path(args.json).write_text(json.dumps({**record, "wall_seconds": round(wall, 1), "peer": peer}, indent=1)
                                   + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
