"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['add_cli']

# %% ../nbs/04_batches.ipynb #c1d2a7e0
import argparse
import json
from pathlib import Path

# %% ../nbs/04_batches.ipynb #c1d2a7e1
def _documents(args) -> list:
    "The documents a command reads: the default corpus, or the files at `args.path`."
    from picaboo.data import default_documents
    from picaboo.readers import load_documents
    if args.path is None:
        return default_documents()
    return load_documents(args.path, args.recursive, args.encoding)

def _cmd_corpus(args) -> int:
    from picaboo.data import build_default_corpus
    folder = build_default_corpus(rebuild=args.rebuild)
    print(folder)
    print((folder/"manifest.json").read_text(encoding="utf-8"))
    return 0

def _cmd_info(args) -> int:
    from picaboo.data import corpus_text, default_corpus_dir
    if args.path and Path(args.path).suffix == ".bin":
        from picaboo.batches import load_bin, meta_path  # only here: it imports torch
        meta = json.loads(meta_path(args.path).read_text(encoding="utf-8"))
        print(json.dumps({**meta, "tokens": len(load_bin(args.path))}, indent=1))
        return 0
    docs = _documents(args)
    text = corpus_text(docs)
    print(f"{args.path or default_corpus_dir()}: {len(docs)} documents, {len(text):,} characters, "
          f"{len(text.encode('utf-8')):,} bytes, {len(set(text))} distinct characters")
    return 0

def _cmd_download(args) -> int:
    from picaboo.readers import GUTENBERG_URL, download_gutenberg, download_tiny_shakespeare
    if args.source == "shakespeare":
        print(download_tiny_shakespeare(args.cache_dir))
        return 0
    if args.book_id is None:
        raise ValueError("give a Gutenberg book id, e.g. `picaboo data download gutenberg 1342`")
    print(download_gutenberg(args.book_id, args.format, args.cache_dir, args.base_url or GUTENBERG_URL))
    return 0

def _cmd_encode(args) -> int:
    from picaboo.batches import encode_corpus, load_bin
    from picaboo.tokenizer import load_tokenizer
    tokenizer = load_tokenizer(args.tokenizer)
    bins = encode_corpus(args.path, tokenizer, args.out, args.val_fraction, args.seed, args.split, args.recursive,
                         args.encoding, meta=dict(tokenizer_dir=str(args.tokenizer)))
    for path in bins:
        print(f"{path}: {len(load_bin(path)):,} tokens")
    return 0

def _cmd_epub(args) -> int:
    from picaboo.readers import read_text_file, write_epub
    print(write_epub(read_text_file(args.text), args.epub, args.title, args.author))
    return 0

# %% ../nbs/04_batches.ipynb #c1d2a7e2
def _reading_options() -> argparse.ArgumentParser:
    "The options of every action that reads a corpus."
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("path", nargs="?", help="a .txt/.epub file or a folder (default: the embedded corpus)")
    reading.add_argument("--recursive", action="store_true", help="read subfolders too")
    reading.add_argument("--encoding", default="utf-8", help="encoding of text files (default: utf-8)")
    return reading

def add_cli(subparsers):
    "Add `picaboo data` and its actions to the `picaboo` command."
    data = subparsers.add_parser("data", help="corpora: build, inspect, download, encode",
                                 description="Corpora: build, inspect, download, encode.")
    data.set_defaults(func=lambda args: data.print_help() or 0)
    actions, reading = data.add_subparsers(dest="action", metavar="ACTION"), _reading_options()
    p = actions.add_parser("corpus", help="build (or find) the embedded default corpus and print its manifest")
    p.add_argument("--rebuild", action="store_true", help="build it again")
    p.set_defaults(func=_cmd_corpus)
    p = actions.add_parser("info", parents=[reading], help="size of a corpus, or the meta of a .bin")
    p.set_defaults(func=_cmd_info)
    p = actions.add_parser("download", help="download tiny Shakespeare or a Project Gutenberg book")
    p.add_argument("source", choices=["shakespeare", "gutenberg"])
    p.add_argument("book_id", nargs="?", help="Gutenberg book id")
    p.add_argument("--format", choices=["txt", "epub"], default="txt")
    p.add_argument("--cache-dir", help="folder to save into")
    p.add_argument("--base-url", help="Gutenberg server or mirror (default: https://www.gutenberg.org)")
    p.set_defaults(func=_cmd_download)
    p = actions.add_parser("encode", parents=[reading], help="encode a corpus into train.bin and val.bin")
    p.add_argument("--tokenizer", required=True, help="folder of a saved tokenizer")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=["documents", "tail"], help="default: documents if there are 10 or more, else "
                                                                  "tail")
    p.set_defaults(func=_cmd_encode)
    p = actions.add_parser("epub", help="write a plain-text file as an EPUB book")
    p.add_argument("text")
    p.add_argument("epub")
    p.add_argument("--title", required=True)
    p.add_argument("--author", default="picaboo")
    p.set_defaults(func=_cmd_epub)