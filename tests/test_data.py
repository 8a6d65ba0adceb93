"""picaboo.data, picaboo.readers and picaboo.batches beyond the notebooks: the shipped sample files, the default corpus in a
fresh cache, the `picaboo data` command, token files and the sampler."""
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from picaboo import batches, data, readers
from picaboo.cli import main

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


MODELS = Path(__file__).resolve().parents[1] / "models"


def test_sample_epub_reads_back_as_the_sample_text():
    text = readers.read_text_file(DATASETS / "sample.txt")
    assert 2_000 < len(text) < 20_000
    book = readers.read_epub(DATASETS / "sample.epub")
    assert book == text.replace("# ", "").strip()
    assert [d.title for d in readers.load_documents(DATASETS)] == ["sample", "sample"]  # .epub and .txt, sorted


def test_write_epub_round_trip(tmp_path):
    text = "# One\n\nCaf\u00e9 & <b>bold</b> \u2014 \U0001F600 \u4e2d\u6587.\n\nTwo\nlines.\n\n# Two\n\nEnd."
    path = readers.write_epub(text, tmp_path / "book.epub", title="T")
    assert readers.read_epub(path) == text.replace("# ", "")
    assert zipfile.ZipFile(path).read("mimetype") == b"application/epub+zip"
    plain = "No headings here.\n\nJust two paragraphs."
    assert readers.read_epub(readers.write_epub(plain, tmp_path / "plain.epub", title="Plain")) == plain
    with pytest.raises(ValueError, match="text is empty"): readers.write_epub(" \n", tmp_path / "empty.epub", title="E")


def test_epub2_toc_page_in_the_guide_is_dropped(tmp_path):
    "EPUB 2 books put an HTML table of contents in the spine and name it in the guide: it is not text."
    from ebooklib import epub
    book = epub.EpubBook()
    book.set_identifier("x"); book.set_title("T"); book.set_language("en")
    toc = epub.EpubHtml(title="Contents", file_name="toc.xhtml"); toc.content = "<h1>Contents</h1><p>1. Start</p>"
    ch = epub.EpubHtml(title="Start", file_name="start.xhtml"); ch.content = "<h1>Start</h1><p>Text.</p>"
    for item in (toc, ch, epub.EpubNcx()): book.add_item(item)
    book.toc, book.spine = [ch], [toc, ch]
    book.guide = [{"href": "toc.xhtml", "title": "Contents", "type": "toc"}]
    epub.write_epub(str(tmp_path / "b.epub"), book)
    assert readers.read_epub(tmp_path / "b.epub") == "Start\n\nText."


