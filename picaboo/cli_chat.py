"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['chat_command', 'add_cli']

# %% ../nbs/09_chat.ipynb #a4e9221b
import argparse
import importlib.util

def chat_command(args:argparse.Namespace, # the parsed flags of `picaboo chat`
                ) -> int:
    "Run `picaboo chat`: a REPL on the model at `args.ckpt`."
    from picaboo.chat import ChatSession, load_chat_model, repl
    from picaboo.sampling import check_sampling_args
    check_sampling_args(args.temperature, args.top_k, args.top_p)
    if args.max_new_tokens < 1:
        raise ValueError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    model, tokenizer = load_chat_model(args.ckpt, args.device)
    session = ChatSession(model, tokenizer, args.system, max_new_tokens=args.max_new_tokens,
                          temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    if importlib.util.find_spec("readline") is not None:  # line editing and history at the prompt, where there is one
        importlib.import_module("readline")
    print(f"picaboo chat: {args.ckpt} ({model.num_params(False):,} parameters, context {model.params.context_length} "
          "tokens). /help lists the commands; Ctrl-D leaves.", flush=True)
    return repl(session)

def add_cli(subparsers):
    "Add `picaboo chat` to the `picaboo` command."
    from picaboo.chat import COMMANDS, DEFAULT_CHAT_MODEL  # the REPL's help and the default model: one place each
    p = subparsers.add_parser(
        "chat", help="talk to a chat model in the terminal",
        description="Talk to a model fine-tuned for chat; replies stream as they are generated.\n\n" + COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", default=DEFAULT_CHAT_MODEL,
                   help="the model: a folder written by `picaboo finetune` or save_pretrained, a training checkpoint, "
                        f"or the name of a model in models/ (default: {DEFAULT_CHAT_MODEL})")
    p.add_argument("--system", default=None, help="the system prompt (default: none)")
    p.add_argument("--max-new-tokens", type=int, default=64, help="at most this many tokens per reply (default 64)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy, the same reply every time (default 0)")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None, help="sample from the nucleus of probability p")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: cpu)")
    p.set_defaults(func=chat_command)