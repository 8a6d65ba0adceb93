"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['add_cli']

# %% ../nbs/03_tokenizer.ipynb #269cf692
import sys
import time
from itertools import chain
from pathlib import Path

# %% ../nbs/03_tokenizer.ipynb #e18fd62b
def _read_texts(paths:list[str], # files, folders, or "-" for standard input
                recursive:bool=False, # look into subfolders
                encoding:str="utf-8", # encoding of text files
               ) -> list[str]:
    "The texts of `paths`, one per document; the embedded corpus when `paths` is empty."
    from picaboo.data import load_default_corpus
    from picaboo.readers import load_documents
    if not paths:
        return [load_default_corpus()]
    texts = []
    for path in paths:
        if path == "-":
            texts.append(sys.stdin.read())
        else:
            texts += [d.text for d in load_documents(path, recursive=recursive, encoding=encoding)]
    return texts

def _nonblank(pieces):
    "All of `pieces` (an iterator), or None if together they are only whitespace: a blank document is skipped."
    held = []
    for piece in pieces:
        held.append(piece)
        if piece.strip():
            return chain(held, pieces)
    return None

def _corpus_pieces(paths:list[str], # files, folders, or "-" for standard input
                   recursive:bool=False, # look into subfolders
                   encoding:str="utf-8", # encoding of text files
                   stdin:str="", # the text of standard input, read once (it cannot be read twice)
                  ):
    "The training text of `paths` a piece at a time: the non-blank documents joined with a blank line."
    from picaboo.data import load_default_corpus
    from picaboo.readers import iter_document_pieces
    if not paths:
        yield load_default_corpus()
        return
    empty = True
    for path in paths:
        documents = [(path, iter([stdin]))] if path == "-" else iter_document_pieces(path, recursive, encoding)
        for _, pieces in documents:
            if (pieces := _nonblank(pieces)) is None:
                continue
            if not empty:
                yield "\n\n"
            empty = False
            yield from pieces
    if empty:
        raise ValueError(f"the corpus {' '.join(paths)} is empty: it has no text to train on")

def _with_progress(pieces, paths:list[str], what:str):
    "`pieces`, with a progress bar (in bytes) when the files are bigger than 4 MB."
    from picaboo.readers import with_progress
    files = [Path(p) for p in paths if p != "-"]
    total = sum(f.stat().st_size for p in files for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file())
    return with_progress(pieces, total if len(files) == len(paths) else 0, what)

def _cli_train(args) -> int:
    from picaboo.bpe import ENDOFTEXT
    from picaboo.data import shipped_dir
    from picaboo.tokenizer import CharTokenizer, Tokenizer
    if Path(args.out).resolve().is_relative_to(shipped_dir().resolve()):
        raise ValueError(f"--out {args.out} is the book's shipped tokenizer and models ({shipped_dir()}): "
                         "save your tokenizer somewhere else, e.g. --out my-tokenizer")
    specials = [ENDOFTEXT] if args.special is None else args.special
    tok = CharTokenizer(specials) if args.char else Tokenizer(specials)
    vocab_size = args.vocab_size if args.vocab_size or args.char else 2048
    stdin = sys.stdin.read() if "-" in args.paths else ""  # files are read twice, a piece at a time; stdin once
    text = _with_progress(_corpus_pieces(args.paths, args.recursive, args.encoding, stdin), args.paths,
                          "counting words")
    t0 = time.perf_counter()
    if args.char:
        tok.train("".join(text), vocab_size=vocab_size)
    else:
        tok.train(text, vocab_size=vocab_size, verbose=args.verbose, workers=args.workers)
    seconds, folder = time.perf_counter() - t0, tok.save(args.out)
    n_bytes = 0

    def measured(pieces):
        nonlocal n_bytes
        for piece in pieces:
            n_bytes += len(piece.encode("utf-8"))
            yield piece
    pieces = _with_progress(_corpus_pieces(args.paths, args.recursive, args.encoding, stdin), args.paths, "encoding")
    n_tokens = sum(len(ids) for ids in tok.encode_chunks(measured(pieces)))
    print(f"trained {tok!r} on {n_bytes:,} bytes in {seconds:.1f} s ({n_bytes / n_tokens:.2f} bytes per token); "
          f"saved to {folder}")
    return 0

