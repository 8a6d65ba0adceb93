"""Every checkpoint shipped in models/ (each subfolder with a config.json): it loads, it matches its config and its
tokenizer, and its validation loss on the embedded corpus is what its model card (card.json, printed in
models/README.md) says, within MARGIN."""
import hashlib
import json
import platform
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parent.parent/"models"
CHECKPOINTS = sorted(p.parent for p in MODELS.glob("*/config.json"))
MARGIN = 0.02  # nats/token. The measurement is deterministic (fixed windows, fp32, CPU): on the card's Python and
               # torch it repeats to ~1e-6; the margin leaves room for other BLAS kernels and torch versions, and
               # is far below what a wrong tokenizer, a wrong split or damaged weights cost (> 0.1).


def card_of(folder:Path) -> dict:
    path = folder/"card.json"
    assert path.is_file(), f"{folder} has no card.json: every shipped checkpoint needs its model card's figures"
    return json.loads(path.read_text(encoding="utf-8"))


def test_models_has_a_checkpoint():
    assert CHECKPOINTS, f"no checkpoint (subfolder with config.json) in {MODELS}"
    assert sum(f.stat().st_size for f in MODELS.rglob("*") if f.is_file()) < 20e6, "models/ must stay under 20 MB"


@pytest.mark.parametrize("folder", CHECKPOINTS, ids=lambda p: p.name)
def test_checkpoint_matches_config_and_tokenizer(folder):
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.tokenizer import ENDOFTEXT, load_tokenizer
    config, card = json.loads((folder/"config.json").read_text(encoding="utf-8")), card_of(folder)
    model = PicabooLM.from_pretrained(folder, device="cpu")  # strict: every tensor present, every shape as configured
    params = PicabooLMParams.from_dict({k: v for k, v in config.items() if k in PicabooLMParams.__dataclass_fields__})
    assert model.params.to_dict() == params.to_dict()
    assert model.tok_emb.weight.shape == (params.vocab_size, params.d_model)
    assert model.num_params() == card["non_embedding_params"]
    tok = load_tokenizer(folder)
    assert tok.vocab_size == params.vocab_size == card["tokenizer"]["vocab_size"]
    assert tok.special_tokens == card["tokenizer"]["special_tokens"]
    n = len(tok.special_tokens)  # <|endoftext|>, and the chat tokens in a chat model
    assert sorted(tok.special_tokens.values()) == list(range(params.vocab_size - n, params.vocab_size))  # the last ids
    assert tok.eot_id == tok.special_tokens[ENDOFTEXT]
    files = {f: hashlib.sha256((folder/f).read_bytes()).hexdigest() for f in card["tokenizer"]["sha256"]}
    assert files == card["tokenizer"]["sha256"], "the tokenizer files changed since the model was trained"
    assert tok.decode(tok.encode("def f(x):\n    return x")) == "def f(x):\n    return x"


@pytest.mark.parametrize("folder", CHECKPOINTS, ids=lambda p: p.name)
def test_validation_loss_matches_the_card(folder):
    from picaboo.cards import checkpoint_metrics, corpus_manifest
    card = card_of(folder)
    if corpus_manifest()["sha256"] != card["corpus"]["sha256"]:
        pytest.skip(f"this Python ({platform.python_version()}) builds another corpus than the card's "
                    f"(Python {card['corpus']['python']}): its validation loss is not comparable")
    e = card["eval"]
    got = checkpoint_metrics(folder, batches=e["batches"], batch_size=e["batch_size"], seed=e["seed"])
    assert abs(got["loss"] - e["val_loss"]) < MARGIN, f"{folder.name}: validation loss {got['loss']:.4f}, card says {e['val_loss']:.4f}"
    assert abs(got["bits_per_byte"] - e["val_bits_per_byte"]) < MARGIN, got


@pytest.mark.parametrize("name", ["picaboo-tiny", "picaboo-tiny-chat"])
def test_training_history_matches_the_card(name):
    "history.json next to a shipped model: every step, and the card's final training loss (mean of the last 50)."
    from picaboo.training_history import load_history
    record, card = load_history(MODELS/name), card_of(MODELS/name)
    train = record["train"]
    assert train["step"] == list(range(1, card["training"]["steps"] + 1))
    assert len(train["loss"]) == len(train["lr"]) == len(train["grad_norm"]) == len(train["step"])
    assert sum(train["loss"][-50:]) / 50 == pytest.approx(card["training"]["train_loss_last50"], abs=1e-3)
    assert record["val"]["step"] and record["command"].startswith("picaboo ")


def test_lookup_history_matches_the_card():
    "The lookup model's history: every step of its one run, ending at its card's training loss."
    from picaboo.training_history import load_history
    record, card = load_history(MODELS/"picaboo-tiny-lookup"), card_of(MODELS/"picaboo-tiny-lookup")
    loss = record["train"]["loss"]
    assert record["train"]["step"] == list(range(1, card["training"]["steps"] + 1))
    assert sum(loss[-50:]) / 50 == pytest.approx(card["training"]["train_loss_last50"], abs=1e-4)
    assert record["command"] == card["command"] and "--copy-drills" in card["command"]