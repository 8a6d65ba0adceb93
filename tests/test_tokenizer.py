"""Tests of picaboo.bpe and picaboo.tokenizer that are too long for the notebooks: many property-test examples,
GPT-2 against tiktoken, the command line in a subprocess, and every bad-file error."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from picaboo.bpe import GPT2_SPLIT_PATTERN, _cut_gpt2_safe, count_words, train_bpe, train_bpe_naive
from picaboo.data import load_default_corpus
from picaboo.tokenizer import ENDOFTEXT, META_FILE, CharTokenizer, Tokenizer, load_tokenizer

import regex

ROOT = Path(__file__).resolve().parents[1]
GPT2_DIR = os.environ.get("PICABOO_GPT2_DIR")
needs_gpt2 = pytest.mark.skipif(not GPT2_DIR, reason="set PICABOO_GPT2_DIR to a folder with GPT-2's encoder.json and vocab.bpe")

TROUBLEMAKERS = ["a", "b", "ab", " ", "   ", "\n", "\r\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "é", "e\u0301",
                 "字", "한국어", "👋", "👩\u200d👩\u200d👧", "🇫🇷", "\ufeff", "'s", "'S", "'ll", "42", "1234567", "!!", "--",
                 "<|endoftext|>", "<|endoftext|", "\U0010ffff", "ﬁ", "Ω"]
TEXTS = st.one_of(st.text(), st.lists(st.sampled_from(TROUBLEMAKERS)).map("".join))
FEW = settings(max_examples=60, deadline=None, database=None)
MANY = settings(max_examples=200, deadline=None, database=None)


@pytest.fixture(scope="module")
def corpus(): return load_default_corpus()

@pytest.fixture(scope="module")
def book(): return Tokenizer.load(ROOT / "models")

@pytest.fixture(scope="module")
def small(corpus):
    tok = Tokenizer([ENDOFTEXT, "<|user|>"])
    tok.train(corpus[:200_000], vocab_size=600)
    return tok


# --- the book's tokenizer in models/ ---------------------------------------------------------------------

def test_models_folder(book):
    assert book.vocab_size == 2048 and book.eot_id == 2047 and len(book.encoder) == 2048
    assert book.pattern == GPT2_SPLIT_PATTERN and isinstance(load_tokenizer(ROOT / "models"), Tokenizer)
    readme = (ROOT / "models" / "README.md").read_text(encoding="utf-8")
    assert "picaboo tokenizer train --vocab-size 2048 --out models" in readme


# --- exactness ----------------------------------------------------------------------------------------------

@MANY
@given(TEXTS)
def test_round_trip(book, small, s):
    for tok in (book, small):
        assert tok.decode(tok.encode(s, disallowed_special=())) == s
        assert tok.decode(tok.encode(s, allowed_special="all")) == s

@MANY
@given(TEXTS)
def test_incremental_decoder_streams_exactly(book, s):
    stream = book.incremental_decoder()
    out = "".join(stream.push(i) for i in book.encode(s, disallowed_special=())) + stream.flush()
    assert out == s

@FEW
@given(TEXTS)
def test_to_tiktoken_identical(small, s):
    enc = small.to_tiktoken()
    assert enc.encode(s, allowed_special="all") == small.encode(s, allowed_special="all")
    assert enc.encode_ordinary(s) == small.encode_ordinary(s)

def test_to_tiktoken_on_corpus(book, corpus):
    assert book.to_tiktoken().encode_ordinary(corpus) == book.encode_ordinary(corpus)

def test_lone_surrogates_replaced_like_tiktoken(book):
    s = "a\ud800b"
    assert book.encode(s) == book.to_tiktoken().encode(s) == book.encode("a\ufffdb")

def test_decode_accepts_arrays_and_tensors(book):
    ids = book.encode("hello world")
    assert book.decode(np.array(ids)) == book.decode(torch.tensor(ids)) == book.decode(ids) == "hello world"
    assert book.encode_batch(["a b", "c"]) == [book.encode("a b"), book.encode("c")]
    with pytest.raises(ValueError, match="not in the vocabulary"): book.decode([5000])
    with pytest.raises(UnicodeDecodeError): book.decode(book.encode("👋")[:1], errors="strict")


# --- GPT-2 against tiktoken --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gpt2_pair():
    if not GPT2_DIR: pytest.skip("set PICABOO_GPT2_DIR to a folder with GPT-2's encoder.json and vocab.bpe")
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the local files, cache nothing
    ranks = data_gym_to_mergeable_bpe_ranks(f"{GPT2_DIR}/vocab.bpe", f"{GPT2_DIR}/encoder.json")
    reference = tiktoken.Encoding(name="gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                                  special_tokens={ENDOFTEXT: 50256}, explicit_n_vocab=50257)
    return Tokenizer.load(GPT2_DIR), reference

@needs_gpt2
def test_gpt2_loads(gpt2_pair):
    gpt2, reference = gpt2_pair
    assert gpt2.vocab_size == 50257 and gpt2.special_tokens == {ENDOFTEXT: 50256} and len(gpt2.merges) == 50000
    assert gpt2.ranks == reference._mergeable_ranks

@needs_gpt2
def test_gpt2_matches_tiktoken_on_corpus(gpt2_pair, corpus):
    gpt2, reference = gpt2_pair
    text = corpus + "<|endoftext|>" + "".join(TROUBLEMAKERS)
    assert gpt2.encode(text, allowed_special="all") == reference.encode(text, allowed_special="all")
    assert gpt2.encode(text, disallowed_special=()) == reference.encode(text, disallowed_special=())

@needs_gpt2
@MANY
@given(TEXTS)
def test_gpt2_matches_tiktoken_property(gpt2_pair, s):
    gpt2, reference = gpt2_pair
    assert gpt2.encode(s, allowed_special="all") == reference.encode(s, allowed_special="all")
    assert gpt2.decode(gpt2.encode(s, disallowed_special=())) == s

@needs_gpt2
def test_gpt2_special_policy_like_tiktoken(gpt2_pair):
    gpt2, reference = gpt2_pair
    with pytest.raises(ValueError): reference.encode("x<|endoftext|>")
    with pytest.raises(ValueError, match="allowed_special"):
        gpt2.encode("x<|endoftext|>", allowed_special=set())

@needs_gpt2
def test_gpt2_saved_and_reloaded(gpt2_pair, tmp_path):
    gpt2, _ = gpt2_pair
    gpt2.save(tmp_path)
    again = Tokenizer.load(tmp_path)
    assert again.encoder == gpt2.encoder and again.merges == gpt2.merges and again.special_tokens == gpt2.special_tokens


# --- the trainer ---------------------------------------------------------------------------------------------

@FEW
@given(st.lists(st.sampled_from(["a", "b", "c", "ab", " ", "  ", "\n", "é", "字", "!", "1"]), max_size=60).map("".join),
       st.integers(256, 300))
def test_fast_trainer_equals_naive(text, num_tokens):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_bpe(count_words(text), num_tokens)[0] == train_bpe_naive(text, num_tokens, GPT2_SPLIT_PATTERN)

def test_fast_trainer_equals_naive_on_corpus(corpus):
    text = corpus[100_000:115_000]
    assert train_bpe(count_words(text), 256 + 100)[0] == train_bpe_naive(text, 256 + 100, GPT2_SPLIT_PATTERN)

@MANY
@given(st.lists(st.sampled_from(TROUBLEMAKERS + ["x\n", " \n", "\n\n", ".\n"]), max_size=80).map("".join), st.integers(1, 20))
def test_parallel_chunks_cut_where_the_pattern_cuts(text, size):
    pieces = _cut_gpt2_safe(text, size)
    assert "".join(pieces) == text
    assert [w for p in pieces for w in regex.findall(GPT2_SPLIT_PATTERN, p)] == regex.findall(GPT2_SPLIT_PATTERN, text)

def test_parallel_count_words(corpus):
    text = corpus[:300_000] + ENDOFTEXT + corpus[300_000:400_000]
    assert count_words(text, special_tokens=[ENDOFTEXT], workers=2, chunk_size=40_000) == count_words(text, special_tokens=[ENDOFTEXT], workers=1)

def test_training_is_deterministic(corpus):
    a, b = Tokenizer([ENDOFTEXT]), Tokenizer([ENDOFTEXT])
    assert a.train(corpus[:100_000], vocab_size=500) == b.train(corpus[:100_000], vocab_size=500)
    assert a.encoder == b.encoder

def test_stand_tall_with_the_shipped_tokenizer():
    tok = Tokenizer.load(Path(__file__).resolve().parents[1] / "models")
    ids = tok.encode("stand tall!<|endoftext|>")
    assert ids[-1] == tok.eot_id and tok.decode(ids) == "stand tall!<|endoftext|>"
    assert tok.eot_id not in tok.encode_ordinary("stand tall!<|endoftext|>")

def test_seed_api(corpus):
    tok = Tokenizer(special_tokens={ENDOFTEXT: 100257})
    merges, token_counts = tok.train(text=corpus[:50_000], num_merges=100)
    assert len(tok.encoder) == 357 and tok.vocab_size == 100258 and len(merges) == len(token_counts) >= 100
    assert tok.encode("stand tall!<|endoftext|>", allowed_special={ENDOFTEXT})[-1] == 100257

def test_early_stop_warns():
    with pytest.warns(UserWarning, match="allows only"): Tokenizer().train("abab", vocab_size=10_000)

def test_special_tokens_in_training_text_are_not_learned():
    tok = Tokenizer([ENDOFTEXT])
    tok.train(("hello<|endoftext|>" * 50), vocab_size=300)
    assert not any(b"<|" in t or b"|>" in t for t in tok.ranks if len(t) > 1)


# --- special tokens ---------------------------------------------------------------------------------------

def test_add_special_tokens(small, tmp_path):
    tok = Tokenizer.load(small.save(tmp_path / "a"))
    tok.add_special_tokens(["<|assistant|>"])
    assert tok.special_tokens["<|assistant|>"] == small.vocab_size
    tok.add_special_tokens({"<|system|>": 1000})
    again = Tokenizer.load(tok.save(tmp_path / "b"))
    assert again.special_tokens == tok.special_tokens and again.vocab_size == 1001
    msg = "hi <|assistant|> there"
    assert again.encode(msg).count(tok.special_tokens["<|assistant|>"]) == 1  # encode recognises special tokens
    assert tok.special_tokens["<|assistant|>"] not in again.encode_ordinary(msg)  # encode_ordinary never does
    with pytest.raises(ValueError, match="allowed_special"):
        again.encode(msg, allowed_special=set())  # tiktoken's policy, when asked for
    assert tok.special_tokens["<|assistant|>"] not in again.encode(msg, disallowed_special=())
    assert again.encode(msg, allowed_special={"<|assistant|>"}).count(tok.special_tokens["<|assistant|>"]) == 1
    with pytest.raises(ValueError, match="not special tokens"): again.encode("x", allowed_special={"<|nope|>"})


# --- errors -------------------------------------------------------------------------------------------------

@pytest.fixture
def saved(small, tmp_path): return small.save(tmp_path / "tok")

def rewrite(path, fn): path.write_text(fn(path.read_text(encoding="utf-8")), encoding="utf-8")

def test_missing_files(saved, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such tokenizer folder"): Tokenizer.load(tmp_path / "nope")
    (saved / "merges.bpe").unlink()
    with pytest.raises(FileNotFoundError, match="merges.bpe"): Tokenizer.load(saved)
    (saved / "encoder.json").unlink()
    with pytest.raises(FileNotFoundError, match="encoder.json"): Tokenizer.load(saved)

def test_corrupt_encoder(saved):
    rewrite(saved / "encoder.json", lambda s: s[: len(s) // 2])
    with pytest.raises(ValueError, match=r"encoder.json: not valid JSON, line \d+ column \d+"): Tokenizer.load(saved)
    (saved / "encoder.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"): Tokenizer.load(saved)
    (saved / "encoder.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValueError, match="not UTF-8"): Tokenizer.load(saved)

def test_encoder_missing_a_byte(saved):
    rewrite(saved / "encoder.json", lambda s: json.dumps({k: v for k, v in json.loads(s).items() if k != "Ā"}))
    with pytest.raises(ValueError, match="byte tokens are missing"): Tokenizer.load(saved)

def test_bad_merge_lines(saved):
    lines = (saved / "merges.bpe").read_text(encoding="utf-8").splitlines()
    for bad, match in [("Ġt", "line 3: expected two tokens"), ("a  b", "line 3: expected two tokens"),
                       ("Ġt zzqq", "line 3: the merge 'Ġt zzqq' needs the token 'zzqq'"),
                       ("Ġ Ġ Ġ", "line 3: expected two tokens")]:
        (saved / "merges.bpe").write_text("\n".join(lines[:2] + [bad] + lines[3:]) + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match=match): Tokenizer.load(saved)

def test_meta_errors(saved):
    rewrite(saved / META_FILE, lambda s: s.replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ValueError, match="newer than this picaboo"): Tokenizer.load(saved)
    rewrite(saved / META_FILE, lambda s: s.replace('"format_version": 99', '"format_version": 1').replace('"type": "bpe"', '"type": "char"'))
    with pytest.raises(ValueError, match="load_tokenizer"): Tokenizer.load(saved)

def test_training_errors():
    with pytest.raises(ValueError, match="empty text"): Tokenizer().train("", vocab_size=300)
    with pytest.raises(ValueError, match="257 at least"): Tokenizer([ENDOFTEXT]).train("abc", vocab_size=256)
    with pytest.raises(ValueError, match="exactly one"): Tokenizer().train("abc")
    with pytest.raises(ValueError, match="num_merges must be >= 0"): Tokenizer().train("abc", num_merges=-1)

def test_special_collisions(small):
    with pytest.raises(ValueError, match="learned vocabulary uses"): small.add_special_tokens({"<|x|>": 3})
    with pytest.raises(ValueError, match="same text as a learned token"): small.add_special_tokens(["e"])
    with pytest.raises(ValueError, match="both have id"): small.add_special_tokens({"<|x|>": small.eot_id})
    with pytest.raises(ValueError, match="fall among the 399 learned ids"): Tokenizer({ENDOFTEXT: 300}).train("ab " * 500, vocab_size=400)


# --- the character tokenizer ----------------------------------------------------------------------------------

@FEW
@given(st.text(min_size=1))
def test_char_tokenizer_round_trip(s):
    tok = CharTokenizer([ENDOFTEXT])
    tok.train(s)
    assert tok.decode(tok.encode(s, disallowed_special=())) == s

def test_char_tokenizer_save_load_and_errors(tmp_path):
    tok = CharTokenizer([ENDOFTEXT])
    chars, counts = tok.train("hello world<|endoftext|>hello")
    assert chars == sorted(set("hello world")) and tok.eot_id == len(chars)
    again = load_tokenizer(tok.save(tmp_path))
    assert isinstance(again, CharTokenizer) and again.encoder == tok.encoder
    assert again.encode("hello<|endoftext|>", allowed_special="all")[-1] == tok.eot_id
    with pytest.raises(ValueError, match="U\\+5B57"): again.encode("字")
    with pytest.raises(ValueError, match="no merges"): CharTokenizer().train("abc", num_merges=3)
    small = CharTokenizer(); small.train("aaabbc", vocab_size=2)
    assert small.chars == ["a", "b"]
    with pytest.raises(ValueError, match="holds a 'char' tokenizer"): Tokenizer.load(tmp_path)


# --- the command line --------------------------------------------------------------------------------------

def picaboo(*args, stdin="", capsys=None, monkeypatch=None):
    "Run `picaboo tokenizer ARGS` in this process; returns (status, stdout, stderr)."
    import argparse
    import io
    from picaboo.cli import run_command
    from picaboo.cli_tokenizer import add_cli
    parser = argparse.ArgumentParser(prog="picaboo")  # this chapter's subcommands only; the real command is tested below
    add_cli(parser.add_subparsers(dest="command"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = run_command(parser.parse_args(["tokenizer", *map(str, args)]))
    out = capsys.readouterr()
    return status, out.out, out.err

def test_cli_train_encode_decode(tmp_path, capsys, monkeypatch):
    run = lambda *a, stdin="": picaboo(*a, stdin=stdin, capsys=capsys, monkeypatch=monkeypatch)
    docs = tmp_path / "docs"; (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("the cat sat on the mat.\n" * 20, encoding="utf-8")
    (docs / "sub" / "b.txt").write_text("héllo wörld 👋\n" * 20, encoding="utf-8")
    status, out, err = run("train", docs, "--recursive", "--vocab-size", 270, "--out", tmp_path / "tok")
    assert status == 0 and "saved to" in out and (tmp_path / "tok" / "merges.bpe").is_file()
    status, ids, _ = run("encode", docs / "sub" / "b.txt", "--tokenizer", tmp_path / "tok")
    assert status == 0
    status, text, _ = run("decode", "--tokenizer", tmp_path / "tok", stdin=ids)
    assert status == 0 and text == "héllo wörld 👋\n" * 20
    status, _, err = run("encode", "--tokenizer", tmp_path / "tok", stdin="hi<|endoftext|>")
    assert status == 2 and "allowed_special" in err and len(err.strip().splitlines()) == 1
    status, out, _ = run("encode", "--tokenizer", tmp_path / "tok", "--allowed-special", "all", stdin="hi<|endoftext|>")
    assert status == 0 and out.split()[-1] == str(load_tokenizer(tmp_path / "tok").eot_id)
    status, out, _ = run("encode", "--tokenizer", tmp_path / "tok", "--special-as-text", stdin="hi<|endoftext|>")
    assert status == 0 and str(load_tokenizer(tmp_path / "tok").eot_id) not in out.split()

def test_cli_char_and_errors(tmp_path, capsys, monkeypatch):
    run = lambda *a, stdin="": picaboo(*a, stdin=stdin, capsys=capsys, monkeypatch=monkeypatch)
    (tmp_path / "t.txt").write_text("abcabc", encoding="utf-8")
    assert run("train", tmp_path / "t.txt", "--char", "--out", tmp_path / "c")[0] == 0
    assert isinstance(load_tokenizer(tmp_path / "c"), CharTokenizer)
    status, _, err = run("encode", tmp_path / "missing.txt", "--tokenizer", tmp_path / "c")
    assert status == 2 and "missing.txt" in err
    status, _, err = run("decode", "--tokenizer", tmp_path / "c", stdin="1 2 x\n")
    assert status == 2 and "line 1" in err
    status, _, err = run("encode", "--tokenizer", tmp_path / "nope", stdin="a")
    assert status == 2 and "nope" in err

def test_cli_in_a_real_process(tmp_path):
    "The installed command, end to end: decode a file of ids to standard output as UTF-8."
    tok = CharTokenizer(); tok.train("héllo 👋\n"); tok.save(tmp_path / "c")
    (tmp_path / "ids.txt").write_text(" ".join(map(str, tok.encode("héllo 👋\n"))) + "\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-c", "import sys; from picaboo.cli import main; sys.exit(main())", "tokenizer",
                        "decode", str(tmp_path / "ids.txt"), "--tokenizer", str(tmp_path / "c")],
                       capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert r.returncode == 0 and r.stdout == "héllo 👋\n", r.stderr


# --- streaming: chunks cut where the pattern cuts, for any pattern ----------------------------------------

PATTERNS = [GPT2_SPLIT_PATTERN, r"\s+|\S+", r"(?<=\s)\w+|\W|\w+", r"\w+$|\w{1,3}|\s", r"(a)|b|.", r"x*",
            r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""]

def cut_at(text, cuts):
    "`text` in pieces, cut at the (sorted, deduplicated) positions `cuts`."
    cuts = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]

@MANY
@given(TEXTS, st.lists(st.integers(0, 10_000), max_size=8), st.sampled_from(PATTERNS), st.integers(1, 40),
       st.booleans())
def test_iter_pretokens_equals_findall(text, cuts, pattern, chunk_size, specials):
    from picaboo.bpe import LOOKAHEAD_MARGIN, iter_pretokens, split_at_specials
    special_tokens = (ENDOFTEXT, "<|user|>") if specials else ()
    expected = [m.group() for part in split_at_specials(text, special_tokens) for m in regex.finditer(pattern, part)]
    streamed = [w for chunk in iter_pretokens(cut_at(text, cuts), pattern, special_tokens, chunk_size) for w in chunk]
    assert streamed == expected and LOOKAHEAD_MARGIN >= 256

def test_iter_pretokens_on_the_corpus_in_small_chunks(corpus):
    from picaboo.bpe import iter_pretokens
    text = corpus[:200_000]
    for pattern in PATTERNS[:4]:
        pieces = [text[i:i + 9999] for i in range(0, len(text), 9999)]
        assert [w for c in iter_pretokens(pieces, pattern, chunk_size=3000) for w in c] == regex.findall(pattern, text)

@FEW
@given(TEXTS, st.lists(st.integers(0, 10_000), max_size=8))
def test_encode_chunks_equal_encode_ordinary(book, text, cuts):
    streamed = [i for ids in book.encode_chunks(cut_at(text, cuts), chunk_size=7) for i in ids]
    assert streamed == book.encode_ordinary(text) == book.to_tiktoken().encode_ordinary(text)

def test_long_text_encoded_in_chunks(book, corpus):
    text = corpus * 2  # over a megabyte: encode_ordinary goes chunk by chunk
    assert book.encode_ordinary(text) == book.to_tiktoken().encode_ordinary(text)

def test_training_on_pieces_learns_the_same_merges(corpus):
    text = corpus[:150_000] + ENDOFTEXT + corpus[150_000:300_000]
    whole, pieces = Tokenizer([ENDOFTEXT]), Tokenizer([ENDOFTEXT])
    assert whole.train(text, vocab_size=600) == pieces.train(iter(cut_at(text, range(7, len(text), 5003))), vocab_size=600)
    assert whole.encoder == pieces.encoder and whole.merges == pieces.merges
    with pytest.raises(ValueError, match="empty"): Tokenizer().train(iter([]), vocab_size=300)

def test_encode_ordinary_replaces_lone_surrogates(book):
    s = "a\ud800b \udfff"
    assert book.encode_ordinary(s) == book.encode(s) == book.to_tiktoken().encode_ordinary(s)
    assert book.decode(book.encode_ordinary(s)) == "a\ufffdb \ufffd"

def test_fingerprint(book, small, tmp_path):
    assert book.fingerprint == Tokenizer.load(ROOT / "models").fingerprint != small.fingerprint
    assert Tokenizer.load(small.save(tmp_path / "s")).fingerprint == small.fingerprint


# --- tokenizer files as others save them -----------------------------------------------------------------

VARIED = ["Hello world! 👋", "  indented\n\tcode = 1234567 + x", "l'été s'il vous plaît, it's", "字 한국어 🇫🇷",
          "trailing spaces   ", "\n\n\n", "<|endoftext|> and more", "e\u0301 ﬁ Ω \x00\x1b"]

def hf_byte_level_bpe(texts, vocab_size, split_pattern=None):
    "A byte-level BPE trained by Hugging Face `tokenizers` (ByteLevel alone, or after a Split regex)."
    from tokenizers import Regex, Tokenizer as HFTokenizer, decoders, models, pre_tokenizers, trainers
    hf = HFTokenizer(models.BPE())
    if split_pattern is None:
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        hf.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split_pattern), "isolated"),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[ENDOFTEXT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    hf.train_from_iterator(texts, trainer)
    return hf

@pytest.mark.parametrize("split_pattern", [None, PATTERNS[-1]])
def test_hf_tokenizer_json(corpus, tmp_path, split_pattern):
    hf = hf_byte_level_bpe([corpus[:300_000]], 800, split_pattern)
    hf.save(str(tmp_path / "tokenizer.json"))
    tok = Tokenizer.load(tmp_path)
    assert tok.special_tokens == {ENDOFTEXT: 0} and tok.vocab_size == hf.get_vocab_size() == 800
    assert tok.pattern == (split_pattern or GPT2_SPLIT_PATTERN) and isinstance(load_tokenizer(tmp_path), Tokenizer)
    for text in [*VARIED, corpus[-50_000:], "".join(TROUBLEMAKERS)]:
        assert tok.encode(text) == hf.encode(text).ids, text[:40]
        assert tok.decode(tok.encode(text)) == text
    saved = Tokenizer.load(tok.save(tmp_path / "picaboo"))  # and saved in picaboo's own format
    assert saved.encode(corpus[-20_000:]) == tok.encode(corpus[-20_000:]) and saved.fingerprint == tok.fingerprint

@FEW
@given(TEXTS)
def test_hf_tokenizer_json_property(hf_pair, s):
    tok, hf = hf_pair
    assert tok.encode(s, disallowed_special=()) == hf.encode(s, add_special_tokens=False).ids or ENDOFTEXT in s

@pytest.fixture(scope="module")
def hf_pair(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf")
    hf = hf_byte_level_bpe([corpus[:300_000]], 600)
    hf.save(str(folder / "tokenizer.json"))
    return Tokenizer.load(folder), hf

def test_hf_unsupported_refused_in_one_line(tmp_path):
    from tokenizers import Tokenizer as HFTokenizer, models, normalizers, pre_tokenizers, trainers
    wordpiece = HFTokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.Whitespace()
    wordpiece.train_from_iterator(["some words to learn"], trainers.WordPieceTrainer(vocab_size=50, show_progress=False))
    wordpiece.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(ValueError, match="'WordPiece' tokenizer model; picaboo reads byte-level BPE") as e:
        Tokenizer.load(tmp_path)
    assert len(str(e.value).splitlines()) == 1
    hf = hf_byte_level_bpe(["some words to learn"], 300)
    hf.normalizer = normalizers.NFKC()
    hf.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(ValueError, match="'NFKC' normalizer"): Tokenizer.load(tmp_path)
    hf = hf_byte_level_bpe(["some words to learn"], 300)
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    hf.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(ValueError, match="pre-tokenizer .* is not supported"): Tokenizer.load(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="no tokenizer files; picaboo reads"): Tokenizer.load(tmp_path)

def test_gpt2_names_of_hugging_face(book, tmp_path):
    "GPT-2's two files under Hugging Face's names: vocab.json (= encoder.json) and merges.txt (= vocab.bpe)."
    folder = book.save(tmp_path / "book")
    (folder / "encoder.json").rename(folder / "vocab.json")
    (folder / "merges.bpe").rename(folder / "merges.txt")
    (folder / META_FILE).unlink()
    hf_named = Tokenizer.load(folder)
    assert hf_named.encoder == book.encoder and hf_named.merges == book.merges and hf_named.fingerprint == book.fingerprint

@needs_gpt2
def test_gpt2_under_hugging_face_names(gpt2_pair, tmp_path, corpus):
    import shutil
    gpt2, reference = gpt2_pair
    shutil.copy(Path(GPT2_DIR) / "encoder.json", tmp_path / "vocab.json")
    shutil.copy(Path(GPT2_DIR) / "vocab.bpe", tmp_path / "merges.txt")
    hf_named = Tokenizer.load(tmp_path)
    assert hf_named.fingerprint == gpt2.fingerprint and hf_named.special_tokens == {ENDOFTEXT: 50256}
    text = corpus[:100_000] + "".join(TROUBLEMAKERS)
    assert hf_named.encode(text, disallowed_special=()) == reference.encode(text, disallowed_special=())
    from transformers import GPT2Tokenizer
    hf = GPT2Tokenizer.from_pretrained(tmp_path)  # transformers reads the same two files
    for s in VARIED + [corpus[:20_000]]:
        assert hf_named.encode(s) == hf(s)["input_ids"], s[:40]


def test_cli_train_streams_files_and_reads_stdin_once(tmp_path, capsys, monkeypatch, corpus):
    "Files are read a piece at a time (twice: training, then the token count), standard input once; blank files skipped."
    run = lambda *a, stdin="": picaboo(*a, stdin=stdin, capsys=capsys, monkeypatch=monkeypatch)
    docs = tmp_path / "docs"; docs.mkdir()
    (docs / "a.txt").write_text(corpus[:40_000], encoding="utf-8")
    (docs / "b.txt").write_text("  \n", encoding="utf-8")
    (docs / "c.txt").write_text("second\r\ndocument\n", encoding="utf-8")
    status, out, _ = run("train", "-", docs, "--vocab-size", 400, "--out", tmp_path / "tok", stdin=corpus[-30_000:])
    assert status == 0 and "bytes per token" in out
    expected = Tokenizer([ENDOFTEXT])
    expected.train("\n\n".join([corpus[-30_000:], corpus[:40_000], "second\ndocument\n"]), vocab_size=400)
    assert Tokenizer.load(tmp_path / "tok").merges == expected.merges
    n_bytes = len("\n\n".join([corpus[-30_000:], corpus[:40_000], "second\ndocument\n"]).encode("utf-8"))
    assert f"on {n_bytes:,} bytes" in out
    status, _, err = run("train", docs / "b.txt", "--out", tmp_path / "t2")
    assert status == 2 and "is empty" in err


def test_with_progress_yields_the_same_pieces(capsys):
    from picaboo.readers import with_progress
    pieces = ["ab", "cé", ""]
    assert list(with_progress(iter(pieces), 10, "x", min_total=1)) == pieces == list(with_progress(pieces, 10, "x"))
