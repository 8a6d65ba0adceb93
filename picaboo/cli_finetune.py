"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['finetune_command', 'add_cli']

# %% ../nbs/10_finetune.ipynb #627b8c65
import argparse
import hashlib
import json
import platform
import time
from pathlib import Path

def _check_flags(args:argparse.Namespace):
    "Raise for a flag out of range, or an output folder that is the base model's own."
    from picaboo.loading import find_model
    flags = {"--max-steps": args.max_steps, "--batch-size": args.batch_size,
             "--max-time": 1 if args.max_time is None else args.max_time, "--max-learning-rate": args.max_learning_rate}
    bad = [f for f, v in flags.items() if v <= 0]
    if bad:
        raise ValueError(f"{bad[0]} must be positive, got {flags[bad[0]]}")
    if Path(args.out).resolve() == find_model(args.base).resolve():
        raise ValueError(f"--out {args.out} is the base model's folder: write the tuned model elsewhere")

def _command_line(args:argparse.Namespace) -> str:
    "The `picaboo finetune` command that repeats this run."
    return (f"picaboo finetune --base {args.base} --out {args.out} --max-steps {args.max_steps}"
            + (f" --max-time {args.max_time:g}" if args.max_time else "")
            + f" --batch-size {args.batch_size} --max-learning-rate {args.max_learning_rate:g}"
            f" --warmup-steps {args.warmup_steps} --seed {args.seed} --data-seed {args.data_seed}"
            + (f" --data {args.data}" if args.data else ""))

def _sha256(path:str) -> str:
    "The SHA-256 of a file's bytes, so a card names exactly the data it was tuned on."
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