def test_datasets_readme_names_every_source():
    readme = (DATASETS / "README.md").read_text(encoding="utf-8")
    for needle in ["pydoc_data", "sample.txt", "sample.epub", "tiny Shakespeare", "Gutenberg", "picaboo data"]:
        assert needle in readme, needle


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PICABOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_default_corpus_in_a_fresh_cache(cache, capsys):
    assert data.default_corpus_dir().is_relative_to(cache)
    assert main(["data", "corpus"]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((data.default_corpus_dir() / "manifest.json").read_text(encoding="utf-8"))
    assert str(data.default_corpus_dir()) in out and manifest["python"] == sys.version.split()[0]
    assert 0.8e6 < manifest["bytes"] < 2e6 and manifest["topics"] is True
    assert len(data.load_default_corpus().encode()) == manifest["bytes"]
    docs = readers.load_documents()  # None means the default corpus
    assert docs[0].source == "topics" and docs[-1].source == "docstring"


def test_cli_info(capsys):
    assert main(["data", "info", str(DATASETS / "sample.txt")]) == 0
    assert "1 documents" in capsys.readouterr().out
    assert main(["data", "info", str(DATASETS / "missing.txt")]) == 2
    assert capsys.readouterr().err.startswith("picaboo data: error: no such corpus")


def test_cli_encode_writes_train_and_val(tmp_path, capsys):
    from picaboo.tokenizer import load_tokenizer
    out = tmp_path / "tokens"
    assert main(["data", "encode", str(DATASETS / "sample.txt"), "--tokenizer", str(MODELS), "--out", str(out)]) == 0
    train, val = batches.load_bin(out / "train.bin"), batches.load_bin(out / "val.bin")
    text, tok = readers.read_text_file(DATASETS / "sample.txt"), load_tokenizer(MODELS)
    assert tok.decode(train[:-1]) + tok.decode(val[:-1]) == text  # one end-of-text after each part (tail split)
    meta = json.loads((out / "train.json").read_text())
    assert meta["split"] == "tail" and meta["tokenizer_dir"] == str(MODELS) and meta["dtype"] == "uint16"
    assert "train.bin" in capsys.readouterr().out


def test_split_corpus_is_the_one_rule():
    docs = [data.Document(f"d{i}", f"text {i}", "test") for i in range(12)]
    train, val, split = batches.split_corpus(docs, 0.25, seed=3)
    assert split == "documents" and (train, val) == batches.split_documents(docs, 0.25, 3)
    train, val, split = batches.split_corpus(docs[:9], 0.25)
    assert split == "tail" and train[0] + val[0] == data.corpus_text(docs[:9])
    assert batches.split_corpus(docs[:9], 0.25, split="documents")[2] == "documents"
    with pytest.raises(ValueError, match="'documents' or 'tail'"):
        batches.split_corpus(docs, split="random")


def test_special_token_text_is_ordinary_text_in_token_files(tmp_path):
    "A document quoting <|endoftext|> stays text (encode() would make it the special id); only the separators are end-of-text ids."
    from picaboo.tokenizer import ENDOFTEXT, CharTokenizer, Tokenizer
    docs = [f"GPT-2 ends documents with {ENDOFTEXT}, a special token.", "Another document, plain."]
    for tok in (Tokenizer([ENDOFTEXT]), CharTokenizer([ENDOFTEXT])):
        text = "\n\n".join(docs) * 3 + " ".join(ENDOFTEXT)  # training skips special tokens' text: give its characters apart too
        tok.train(text, **({"num_merges": 20} if isinstance(tok, Tokenizer) else {}))
        assert tok.eot_id in tok.encode(docs[0])  # what encode_to_bin must avoid
        ids = batches.load_bin(batches.encode_to_bin(docs, tok, tmp_path / f"{type(tok).__name__}.bin")).tolist()
        n_first = len(tok.encode_ordinary(docs[0]))
        assert [i for i, t in enumerate(ids) if t == tok.eot_id] == [n_first, len(ids) - 1]
        assert tok.decode(ids[:n_first]) == docs[0]


def test_sampler_over_a_bin_file(tmp_path):
    from picaboo.tokenizer import Tokenizer
    tok = Tokenizer.load(MODELS)
    path = batches.encode_to_bin((f"doc {i} " * 50 for i in range(100)), tok, tmp_path / "c.bin", chunk_size=1000)
    sampler = batches.RandomWindowSampler(path, batch_size=3, context_length=16, seed=5)
    state = sampler.state_dict()
    torch.save(state, tmp_path / "state.pt")  # goes into a checkpoint
    drawn = [next(sampler) for _ in range(4)]
    fresh = batches.RandomWindowSampler(np.asarray(batches.load_bin(path)), 3, 16)
    fresh.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    for (x, y), (fx, fy) in zip(drawn, [next(fresh) for _ in range(4)]):
        assert torch.equal(x, fx) and torch.equal(y, fy) and x.is_contiguous() and y.is_contiguous()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sampler_on_cuda():
    sampler = batches.RandomWindowSampler(np.arange(1000, dtype=np.uint16), 4, 8, device="cuda")
    x, y = next(sampler)
    assert x.is_cuda and y.is_cuda and torch.equal(y.cpu(), x.cpu() + 1)


def test_default_corpus_is_the_same_in_any_process(tmp_path):
    "Libraries that patch stdlib classes (fastcore patches pathlib.Path) must not change the corpus."
    import subprocess
    import fastcore.xtras  # noqa: F401  (patches Path with extra methods in this process)
    here = json.loads((data.build_default_corpus(tmp_path / "here") / "manifest.json").read_text())["sha256"]
    code = f"from picaboo import data; print(data.build_default_corpus({str(tmp_path / 'fresh')!r}))"
    fresh = Path(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip())
    assert json.loads((fresh / "manifest.json").read_text())["sha256"] == here


def test_cli_encode_streams_one_file_with_the_same_ids(tmp_path, capsys):
    "One text file is read, split at its tail and encoded a piece at a time: the ids are those of the whole text."
    from picaboo.tokenizer import load_tokenizer
    tok, text = load_tokenizer(MODELS), readers.read_text_file(DATASETS / "sample.txt")
    big = tmp_path / "big.txt"
    big.write_bytes(("\r\n\ufeff" + text + "\n\n").encode("utf-8") * 3)  # CRLF, a BOM inside, and three copies
    assert main(["data", "encode", str(big), "--tokenizer", str(MODELS), "--out", str(tmp_path / "out")]) == 0
    train_text, val_text = batches.split_tail(readers.read_text_file(big), 0.1)
    for name, part in (("train", train_text), ("val", val_text)):
        expected = batches.encode_to_bin([part], tok, tmp_path / f"{name}.bin")
        assert batches.load_bin(tmp_path / "out" / f"{name}.bin").tolist() == batches.load_bin(expected).tolist()
    capsys.readouterr()


@pytest.mark.parametrize("piece_size", [1, 2, 5, 1 << 20])
def test_read_text_pieces_equal_read_text_file(tmp_path, piece_size):
    path = tmp_path / "t.txt"
    text = "\ufeffa\r\nb\rc\n\r\n\u00e9\U0001F600 \r"
    path.write_bytes(text.encode("utf-8"))
    expected = text[1:].replace("\r\n", "\n").replace("\r", "\n")
    assert "".join(readers.read_text_pieces(path, piece_size=piece_size)) == expected == readers.read_text_file(path)
    path.write_bytes(b"first line\nun caf\xe9\n")
    with pytest.raises(ValueError, match=r"byte 0xe9 at offset 17 \(line 2\).*--encoding latin-1"):
        list(readers.read_text_pieces(path, piece_size=piece_size))
    assert "".join(readers.read_text_pieces(path, "latin-1", piece_size)) == "first line\nun café\n"


def test_token_files_know_their_tokenizer(tmp_path):
    from picaboo.tokenizer import ENDOFTEXT, Tokenizer, load_tokenizer
    book, other = load_tokenizer(MODELS), Tokenizer([ENDOFTEXT])
    path = batches.encode_to_bin(["some text"], book, tmp_path / "t.bin")
    assert json.loads(batches.meta_path(path).read_text())["tokenizer_sha256"] == book.fingerprint
    assert batches.load_bin(path, tokenizer=load_tokenizer(MODELS)).tolist() == book.encode("some text") + [book.eot_id]
    with pytest.raises(ValueError, match="encoded by another tokenizer") as e:
        batches.load_bin(path, tokenizer=other)
    assert len(str(e.value).splitlines()) == 1


def test_cli_encoding_flag(tmp_path, capsys):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("un café au lait, s'il vous plaît; déjà vu, à la carte, même fête\n".encode("latin-1") * 50)
    assert main(["tokenizer", "train", str(latin), "--vocab-size", "270", "--out", str(tmp_path / "tok")]) == 2
    assert "--encoding latin-1" in capsys.readouterr().err
    assert main(["tokenizer", "train", str(latin), "--encoding", "latin-1", "--vocab-size", "270",
                 "--out", str(tmp_path / "tok")]) == 0
    assert main(["data", "encode", str(latin), "--encoding", "latin-1", "--tokenizer", str(tmp_path / "tok"),
                 "--out", str(tmp_path / "bins")]) == 0
    assert "train.bin" in capsys.readouterr().out
