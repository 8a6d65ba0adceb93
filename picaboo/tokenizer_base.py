"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['BYTE_TO_CHAR', 'CHAR_TO_BYTE', 'FORMAT_VERSION', 'META_FILE', 'bytes_to_unicode', 'token_to_str', 'str_to_token', 'IncrementalDecoder', 'TokenizerBase']

# %% ../nbs/03_tokenizer.ipynb #7b0a5e11
import codecs
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from . import __version__
from .bpe import ENDOFTEXT, special_tokens_regex
from .data import atomic_write_bytes

# %% ../nbs/03_tokenizer.ipynb #888d65e0
def bytes_to_unicode() -> dict[int, str]:
    "GPT-2's map from each byte to a printable character: printable bytes map to themselves, others to U+0100..."
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in keep]
    return {**{b: chr(b) for b in keep}, **{b: chr(256 + n) for n, b in enumerate(shifted)}}

BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}

def token_to_str(token:bytes) -> str:
    "A token's bytes in GPT-2's printable alphabet: `token_to_str(b' the')` -> `'Ġthe'`."
    return "".join([BYTE_TO_CHAR[b] for b in token])

def str_to_token(text:str) -> bytes:
    "The inverse of `token_to_str`; `KeyError` for a character outside the alphabet."
    return bytes([CHAR_TO_BYTE[c] for c in text])

# %% ../nbs/03_tokenizer.ipynb #7ab7d632
FORMAT_VERSION = 1  # version of the files `save` writes
META_FILE = "tokenizer_meta.json"  # pattern, special tokens, type and version, beside encoder.json

def _read_json(path:Path):
    "JSON from a UTF-8 file, with errors that name the file and the line."
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (a tokenizer folder holds encoder.json, merges.bpe and "
                                f"{META_FILE})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON, line {e.lineno} column {e.colno}: {e.msg}") from None

def _write_json(path:Path, obj):
    "Write `obj` as UTF-8 JSON, atomically (chapter 01's `atomic_write_bytes`)."
    atomic_write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=0) + "\n").encode("utf-8"))

def _read_meta(folder:Path, kind:str) -> dict:
    "The meta file of a saved tokenizer (`{}` if absent, as for GPT-2's files); checks type and version."
    if not (folder / META_FILE).is_file():
        return {}
    meta = _read_json(folder / META_FILE)
    if not isinstance(meta, dict) or meta.get("format") != "picaboo-tokenizer":
        raise ValueError(f"{folder / META_FILE}: not a picaboo tokenizer meta file")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{folder / META_FILE}: format version {meta['format_version']} is newer than this picaboo "
                         f"({__version__}) reads ({FORMAT_VERSION}); upgrade picaboo")
    if meta.get("type") != kind:
        raise ValueError(f"{folder}: holds a {meta.get('type')!r} tokenizer, not {kind!r}; use "
                         f"load_tokenizer({str(folder)!r})")
    return meta

# %% ../nbs/03_tokenizer.ipynb #328f42c1
def _replace_surrogates(text:str) -> str:
    "`text` with each lone surrogate (not text: UTF-8 cannot write it) replaced by U+FFFD, as tiktoken does."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text

class IncrementalDecoder:
    "Decode ids as they arrive, holding back the bytes of a character that is not complete yet."
    def __init__(self, tokenizer, errors:str="replace"):
        self.tokenizer, self._utf8 = tokenizer, codecs.getincrementaldecoder("utf-8")(errors)
    def push(self, ids) -> str:
        return self._utf8.decode(self.tokenizer.decode_bytes(ids))  # complete characters only
    def flush(self) -> str:
        return self._utf8.decode(b"", final=True)  # whatever is left, replaced if incomplete

