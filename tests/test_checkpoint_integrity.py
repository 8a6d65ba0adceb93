"""Damaged and hostile files: each bad input gives ONE line (ValueError / FileNotFoundError) that names the file and
says what to do; never a traceback from torch or safetensors, never a silent load, never a file written elsewhere."""
import json
import re
import tempfile
from pathlib import Path

import pytest
import torch

from picaboo.checkpoint import load_checkpoint, save_checkpoint, tokenizer_from_files
from picaboo.loading import load_model_and_tokenizer
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.tokenizer import CharTokenizer


def tiny_model():
    torch.manual_seed(0)
    params = PicabooLMParams.preset("tiny", vocab_size=32, context_length=8, num_blocks=1, num_heads=2, d_model=8,
                                    device="cpu")
    return PicabooLM(params)


def flip_a_weight_bit(path:Path, model:PicabooLM):
    "Flip one bit inside the token embedding's bytes in the saved file (where torch.load would not notice)."
    data = bytearray(path.read_bytes())
    at = bytes(data).index(model.tok_emb.weight.detach().numpy().tobytes()) + 3
    data[at] ^= 0x10
    path.write_bytes(bytes(data))


def empty(path:Path, model):
    path.write_bytes(b"")


def truncate(path:Path, model):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def junk(path:Path, model):
    path.write_bytes(b"\x80\x04 this is not what it claims to be " * 10)


@pytest.fixture
def run(tmp_path):
    "A run folder with latest.pt and best.pt, and a save_pretrained folder, of the same tiny model."
    model = tiny_model()
    tok = CharTokenizer(chars="abcdefghij klmnop")
    save_checkpoint(tmp_path / "run" / "latest.pt", model, step=7, tokenizer=tok)
    save_checkpoint(tmp_path / "run" / "best.pt", model, step=5, tokenizer=tok)
    model.save_pretrained(tmp_path / "pretrained")
    torch.save(model.state_dict(), tmp_path / "pretrained" / "pytorch_model.bin")
    return tmp_path, model


CASES = [  # (file to damage, how, how to load, the expected message)
    ("run/latest.pt", flip_a_weight_bit, "checkpoint",
     r"latest\.pt is damaged \(its contents do not match the sha256.*\); best\.pt is a complete checkpoint to resume"),
    ("run/latest.pt", empty, "checkpoint", r"latest\.pt is damaged \(the file is empty\); best\.pt is a complete"),
    ("run/latest.pt", truncate, "checkpoint", r"latest\.pt is damaged \(torch\.load cannot read it.*\); best\.pt"),
    ("run/best.pt", junk, "best", r"best\.pt is damaged .*; latest\.pt is a complete checkpoint to resume from"),
    ("pretrained/model.safetensors", truncate, "pretrained",
     r"model\.safetensors is damaged or not a weights file .*save or download it again"),
    ("pretrained/model.safetensors", empty, "pretrained", r"model\.safetensors is damaged or not a weights file"),
    ("pretrained/pytorch_model.bin", junk, "bin", r"pytorch_model\.bin is damaged or not a weights file"),
    ("pretrained/config.json", junk, "pretrained", r"config\.json is not valid JSON .*save the model again"),
]


def load(kind:str, root:Path):
    if kind == "checkpoint":
        return load_checkpoint(root / "run")
    if kind == "best":
        return load_checkpoint(root / "run" / "best.pt")
    if kind == "pretrained":
        return PicabooLM.from_pretrained(root / "pretrained", device="cpu")
    from picaboo.model_files import read_weights
    return read_weights(root / "pretrained" / "pytorch_model.bin")


@pytest.mark.parametrize("target,damage,kind,message", CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_damaged_file_is_one_clear_line(run, target, damage, kind, message):
    root, model = run
    load(kind, root)  # intact: loads
    damage(root / target, model)
    with pytest.raises(ValueError, match=message) as e:
        load(kind, root)
    assert "\n" not in str(e.value) and target.split("/")[-1] in str(e.value)
    assert e.value.__cause__ is None and e.value.__suppress_context__  # no chained traceback from torch/safetensors


def test_missing_files_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*latest.pt"):
        load_checkpoint(tmp_path)
    tiny_model().save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors in"):
        PicabooLM.from_pretrained(tmp_path / "m", device="cpu")


def test_both_checkpoints_damaged_says_so(run):
    root, model = run
    empty(root / "run" / "latest.pt", model)
    junk(root / "run" / "best.pt", model)
    with pytest.raises(ValueError, match="no other checkpoint of this run is complete"):
        load_checkpoint(root / "run")


def test_leftovers_of_a_killed_save_are_ignored_and_cleaned(tmp_path):
    model = tiny_model()
    save_checkpoint(tmp_path / "latest.pt", model, step=1)
    (tmp_path / ".latest.pt.abc123.part").write_bytes(b"half a checkpoint")  # a save killed half-way
    assert load_checkpoint(tmp_path)["step"] == 1  # ignored
    save_checkpoint(tmp_path / "latest.pt", model, step=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pt"]  # cleaned
    model.save_pretrained(tmp_path / "m")
    (tmp_path / "m" / ".model.safetensors.x1.part").write_bytes(b"half")
    PicabooLM.from_pretrained(tmp_path / "m", device="cpu")
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]


def test_a_checkpoint_of_format_1_without_digest_still_loads(tmp_path):
    model = tiny_model()
    save_checkpoint(tmp_path / "latest.pt", model, step=3)
    state = torch.load(tmp_path / "latest.pt", weights_only=True)
    state.pop("sha256")
    state["format"] = "picaboo-checkpoint-1"
    torch.save(state, tmp_path / "latest.pt")
    assert load_checkpoint(tmp_path)["step"] == 3


def test_hostile_tokenizer_names_are_refused_and_nothing_is_written(tmp_path):
    model = tiny_model()
    tok = CharTokenizer(chars="abcdefghij klmnop")
    save_checkpoint(tmp_path / "evil.pt", model, tokenizer=tok)
    state = torch.load(tmp_path / "evil.pt", weights_only=True)
    outside = tmp_path / "outside" / "x"
    escapes = [Path(tempfile.gettempdir()) / "evil.pth", Path("/tmp/x"), outside]
    existed = [p.exists() for p in escapes]
    for bad in ("../evil.pth", "/tmp/x", str(outside)):
        state["tokenizer"] = {**state["tokenizer"], bad: b"gotcha"}
        state.pop("sha256", None)  # a hand-made checkpoint: no digest to trip over
        torch.save(state, tmp_path / "evil.pt")
        with pytest.raises(ValueError, match=re.escape(f"evil.pt: the tokenizer entry '{bad}' is not one of the tokenizer files")):
            load_model_and_tokenizer(tmp_path / "evil.pt")
        state["tokenizer"].pop(bad)
    assert [p.exists() for p in escapes] == existed
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="'encoder.json' is not one of"):
        tokenizer_from_files({"encoder.json": "not bytes"})
    assert load_model_and_tokenizer(tmp_path / "evil.pt")[1].encode("abc") == tok.encode("abc")  # clean again: loads


def test_save_pretrained_never_writes_the_device(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    assert "device" not in json.loads((tmp_path / "config.json").read_text())
