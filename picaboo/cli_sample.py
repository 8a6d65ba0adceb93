"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['add_cli', 'sample_command']

# %% ../nbs/08_sampling.ipynb #b9ca20b3
import argparse
import math
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
    p.add_argument("--temperature", type=float, default=None,
                   help="0 = greedy; below 1 safer, above 1 wilder (default 1.0)")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None, help="sample from the nucleus of probability p, in (0, 1]")
    p.add_argument("--min-p", type=float, default=None,
                   help="drop tokens below min_p times the top token's probability")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="> 1 discourages repeats (default 1.0: off)")
    p.add_argument("--frequency-penalty", type=float, default=0.0,
                   help="minus this per earlier use of a token in the generated text (default 0: off)")
    p.add_argument("--presence-penalty", type=float, default=0.0,
                   help="minus this for every token the generated text already holds (default 0: off)")
    p.add_argument("--no-repeat-ngram-size", type=int, default=0, metavar="N",
                   help="never repeat a sequence of N tokens (default 0: off)")
    p.add_argument("--ban", action="append", default=[], metavar="TEXT",
                   help="never generate this text's tokens in a row (repeatable; ' word' and 'word' differ)")
    p.add_argument("--logit-bias", action="append", default=[], metavar="TEXT=BIAS",
                   help="add BIAS to the logit that completes TEXT's tokens (repeatable; -100 all but bans it)")
    p.add_argument("--num-samples", type=int, default=1, help="this many samples, one after the other (default 1)")
    p.add_argument("--num-beams", type=int, default=1,
                   help="beam search with this many beams instead of sampling (default 1: no beam search)")
    p.add_argument("--stop", action="append", default=[], metavar="TEXT", help="stop before this text (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed: the same seed prints the same text")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: cpu)")
    p.add_argument("--no-cache", action="store_true", help="decode without the KV cache (slow; for comparison)")
    p.set_defaults(func=sample_command)

def _note(message, *_details, **_options):
    "Show a warning as one line on stderr, without the source line `warnings` would add."
    print(f"picaboo sample: note: {message}", file=sys.stderr)

def _parse_biases(items:list[str]) -> dict[str, float]:
    "TEXT=BIAS flags -> {text: bias}; the last '=' splits, so TEXT may hold one."
    biases = {}
    for item in items:
        text, eq, value = item.rpartition("=")
        try:
            bias = float(value)
        except ValueError:
            bias = math.nan
        if not eq or not text or math.isnan(bias) or bias == math.inf:
            raise ValueError(f"--logit-bias takes TEXT=BIAS with a number for BIAS (e.g. ' the=-5'; -inf bans), "
                             f"got {item!r}")
        biases[text] = bias
    return biases

def _check_combination(args:argparse.Namespace):
    "Raise for flags that make no sense together (beam search with sampling settings, several greedy samples) or empty."
    if "" in args.ban:
        raise ValueError("--ban needs a non-empty text")
    _parse_biases(args.logit_bias)  # a malformed TEXT=BIAS fails here, before the model loads
    if args.num_samples < 1 or args.num_beams < 1:
        raise ValueError(f"--num-samples and --num-beams must be >= 1, got {args.num_samples} and {args.num_beams}")
    if args.num_beams > 1:
        sampling = {"--temperature": args.temperature is not None, "--top-k": args.top_k is not None,
                    "--top-p": args.top_p is not None, "--min-p": args.min_p is not None,
                    "--seed": args.seed is not None, "--num-samples": args.num_samples > 1,
                    "--repetition-penalty": args.repetition_penalty != 1.0,
                    "--frequency-penalty": args.frequency_penalty != 0,
                    "--presence-penalty": args.presence_penalty != 0,
                    "--no-repeat-ngram-size": args.no_repeat_ngram_size != 0, "--ban": bool(args.ban),
                    "--logit-bias": bool(args.logit_bias)}
        given = [flag for flag, used in sampling.items() if used]
        if given:
            raise ValueError(f"--num-beams searches for the most likely text and takes no sampling or penalty "
                             f"settings: drop {', '.join(given)}")
    if args.num_samples > 1 and args.temperature == 0:
        raise ValueError(f"--num-samples {args.num_samples} with --temperature 0 (greedy) prints one text "
                         f"{args.num_samples} times: sample with a temperature > 0, or use --num-beams")

def _processors(args:argparse.Namespace, tokenizer) -> dict:
    "The sampling settings of the flags, with --ban and --logit-bias texts encoded into token sequences."
    from picaboo.sampling import ban_sequences
    bias = {tuple(tokenizer.encode_ordinary(text)): b for text, b in _parse_biases(args.logit_bias).items()}
    bans = [tokenizer.encode_ordinary(text) for text in args.ban]
    return dict(temperature=1.0 if args.temperature is None else args.temperature, top_k=args.top_k, top_p=args.top_p,
                min_p=args.min_p, repetition_penalty=args.repetition_penalty,
                frequency_penalty=args.frequency_penalty, presence_penalty=args.presence_penalty,
                no_repeat_ngram_size=args.no_repeat_ngram_size,
                sequence_bias=ban_sequences(bans, bias))

def _beam_text(model, tokenizer, args:argparse.Namespace) -> str:
    "The continuation beam search finds, cut before the first stop text."
    import torch
    from picaboo.sampling import beam_search, encode_prompt
    idx = torch.tensor([encode_prompt(tokenizer, args.prompt)], device=model.device)
    stops = [tokenizer.eot_id] if tokenizer.eot_id is not None else []
    best, _ = beam_search(model, idx, args.max_new_tokens, args.num_beams, stop_tokens=stops,
                          use_cache=not args.no_cache)
    text = tokenizer.decode([t for t in best[0, idx.size(1):].tolist() if t not in stops])
    cuts = [i for s in args.stop if (i := text.find(s)) >= 0]
    return text[:min(cuts)] if cuts else text

def sample_command(args:argparse.Namespace, # the parsed flags of `picaboo sample`
                  ) -> int:
    "Run `picaboo sample`: print the prompt, then the continuation as it is generated (each sample in turn)."
    from picaboo.loading import load_model_and_tokenizer
    from picaboo.sampling import check_sampling_args, encode_prompt, stream
    _check_combination(args)
    temperature = 1.0 if args.temperature is None else args.temperature
    check_sampling_args(temperature, args.top_k, args.top_p, args.min_p, args.repetition_penalty,
                        args.frequency_penalty, args.presence_penalty, args.no_repeat_ngram_size)
    if args.max_new_tokens < 0:
        raise ValueError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    model, tokenizer = load_model_and_tokenizer(args.ckpt, args.device)
    encode_prompt(tokenizer, args.prompt)  # bad characters fail here, before anything is printed
    processors = _processors(args, tokenizer)
    out = sys.stdout
    if args.num_beams > 1:
        out.write(args.prompt + _beam_text(model, tokenizer, args) + "\n")
        return 0
    for i in range(args.num_samples):
        if args.num_samples > 1:
            out.write(f"--- sample {i + 1} of {args.num_samples} ---\n")
        out.write(args.prompt)
        out.flush()
        with warnings.catch_warnings():  # a too-long prompt: one line on stderr, not a warning with a source line
            warnings.showwarning = _note
            seed = None if args.seed is None else args.seed + i
            pieces = stream(model, tokenizer, args.prompt, args.max_new_tokens, stop_strings=args.stop, seed=seed,
                            use_cache=not args.no_cache, **processors)
            for piece in pieces:
                out.write(piece)
                out.flush()
        out.write("\n")
    return 0