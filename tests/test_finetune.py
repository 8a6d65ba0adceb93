"""`picaboo finetune` end to end, its errors, and the shipped chat model's card figure (chapter 12)."""
import json
import platform
from pathlib import Path

import pytest

from picaboo.chat import CHAT_TOKENS, chat_token_ids
from picaboo.cli import main
from picaboo.finetune import assistant_loss, chat_like, instruction_split, load_for_chat
from picaboo.loading import load_model_and_tokenizer

MODELS = Path(__file__).resolve().parent.parent/"models"
BASE, SHIPPED = MODELS/"picaboo-tiny", MODELS/"picaboo-tiny-chat"
MARGIN = 0.02  # nats per assistant token: fixed examples, fp32, CPU; repeats to ~1e-6 on the card's Python and torch


def test_finetune_end_to_end(tmp_path):
    out = tmp_path/"chat"
    assert main(["finetune", "--base", "picaboo-tiny", "--out", str(out), "--max-steps", "3",  # the base by name "--batch-size", "4",
                 "--eval-every", "3", "--seed", "1", "--no-progress"]) == 0
    model, tok = load_model_and_tokenizer(out)
    assert model.params.vocab_size == tok.vocab_size == 2052
    assert set(chat_token_ids(tok)) == set(CHAT_TOKENS) and all(t in tok.special_tokens for t in CHAT_TOKENS.values())
    card = json.loads((out/"card.json").read_text(encoding="utf-8"))
    assert card["training"]["steps"] == 3 and card["seed"] == 1 and "--max-steps 3" in card["command"]
    assert card["data"]["train"] > 1000 and card["data"]["val"] > 100 and len(card["answers"]) == 4
    assert card["tokenizer"]["vocab_size"] == 2052 and card["eval"]["val_loss"] > 0


def test_missing_base_is_one_clear_line(tmp_path, capsys):
    assert main(["finetune", "--base", str(tmp_path/"nope"), "--out", str(tmp_path/"out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no checkpoint at" in err and "nope" in err
    assert not (tmp_path/"out").exists()


def test_bad_flags(tmp_path, capsys):
    assert main(["finetune", "--base", str(BASE), "--out", str(tmp_path/"out"), "--max-steps", "0"]) == 2
    assert "--max-steps must be positive" in capsys.readouterr().err
    assert main(["finetune", "--base", str(BASE), "--out", str(tmp_path/"out"), "--max-time", "0"]) == 2
    assert "--max-time must be positive" in capsys.readouterr().err
    assert main(["finetune", "--base", "picaboo-tiny", "--out", str(BASE)]) == 2  # the base by name is still the base
    assert "is the base model's folder" in capsys.readouterr().err


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="models/picaboo-tiny-chat is not there")
def test_shipped_card_figure():
    from picaboo.cards import corpus_manifest
    card = json.loads((SHIPPED/"card.json").read_text(encoding="utf-8"))
    if corpus_manifest()["sha256"] != card["corpus"]["sha256"]:
        pytest.skip(f"this Python ({platform.python_version()}) builds another corpus than the card's "
                    f"(Python {card['corpus']['python']}): the questions differ")
    model, tok = load_model_and_tokenizer(SHIPPED)
    _, val, counts = instruction_split(tok, model.params.context_length, card["data_seed"])
    assert counts == card["data"]
    tuned = assistant_loss(model, tok, val)
    assert tuned["tokens"] == card["val_assistant_loss"]["tokens"]
    assert abs(tuned["loss"] - card["val_assistant_loss"]["tuned"]) < MARGIN, (tuned, card["val_assistant_loss"])
    base, base_tok = load_for_chat(BASE, card["seed"])
    untuned = assistant_loss(base, base_tok, val)["loss"]
    assert abs(untuned - card["val_assistant_loss"]["base"]) < MARGIN
    assert tuned["loss"] < untuned - 1.0, "the shipped model must be clearly better than the untuned base"
    in_chat = assistant_loss(model, tok, chat_like(val, tok, model.params.context_length, card["data_seed"]))["loss"]
    assert abs(in_chat - card["val_assistant_loss_in_chat"]["tuned"]) < MARGIN, (in_chat, card["val_assistant_loss_in_chat"])
    assert in_chat < tuned["loss"] + 0.3, "behind a system prompt and an earlier exchange the answers must stay nearly as good"
