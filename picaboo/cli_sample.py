"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['add_cli', 'sample_command']

# %% ../nbs/08_sampling.ipynb #b9ca20b3
import argparse
import sys
import warnings

def add_cli(subparsers):
    "Add `picaboo sample` to the `picaboo` command."
    p = subparsers.add_parser(
        "sample", help="continue a prompt with a trained model, streaming to the terminal",
        description="Continue a prompt with a trained model, streaming the text as it is generated.")
    p.add_argument("--ckpt", required=True,
                   help="save_pretrained folder (+ tokenizer), training checkpoint, Hugging Face GPT-2 folder, "
                        "or the name of a model in models/ (e.g. picaboo-tiny)")
    p.add_argument("--prompt", default="", help="text to continue (default: empty, a new document)")
    p.add_argument("--max-new-tokens", type=int, default=200, help="at most this many tokens (default 200)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="0 = greedy; below 1 safer, above 1 wilder (default 1.0)")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None, help="sample from the nucleus of probability p, in (0, 1]")
    p.add_argument("--min-p", type=float, default=None,
                   help="drop tokens below min_p times the top token's probability")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="> 1 discourages repeats (default 1.0: off)")
    p.add_argument("--stop", action="append", default=[], metavar="TEXT", help="stop before this text (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed: the same seed prints the same text")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: cpu)")
    p.add_argument("--no-cache", action="store_true", help="decode without the KV cache (slow; for comparison)")
    p.set_defaults(func=sample_command)

def _note(message, *_details, **_options):
    "Show a warning as one line on stderr, without the source line `warnings` would add."
    print(f"picaboo sample: note: {message}", file=sys.stderr)

def sample_command(args:argparse.Namespace, # the parsed flags of `picaboo sample`
                  ) -> int:
    "Run `picaboo sample`: print the prompt, then the continuation as it is generated."
    from picaboo.loading import load_model_and_tokenizer
    from picaboo.sampling import check_sampling_args, encode_prompt, stream
    check_sampling_args(args.temperature, args.top_k, args.top_p, args.min_p, args.repetition_penalty)
    if args.max_new_tokens < 0:
        raise ValueError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    model, tokenizer = load_model_and_tokenizer(args.ckpt, args.device)
    encode_prompt(tokenizer, args.prompt)  # bad characters fail here, before anything is printed
    out = sys.stdout
    out.write(args.prompt)
    out.flush()
    with warnings.catch_warnings():  # a too-long prompt: one line on stderr, not a warning with a source line
        warnings.showwarning = _note
        pieces = stream(model, tokenizer, args.prompt, args.max_new_tokens, stop_strings=args.stop,
                        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, min_p=args.min_p,
                        repetition_penalty=args.repetition_penalty, seed=args.seed, use_cache=not args.no_cache)
        for piece in pieces:
            out.write(piece)
            out.flush()
    out.write("\n")
    return 0