__all__ = ['serve_command', 'add_cli']

# %% ../nbs/12a_serve.ipynb #e559ead9
import argparse
import logging
import sys

# %% ../nbs/12a_serve.ipynb #7d7476c1
def serve_command(args:argparse.Namespace) -> int:
    "Run `picaboo serve`: load the model, listen on --host:--port, answer until Ctrl-C."
    from picaboo.serve import ChatService, is_loopback, listen, load_served_model, make_app, run_server, served_name
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535] (0: a free one), got {args.port}")
    sock = listen(args.host, args.port)  # first: a port that is taken fails before the model loads
    model, tokenizer = load_served_model(args.ckpt, args.device)
    name = args.name or served_name(args.ckpt)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("picaboo serve: %(message)s"))
    logging.getLogger("picaboo.serve").addHandler(handler)
    logging.getLogger("picaboo.serve").setLevel(logging.INFO)
    if not is_loopback(args.host):
        print(f"picaboo serve: warning: listening on {args.host}: anyone who can reach this machine can use "
              "the model (there is no password)", file=sys.stderr)
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    print(f"picaboo serve: {name} ({model.num_params(False):,} parameters) at {url}/ "
          "(the API under /v1; Ctrl-C stops)", flush=True)
    service = ChatService(model, tokenizer, name)
    run_server(make_app(service, local_only=is_loopback(args.host)), sock, service.closing)
    print("picaboo serve: stopped", flush=True)
    return 0

def add_cli(subparsers):
    "Add `picaboo serve` to the `picaboo` command."
    p = subparsers.add_parser(
        "serve", help="serve a chat model: an OpenAI-compatible API and a chat page",
        description="Serve a chat model on this machine: POST /v1/chat/completions (OpenAI's shape, streaming "
                    "too), GET /v1/models, and a chat page at /.")
    p.add_argument("--ckpt", default=None,
                   help="the model: a folder written by `picaboo finetune` or save_pretrained, a training "
                        "checkpoint, or the name of a model in models/ (default: the book's chat model)")
    p.add_argument("--name", default=None, help="the model name clients ask for (default: the checkpoint's name)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every network)")
    p.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0 picks a free one)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: cpu)")
    p.set_defaults(func=serve_command)