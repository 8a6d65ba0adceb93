"""`picaboo eval` end to end: on each shipped model it recomputes the committed report card (models/*/report_card.json)
within stated margins; an empty or too short text file is one error line and exit status 2; an item too long for a
model's context is skipped and counted, not truncated."""
import json
import shlex
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CARDS = sorted((ROOT/"models").glob("*/report_card.json"))
BPB_MARGIN = 0.01  # bits per byte: deterministic (fp32, CPU, fixed windows); room for other BLAS and torch
KNOWLEDGE_MARGIN = 0.03  # centred accuracy: one item flipped by a near tie is 0.0067 on 200 items, 0.016 on 82
ANSWER_MARGIN = 0.05  # shares of 100 greedy answers: a near tie early in an answer can change the whole answer


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_eval(*argv) -> int:
    from picaboo.cli import main
    return main(["eval", *argv, "--no-progress"])


def test_every_shipped_model_has_a_card():
    models = sorted(p.parent for p in (ROOT/"models").glob("*/config.json"))
    assert models and [c.parent for c in CARDS] == models, "run `picaboo eval --ckpt NAME` for every model in models/"


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.name)
def test_the_committed_card_is_what_picaboo_eval_measures(card_path, tmp_path, capsys):
    card = json.loads(card_path.read_text(encoding="utf-8"))
    argv = shlex.split(card["command"])
    assert argv[:2] == ["picaboo", "eval"] and "--out" not in argv, card["command"]
    assert run_eval(*argv[2:], "--out", str(tmp_path)) == 0
    assert "card written to" in capsys.readouterr().out
    again = json.loads((tmp_path/"report_card.json").read_text(encoding="utf-8"))
    assert (tmp_path/"report_card.png").stat().st_size > 1000
    for part in ("bits_per_byte", "knowledge", "untrained"):
        assert part in again
    for got, want in ((again, card), (again["untrained"], card["untrained"])):
        bpb = want["bits_per_byte"]["bits_per_byte"]
        assert got["bits_per_byte"]["bits_per_byte"] == pytest.approx(bpb, abs=BPB_MARGIN)
        assert got["knowledge"]["skipped"] == want["knowledge"]["skipped"]
        for key, value in want["knowledge"]["by"].items():
            assert got["knowledge"]["by"][key]["items"] == value["items"], key
            assert got["knowledge"]["by"][key]["centred"] == pytest.approx(value["centred"], abs=KNOWLEDGE_MARGIN), key
    if isinstance(card["answers"], str):
        assert again["answers"] == card["answers"] == "not a chat model"
        return
    for split in ("val", "train"):
        for measure in ("first_sentence_match", "token_f1"):
            assert again["answers"][split][measure] == pytest.approx(card["answers"][split][measure], abs=ANSWER_MARGIN)
    assert again["answers"]["unknown_names"]["said_not_found"] == pytest.approx(
        card["answers"]["unknown_names"]["said_not_found"], abs=ANSWER_MARGIN)


@pytest.mark.parametrize("text", ["", "   \n", "Too short."], ids=["empty", "blank", "tiny"])
def test_an_empty_or_tiny_text_is_one_error_line_and_status_2(text, tmp_path, capsys):
    path = tmp_path/"text.txt"
    path.write_text(text, encoding="utf-8")
    assert run_eval("--ckpt", "picaboo-tiny", "--text", str(path), "--out", str(tmp_path), "--questions", "0") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"picaboo eval: error: --text {path} is "), err
    assert not (tmp_path/"report_card.json").exists()


def test_items_too_long_for_the_context_are_skipped_and_counted():
    from picaboo.evaluation import choice_logprobs, corpus_split, knowledge_items, score_knowledge
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.readers import load_documents
    from picaboo.loading import load_model_and_tokenizer
    _, tok = load_model_and_tokenizer("picaboo-tiny")
    torch.manual_seed(0)
    params = PicabooLMParams(vocab_size=tok.vocab_size, context_length=24, num_blocks=1, num_heads=2, d_model=16)
    short = PicabooLM(params)  # 24 tokens: some items fit, the longest do not
    items = knowledge_items(load_documents(None), {d.title for d in corpus_split()[1]}, per_split=(4, 2))
    result = score_knowledge(items, choice_logprobs(short, tok, [p for i in items for p in i["choices"]]))
    scored = sum(v["items"] for k, v in result["by"].items() if "/" not in k)
    assert 0 < result["skipped"] < len(items)
    assert scored + result["skipped"] == len(items)


def test_bits_per_byte_on_a_text_file(tmp_path, capsys):
    text = tmp_path/"text.txt"
    text.write_text((ROOT/"README.md").read_text(encoding="utf-8")[:4000], encoding="utf-8")
    assert run_eval("--ckpt", "picaboo-tiny", "--text", str(text), "--out", str(tmp_path), "--questions", "0") == 0
    card = json.loads((tmp_path/"report_card.json").read_text(encoding="utf-8"))
    assert card["command"] == f"picaboo eval --ckpt picaboo-tiny --text {text} --out {tmp_path} --questions 0"
    assert card["bits_per_byte"]["text"] == "the given text" and card["answers"] == "not measured"
    assert 0.5 < card["bits_per_byte"]["bits_per_byte"] < card["untrained"]["bits_per_byte"]["bits_per_byte"]
    assert "bits per byte, the given text" in capsys.readouterr().out


def test_models_readme_quotes_each_report_card():
    "models/README.md shows every shipped model's card exactly as `card_table` prints it (one source: the card)."
    import json

    from picaboo.data import shipped_dir
    from picaboo.evaluation import card_table

    readme = (shipped_dir() / "README.md").read_text(encoding="utf-8")
    cards = sorted(shipped_dir().glob("*/report_card.json"))
    assert cards, "no shipped report cards"
    for path in cards:
        table = card_table(json.loads(path.read_text(encoding="utf-8")))
        assert table in readme, f"models/README.md does not quote {path.parent.name}'s report card; paste:\n{table}"
