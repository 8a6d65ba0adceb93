"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['eval_command', 'add_cli']

# %% ../nbs/11_evaluation.ipynb #410aabf3
import argparse
import json
from pathlib import Path


def eval_command(args):
    "Run `picaboo eval`: grade a model, print its card, write report_card.json (and .png) next to it or in --out."
    import platform

    import torch

    from picaboo import __version__
    from picaboo.evaluation import card_table, plot_cards, report_card
    from picaboo.finetune import machine
    from picaboo.loading import find_model, load_model_and_tokenizer
    text = None
    if args.text is not None:
        text = Path(args.text).read_text(encoding="utf-8")
        if not text.strip():
            raise ValueError(f"--text {args.text} is empty: give a UTF-8 text file of at least a few hundred bytes")
    if args.questions < 0:
        raise ValueError(f"--questions must be 0 or more, got {args.questions}")
    path = find_model(args.ckpt)
    out = Path(args.out) if args.out else (path if path.is_dir() else path.parent)
    model, tokenizer = load_model_and_tokenizer(path)
    if text is not None and len(tokenizer.encode_ordinary(text)) <= model.params.context_length:
        raise ValueError(f"--text {args.text} is too short: bits per byte needs at least one window of "
                         f"{model.params.context_length + 1} tokens (the model's context + 1), a few hundred bytes")
    card = report_card(model, tokenizer, text, questions=args.questions, progress=args.progress)
    flags = (("--text", args.text), ("--out", args.out), ("--questions", args.questions))
    command = f"picaboo eval --ckpt {args.ckpt}" + "".join(
        f" {flag} {value}" for flag, value in flags if value is not None and (flag, value) != ("--questions", 100))
    card = {"model": str(args.ckpt), "command": command, "picaboo": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "machine": machine(), **card}
    out.mkdir(parents=True, exist_ok=True)
    (out/"report_card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_cards({path.name: card, "untrained": card["untrained"]}, out/"report_card.png")
    print(card_table(card, path.name))
    print(f"{card['seconds']:.0f} s; card written to {out/'report_card.json'}")
    return 0

def add_cli(subparsers):
    "Add `picaboo eval` to the `picaboo` command."
    p = subparsers.add_parser("eval", help="grade a model: bits per byte, a knowledge suite, chat answers",
                              description="Grade a model: bits per byte, a multiple-choice knowledge suite built from "
                                          "the corpus, and (for a chat model) the accuracy of its answers.")
    p.add_argument("--ckpt", default="picaboo-tiny", help="the model: a folder, a training checkpoint or the name of "
                                                          "a model in models/ (default: picaboo-tiny)")
    p.add_argument("--text", default=None, help="measure bits per byte on this UTF-8 text file (default: the "
                                                "corpus's validation split)")
    p.add_argument("--out", default=None, help="folder for report_card.json and .png (default: next to the model)")
    p.add_argument("--questions", type=int, default=100, help="chat answers scored on each split (default: 100)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bars (default: on)")
    p.set_defaults(func=eval_command)