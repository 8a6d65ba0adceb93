__all__ = ['command_line', 'finetune_lookup_command', 'add_cli', 'main']

# %% ../nbs/12_lookup.ipynb #154afc49
import argparse
import sys

# %% ../nbs/12_lookup.ipynb #782182ed
def command_line(args:argparse.Namespace) -> str:
    "The command that reproduces this run, for the model card."
    flags = [f"--base {args.base}", f"--out {args.out}", f"--max-steps {args.max_steps}",
             f"--batch-size {args.batch_size}", f"--max-learning-rate {args.max_learning_rate:g}",
             f"--seed {args.seed}"]
    flags += [f"--max-time {args.max_time:g}"] if args.max_time else []
    flags += [f"--eval-limit {args.eval_limit}"] if args.eval_limit else []
    return "picaboo finetune-lookup " + " ".join(flags)

def finetune_lookup_command(args:argparse.Namespace) -> int:
    "Run `picaboo finetune-lookup`: teach a chat model to look names up, save it with a card of measured figures."
    for flag, value in {"--max-steps": args.max_steps, "--batch-size": args.batch_size}.items():
        if value <= 0:
            raise ValueError(f"{flag} must be positive, got {value}")
    from picaboo.tool_data import make_lookup_model
    card = make_lookup_model(args.base, args.out, args.max_steps, args.max_time, args.batch_size,
                             args.max_learning_rate, args.seed, args.eval_limit, command_line(args))
    print(f"saved {args.out}; figures: {card['figures']}", flush=True)
    return 0

def add_cli(subparsers):
    "Add `picaboo finetune-lookup` to the `picaboo` command."
    p = subparsers.add_parser("finetune-lookup", help="teach a chat model to look names up in the documentation",
                              description="Fine-tune a chat model to look names up and answer from what it read.")
    p.add_argument("--base", default="picaboo-tiny-chat", help="the chat model to start from (default: %(default)s)")
    p.add_argument("--out", required=True, help="folder for the model, its tokenizer and card.json")
    p.add_argument("--max-steps", type=int, default=2000, help="optimizer steps (default: 2000)")
    p.add_argument("--max-time", type=float, default=None, help="stop training after this many seconds")
    p.add_argument("--batch-size", type=int, default=16, help="conversations per step (default: 16)")
    p.add_argument("--max-learning-rate", type=float, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the run (default: 0)")
    p.add_argument("--eval-limit", type=int, default=None, help="score at most this many held-out questions per kind")
    p.set_defaults(func=finetune_lookup_command)

def main(argv:list[str]|None=None) -> int:
    "`python -m picaboo.cli_lookup finetune-lookup ...` until `picaboo` lists this chapter's command."
    parser = argparse.ArgumentParser(prog="picaboo")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)