class TokenizerBase:
    "What the BPE and character tokenizers share: special tokens and their policies, decoding."
    def __init__(self, special_tokens:dict|list|None=None):
        self.special_tokens, self._special_spec = {}, {}  # name -> id; name -> id asked for (None: next free)
        self._reset()
        if special_tokens:
            self.add_special_tokens(special_tokens)

    def _reset(self):
        "Rebuild the id -> bytes table and clear the caches after the vocabulary changed."
        self._id_bytes = {**self._tokens, **{i: s.encode("utf-8") for s, i in self.special_tokens.items()}}
        self._cache, self._encoder, self._fingerprint = {}, None, None

    @property
    def vocab_size(self) -> int:
        return max(self._id_bytes, default=-1) + 1  # max id + 1, special tokens included
    @property
    def eot_id(self) -> int|None:
        return self.special_tokens.get(ENDOFTEXT)
    @property
    def encoder(self) -> dict[str, int]:
        "Token string -> id, special tokens included (the contents of `encoder.json`)."
        if self._encoder is None:
            self._encoder = {**self._learned_encoder(), **self.special_tokens}
        return self._encoder

    @property
    def fingerprint(self) -> str:
        "sha256 of all that decides the ids (tokens and their ids, merges, pattern): the tokenizer's identity."
        if self._fingerprint is None:
            state = {"type": type(self).__name__, "encoder": sorted(self.encoder.items(), key=lambda kv: kv[1]),
                     "merges": [f"{token_to_str(a)} {token_to_str(b)}" for a, b in getattr(self, "merges", [])],
                     "pattern": getattr(self, "pattern", None)}
            self._fingerprint = hashlib.sha256(json.dumps(state, ensure_ascii=False).encode("utf-8")).hexdigest()
        return self._fingerprint

    def add_special_tokens(self, tokens:dict|list):
        "Add special tokens: a list gets the next free ids, a dict gives explicit ids."
        for name, idx in (tokens.items() if isinstance(tokens, dict) else [(t, None) for t in tokens]):
            self._special_spec[name] = idx
            self._add_special(name, self.vocab_size if idx is None else idx)

    def _add_special(self, name:str, idx:int):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a special token must be a non-empty string, not {name!r}")
        if not isinstance(idx, int) or idx < 0:
            raise ValueError(f"special token {name!r}: its id must be an int >= 0, not {idx!r}")
        if idx in self._tokens:
            raise ValueError(f"special token {name!r} has id {idx}, which the learned vocabulary uses (ids "
                             f"0..{len(self._tokens) - 1}); give it an id >= {len(self._tokens)}")
        if name in self._learned_encoder():
            raise ValueError(f"special token {name!r} has the same text as a learned token; choose another name")
        if (other := next((s for s, i in self.special_tokens.items() if i == idx and s != name), None)):
            raise ValueError(f"special tokens {other!r} and {name!r} both have id {idx}")
        self.special_tokens[name] = idx
        self._reset()

    def encode(self, text:str, # text to encode (your own: for text from outside, use `encode_ordinary`)
               allowed_special:set|str|None=None, # tiktoken's policy: special tokens to recognise, a set or "all"
               disallowed_special:set|str|None=None, # tiktoken's policy: special-token text that is an error
              ) -> list[int]:
        "Encode `text`: special-token text becomes its id, unless tiktoken's policy is asked for."
        if allowed_special is None and disallowed_special is None:
            allowed = set(self.special_tokens)  # the default, as in Hugging Face's encode: every special token
        else:
            allowed = self._tiktoken_policy(text, frozenset() if allowed_special is None else allowed_special,
                                            "all" if disallowed_special is None else disallowed_special)
        return self._encode_with_specials(_replace_surrogates(text), allowed)

    def _tiktoken_policy(self, text:str, allowed_special:set|str, disallowed_special:set|str) -> set:
        "The special tokens to recognise, by tiktoken's rules; an error if `text` holds disallowed special-token text."
        allowed = set(self.special_tokens) if allowed_special == "all" else set(allowed_special)
        if unknown := allowed - set(self.special_tokens):
            raise ValueError(f"allowed_special names {sorted(unknown)}, which are not special tokens here; these are: "
                             f"{sorted(self.special_tokens)}")
        disallowed = set(self.special_tokens) - allowed if disallowed_special == "all" else set(disallowed_special)
        if disallowed and (m := special_tokens_regex(frozenset(disallowed)).search(text)):
            raise ValueError(f"the text contains the special token {m.group()!r} (at character {m.start()}); pass "
                             f"allowed_special={{{m.group()!r}}} to encode it as its special id, "
                             "or disallowed_special=() to encode it as ordinary text")
        return allowed

    def _encode_with_specials(self, text:str, allowed:set) -> list[int]:
        if not allowed:
            return self.encode_ordinary(text)
        ids = []
        for i, part in enumerate(special_tokens_regex(frozenset(allowed)).split(text)):
            if i % 2:
                ids.append(self.special_tokens[part])
            elif part:
                ids += self.encode_ordinary(part)
        return ids

    def encode_chunks(self, text, # a text, or its pieces in order
                     ) -> Iterator[list[int]]:
        "Encode like `encode_ordinary`, yielding the ids of each piece (a character tokenizer reads no context)."
        for piece in ([text] if isinstance(text, str) else text):
            yield self.encode_ordinary(piece)

    def encode_batch(self, texts:list[str], **kwargs) -> list[list[int]]:
        "Encode each text (keyword arguments as for `encode`)."
        return [self.encode(t, **kwargs) for t in texts]

    def decode_bytes(self, ids) -> bytes:
        "The bytes of `ids` (an int, a list, or an array/tensor of ints)."
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        try:
            return b"".join([self._id_bytes[i] for i in ids])
        except KeyError as e:
            raise ValueError(f"id {e.args[0]!r} is not in the vocabulary (vocab_size {self.vocab_size})") from None

    def decode(self, ids, # token ids
               errors:str="replace", # for bytes that are not valid UTF-8: "replace" (with U+FFFD) or "strict" (raise)
              ) -> str:
        "Decode ids to text."
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def incremental_decoder(self, errors:str="replace") -> IncrementalDecoder:
        "A decoder for a stream of ids: `push(ids)` returns only complete characters, `flush()` the rest."
        return IncrementalDecoder(self, errors)

    def _meta(self, kind:str, **extra) -> dict:
        return {"format": "picaboo-tokenizer", "format_version": FORMAT_VERSION, "type": kind,
                "picaboo_version": __version__, "special_tokens": self.special_tokens,
                "vocab_size": self.vocab_size, **extra}

    def _load_specials(self, meta:dict, encoder:dict, path:Path):
        for name, idx in meta.get("special_tokens", {}).items():
            if encoder.get(name) != idx:
                raise ValueError(f"{path}: special token {name!r} should have id {idx} (as in {META_FILE}) but has "
                                 f"{encoder.get(name)}")
            self._special_spec[name] = idx
            self._add_special(name, idx)

