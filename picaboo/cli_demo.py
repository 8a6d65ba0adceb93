"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['demo_command', 'add_cli']

# %% ../nbs/11a_demo.ipynb #913bcc6f
import argparse

def demo_command(args:argparse.Namespace, # the parsed flags of `picaboo demo`
                ) -> int:
    "Run `picaboo demo`."
    from picaboo.demo import run_demo
    if args.minutes <= 0:
        raise ValueError(f"--minutes must be positive, got {args.minutes}")
    run_demo(args.minutes, args.out, args.vocab_size, tracking_uri=args.tracking_uri, tracking=args.tracking,
             progress=args.progress)
    return 0

def add_cli(subparsers):
    "Add `picaboo demo` to the `picaboo` command."
    p = subparsers.add_parser("demo", help="the book end to end: corpus, tokenizer, a short training run, samples",
                              description="Build the corpus, train a tokenizer and a tiny model for a few minutes "
                                          "(logged to MLflow), and sample from it next to the shipped model.")
    p.add_argument("--minutes", type=float, default=2.0, help="training budget in minutes (default: 2)")
    p.add_argument("--out", default="runs/demo",
                   help="folder for the tokenizer, token files and checkpoints (default: runs/demo)")
    p.add_argument("--vocab-size", type=int, default=2048, help="the demo tokenizer's vocabulary (default: 2048)")
    p.add_argument("--tracking-uri", default=None,
                   help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here)")
    p.add_argument("--tracking", action=argparse.BooleanOptionalAction, default=True,
                   help="log the run to MLflow (default: on)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar (default: on)")
    p.set_defaults(func=demo_command)