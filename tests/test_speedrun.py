"Speedrun corpora: tiny Shakespeare and any text file are raced by character, split as nanoGPT splits them."
import numpy as np
import pytest

import picaboo.speedrun as speedrun_module
from picaboo.speedrun import char_corpus, race_corpus
from picaboo.tokenizer import CharTokenizer

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n" * 50


def test_a_text_file_is_split_nine_tenths_to_train(tmp_path):
    path = tmp_path/"plays.txt"
    path.write_text(TEXT, encoding="utf-8")
    tokenizer, train, val_texts = char_corpus(path)
    cut = int(len(TEXT) * 0.9)
    assert isinstance(tokenizer, CharTokenizer) and tokenizer.vocab_size == len(set(TEXT))
    assert tokenizer.eot_id is None  # one text, nothing appended: one token per character
    assert isinstance(train, np.ndarray) and len(train) == cut
    assert tokenizer.decode(train.tolist()) == TEXT[:cut]
    assert val_texts == [TEXT[cut:]]


def test_shakespeare_comes_from_the_download(tmp_path, monkeypatch):
    path = tmp_path/"tiny_shakespeare.txt"
    path.write_text(TEXT, encoding="utf-8")
    monkeypatch.setattr(speedrun_module, "download_tiny_shakespeare", lambda: path)
    tokenizer, train, val_texts = race_corpus("shakespeare", tmp_path)
    assert tokenizer.vocab_size == len(set(TEXT)) and val_texts == [TEXT[int(len(TEXT) * 0.9):]]


def test_a_missing_text_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError):
        race_corpus(tmp_path/"missing.txt", tmp_path)