# %% ../nbs/03_tokenizer.ipynb #c051e47b
def _read_encoder(path:Path) -> dict[str, int]:
    encoder = _read_json(path)
    if not isinstance(encoder, dict) or not all(isinstance(k, str) and type(v) is int for k, v in encoder.items()):
        raise ValueError(f"{path}: expected a JSON object mapping each token (a string) to its id (an int)")
    if len(set(encoder.values())) != len(encoder):
        dup = Counter(encoder.values()).most_common(1)[0][0]
        raise ValueError(f"{path}: id {dup} is given to several tokens: {[k for k, v in encoder.items() if v == dup]}")
    return encoder

def _read_merges(path:Path, encoder:dict[str, int]) -> list[tuple[bytes, bytes]]:
    "The merges of a `merges.bpe`/`vocab.bpe` file, each checked against `encoder`."
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (the merges: merges.bpe, or GPT-2's vocab.bpe)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 (byte {e.start})") from None
    merges = []
    for n, line in enumerate(lines, 1):
        if (n == 1 and line.startswith("#version")) or not line.strip():
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{path} line {n}: expected two tokens separated by one space, got {line!r}")
        for part in (*parts, parts[0] + parts[1]):
            if part not in encoder:
                raise ValueError(f"{path} line {n}: the merge {line!r} needs the token {part!r}, which is not in "
                                 "encoder.json")
        try:
            merges.append((str_to_token(parts[0]), str_to_token(parts[1])))
        except KeyError as e:
            raise ValueError(f"{path} line {n}: {e.args[0]!r} is not a character of GPT-2's byte alphabet") from None
    return merges

def _learned_ranks(encoder:dict[str, int], specials:dict[str, int], path:Path) -> dict[bytes, int]:
    "Token bytes -> id for the non-special tokens of `encoder`, checking that all 256 bytes are there."
    ranks = {}
    for s, i in encoder.items():
        if s in specials:
            continue
        try:
            ranks[str_to_token(s)] = i
        except KeyError:
            raise ValueError(f"{path}: the token {s!r} (id {i}) has characters outside GPT-2's byte alphabet; if it "
                             f"is a special token, list it in {META_FILE}") from None
    if missing := [b for b in range(256) if bytes([b]) not in ranks]:
        raise ValueError(f"{path}: {len(missing)} of the 256 byte tokens are missing, e.g. "
                         f"{token_to_str(bytes(missing[:1]))!r} (byte {missing[0]})")
    return ranks