def _exchange(example:dict) -> tuple[list[dict], str]:
    "(the conversation before its last assistant turn, that turn's text): a question to ask and its reference answer."
    messages = example["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last], messages[last]["content"]

def _answers(model, tok, examples:list[dict]) -> list[str]:
    "The model's greedy answer (at most 48 tokens) to each example's conversation before its last answer."
    from picaboo.chat import chat
    return [chat(model, tok, _exchange(e)[0], max_new_tokens=48) for e in examples]

def _data_note(path:str, counts:dict, context_length:int) -> str:
    "One line on what became of a chat file's conversations."
    return (f"{path}: {counts['conversations']} conversations; {counts['trimmed']} trimmed to fit the "
            f"{context_length}-token context (oldest turns dropped, as picaboo chat does); {counts['too_long']} "
            f"left out (too long even so); {counts['train']} to train on, {counts['val']} to validate on")

def _card(args, model, tok, trainer, counts:dict, before:dict, after:dict, seconds:dict) -> dict:
    "The tuned model's card: how it was made, on what, and what it scores before and after."
    import torch
    from picaboo.cards import corpus_manifest
    from picaboo.finetune import machine
    m, loss = corpus_manifest(), trainer.history.get("loss", [])
    training = {"steps": trainer.step, "stop_reason": trainer.stop_reason, "batch_size": args.batch_size,
                "max_learning_rate": args.max_learning_rate, "train_seconds_with_evals": round(seconds["train"], 1),
                "command_wall_seconds": round(seconds["command"], 1),
                "train_loss_last50": sum(loss[-50:]) / max(1, len(loss[-50:]))}
    split = ("conversation_split(read_conversations(data), tok, 128, seed=data_seed)" if args.data
             else "instruction_split(tok, 128, data_seed)")
    how = f"picaboo.finetune.assistant_loss(model, tok, {split}[1]); base = load_for_chat(base, seed)"
    how_in_chat = ("the same, on chat_like(val, tok, 128, data_seed): "
                   "each behind a system prompt and an earlier exchange")
    answers = [{"question": _exchange(e)[0][-1]["content"], "reference": _exchange(e)[1], "base": b, "tuned": t}
               for e, b, t in zip(before["questions"], before["answers"], _answers(model, tok, before["questions"]))]
    in_chat = {"val_assistant_loss_in_chat": {"base": before["in_chat"], "tuned": after["in_chat"], "how": how_in_chat}}
    return {"name": Path(args.out).name, "base": str(args.base), "command": _command_line(args), "seed": args.seed,
            "data_seed": args.data_seed, "python": platform.python_version(), "torch": torch.__version__,
            "machine": machine(),
            "corpus": {k: m.get(k) for k in ("bytes", "documents", "sha256", "python", "version")},
            "model": model.params.to_dict(), "all_params": model.num_params(non_embedding=False),
            "data": counts, "training": training,
            "val_assistant_loss": {"base": before["loss"]["loss"], "tuned": after["loss"]["loss"],
                                   "tokens": after["loss"]["tokens"], "how": how},
            **(in_chat if before["in_chat"] is not None else {}),
            **({"data_file": {"path": str(args.data), "sha256": _sha256(args.data)}} if args.data else {}),
            "answers": answers, "decoding": "greedy, at most 48 new tokens, stops at <|end|>"}

def finetune_command(args:argparse.Namespace, # the parsed flags of `picaboo finetune`
                    ) -> int:
    "Run `picaboo finetune`: tune the base model for chat, save it with its tokenizer and a card.json."
    from picaboo.finetune import (assistant_loss, chat_like, conversation_split, finetune, folder_facts,
                                  instruction_split, load_for_chat, read_conversations, sample_questions)
    _check_flags(args)
    conversations = read_conversations(args.data) if args.data else None  # a bad line fails here, before any work
    t0 = time.perf_counter()
    model, tok = load_for_chat(args.base, args.seed)
    ctx = model.params.context_length
    if conversations:
        train, val, counts = conversation_split(conversations, tok, ctx, seed=args.data_seed)
        print(_data_note(args.data, counts, ctx), flush=True)
        chat_val, questions = None, val[:4]
    else:
        train, val, counts = instruction_split(tok, ctx, args.data_seed)
        chat_val, questions = chat_like(val, tok, ctx, args.data_seed), sample_questions(val)
    before = {"loss": assistant_loss(model, tok, val), "questions": questions,
              "answers": _answers(model, tok, questions),
              "in_chat": assistant_loss(model, tok, chat_val)["loss"] if chat_val else None}
    print(f"{counts['train']} training and {counts['val']} validation conversations; "
          f"base assistant-token loss {before['loss']['loss']:.3f}", flush=True)
    t1 = time.perf_counter()
    trainer = finetune(model, tok, train, val, args.max_steps, args.max_time, args.batch_size, args.max_learning_rate,
                       args.warmup_steps, args.seed, args.checkpoints, tracking=args.tracking,
                       tracking_uri=args.tracking_uri, progress=args.progress, eval_every=args.eval_every,
                       run_name=f"finetune {Path(args.out).name}")
    train_seconds = time.perf_counter() - t1
    after = {"loss": assistant_loss(model, tok, val),
             "in_chat": assistant_loss(model, tok, chat_val)["loss"] if chat_val else None}
    out = Path(args.out)
    model.save_pretrained(out)
    tok.save(out)
    seconds = {"train": train_seconds, "command": time.perf_counter() - t0}
    card = _card(args, model, tok, trainer, counts, before, after, seconds)
    card.update(folder_facts(out))
    (out/"card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"validation assistant-token loss: base {before['loss']['loss']:.3f} -> tuned {after['loss']['loss']:.3f}; "
          f"{trainer.step} steps in {train_seconds:.0f} s; saved to {out}", flush=True)
    return 0

def add_cli(subparsers):
    "Add `picaboo finetune` to the `picaboo` command."
    p = subparsers.add_parser(
        "finetune", help="fine-tune a base model for chat on questions made from the embedded corpus",
        description="Supervised fine-tuning: add the chat tokens to a base model, train it on questions and answers "
                    "from the embedded corpus, or on your own conversations (--data).")
    p.add_argument("--base", default="picaboo-tiny",
                   help="base model: a folder with its tokenizer, or a shipped model's name "
                        "(default: picaboo-tiny, from models/)")
    p.add_argument("--out", required=True, help="folder for the tuned model, its tokenizer and card.json")
    p.add_argument("--max-steps", type=int, default=1000,
                   help="optimizer steps; the cosine schedule ends here (default: 1000)")
    p.add_argument("--max-time", type=float, default=None,
                   help="stop after this many seconds of training (default: no limit)")
    p.add_argument("--batch-size", type=int, default=16, help="conversations per step (default: 16)")
    p.add_argument("--max-learning-rate", type=float, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument("--warmup-steps", type=int, default=20, help="linear warmup steps (default: 20)")
    p.add_argument("--eval-every", type=int, default=100, help="validate every this many steps (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the run and of the new token embeddings (default: 0)")
    p.add_argument("--data", default=None, metavar="FILE.jsonl",
                   help='your own conversations instead of the corpus questions: one {"messages": [{"role": '
                        '"system"|"user"|"assistant", "content": ...}, ...]} per line; 10%% are held out')
    p.add_argument("--data-seed", type=int, default=0,
                   help="seed of the question phrasings and the split (default: 0)")
    p.add_argument("--checkpoints", default=None,
                   help="keep the trainer's checkpoints in this folder (default: discarded)")
    p.add_argument("--tracking-uri", default=None,
                   help="MLflow store (default: $MLFLOW_TRACKING_URI, else a local store)")
    p.add_argument("--tracking", action=argparse.BooleanOptionalAction, default=False,
                   help="log the run to MLflow (default: off)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar (default: on)")
    p.set_defaults(func=finetune_command)