def _cli_encode(args) -> int:
    from picaboo.data import atomic_write_bytes, shipped_dir
    from picaboo.tokenizer import load_tokenizer
    tok = load_tokenizer(args.tokenizer or shipped_dir())
    allowed = "all" if args.allowed_special == "all" else set(filter(None, args.allowed_special.split(",")))
    disallowed = () if args.special_as_text else "all"
    texts = _read_texts(args.paths or ["-"], args.recursive, args.encoding)
    lines = [" ".join(map(str, tok.encode(text, allowed_special=allowed, disallowed_special=disallowed)))
             for text in texts]
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode("utf-8"))
    else:
        print(*lines, sep="\n")
    return 0

def _cli_decode(args) -> int:
    from picaboo.data import shipped_dir
    from picaboo.tokenizer import load_tokenizer
    tok = load_tokenizer(args.tokenizer or shipped_dir())
    source = sys.stdin.read() if args.path == "-" else Path(args.path).read_text(encoding="utf-8")
    for n, line in enumerate(source.splitlines(), 1):
        if not all(word.isdigit() for word in line.split()):
            raise ValueError(f"{args.path} line {n}: expected token ids, integers separated by spaces")
        text = tok.decode([int(word) for word in line.split()], errors=args.errors)
        sys.stdout.write(("\n" if n > 1 else "") + text)
    return 0

# %% ../nbs/03_tokenizer.ipynb #f5d7ca6c
def add_cli(subparsers):
    "Add `picaboo tokenizer train|encode|decode` to the `picaboo` command."
    from picaboo.bpe import ENDOFTEXT  # light: the regex library only
    p = subparsers.add_parser("tokenizer", help="train a tokenizer; encode and decode text",
                              description="Train a byte-level BPE (or character) tokenizer; "
                                          "encode text to ids and decode ids to text.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = actions.add_parser("train", help="train on files/folders (default: the embedded corpus) and save")
    t.add_argument("paths", nargs="*", help=".txt/.epub files or folders (default: the embedded Python-docs corpus)")
    t.add_argument("--vocab-size", type=int, default=None,
                   help="total vocabulary size, special tokens included (default: 2048; char: all characters)")
    t.add_argument("--out", default="tokenizer", help="folder to save to (default: ./tokenizer)")
    t.add_argument("--special", action="append", help=f"a special token (repeatable; default: {ENDOFTEXT})")
    t.add_argument("--char", action="store_true", help="a character-level tokenizer instead of BPE")
    t.add_argument("--recursive", action="store_true", help="look into subfolders")
    t.add_argument("--encoding", default="utf-8", help="encoding of text files (default: utf-8)")
    t.add_argument("--workers", type=int, default=None, help="processes for pre-tokenizing (default: automatic)")
    t.add_argument("--verbose", action="store_true", help="print progress")
    t.set_defaults(func=_cli_train)
    e = actions.add_parser("encode", help="print the ids of each document, one line each")
    e.add_argument("paths", nargs="*", help="files or folders, or - for standard input (the default)")
    e.add_argument("--tokenizer", default=None,
                   help="folder of a saved tokenizer (default: the book's shipped tokenizer)")
    e.add_argument("--allowed-special", default="",
                   help='special tokens to recognise: "all" or a comma-separated list (default: none)')
    e.add_argument("--special-as-text", action="store_true",
                   help="encode special-token text that is not allowed as ordinary text, instead of failing")
    e.add_argument("--recursive", action="store_true", help="look into subfolders")
    e.add_argument("--encoding", default="utf-8", help="encoding of text files (default: utf-8)")
    e.add_argument("--out", help="write the ids to this file (default: standard output)")
    e.set_defaults(func=_cli_encode)
    d = actions.add_parser("decode", help="turn lines of ids back into text")
    d.add_argument("path", nargs="?", default="-",
                   help="a file of ids, one document a line, or - for standard input (the default)")
    d.add_argument("--tokenizer", default=None,
                   help="folder of a saved tokenizer (default: the book's shipped tokenizer)")
    d.add_argument("--errors", choices=["replace", "strict"], default="replace", help="for ids that make invalid UTF-8")
    d.set_defaults(func=_cli_decode)