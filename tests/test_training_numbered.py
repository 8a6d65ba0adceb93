"""Numbered checkpoints (checkpoint_every / keep_last) and --tie-weights auto: kept, pruned, resumed exactly, said."""
import argparse, json
from pathlib import Path

import numpy as np
import pytest
import torch

from picaboo.batches import RandomWindowSampler
from picaboo.cli import main
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.checkpoint import load_checkpoint, numbered_checkpoints, numbered_name
from picaboo.run_folder import prune_numbered
from picaboo.training import Trainer, TrainerParams

MODELS = Path(__file__).resolve().parents[1]/"models"
DATA = np.random.default_rng(0).integers(0, 64, 20_000).astype(np.uint16)


def make(ckpt, max_steps=8, resume=None, **kw):
    torch.manual_seed(0)
    model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=32, num_blocks=1, num_heads=2,
                                             d_model=32, dropout_rate=0.1))
    return Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(DATA, 4, 32, seed=1),
                                 val_dataloader=RandomWindowSampler(DATA, 4, 32, seed=2), eval_batches=1, eval_every=4,
                                 max_steps=max_steps, warmup_steps=2, save_every=4, checkpoints_path=str(ckpt),
                                 resume_from=resume, progress=False, tracking=False, log_every=100, **kw))


def test_numbered_checkpoints_are_kept_pruned_and_resume_exactly(tmp_path):
    torch.set_num_threads(1)
    full = make(tmp_path/"full")
    full.train()
    kept = make(tmp_path/"run", checkpoint_every=2, keep_last=2)
    kept.train()
    folder = tmp_path/"run"
    assert list(numbered_checkpoints(folder)) == [6, 8]
    assert {"latest.pt", "best.pt", "final"} <= {p.name for p in folder.iterdir()}  # pruning never touches these
    assert not list(folder.glob(".*.part"))  # written atomically: nothing half-written left
    assert load_checkpoint(folder/numbered_name(6))["step"] == 6  # complete, its sha256 checked
    assert kept.history["loss"] == full.history["loss"]  # writing them changes nothing
    resumed = make(folder, resume=str(folder/numbered_name(6)), checkpoint_every=2, keep_last=2)
    assert resumed.step == 6
    resumed.train()
    assert resumed.history["loss"] == full.history["loss"]  # bit for bit, as from latest.pt


def test_overwrite_clears_numbered_checkpoints(tmp_path):
    make(tmp_path, max_steps=4, checkpoint_every=1).train()
    assert list(numbered_checkpoints(tmp_path)) == [1, 2, 3, 4]
    make(tmp_path, max_steps=2, overwrite=True).train()
    assert numbered_checkpoints(tmp_path) == {}


def test_pruning_keeps_the_newest_and_leaves_later_ones_alone(tmp_path):
    for step in (2, 4, 6, 8, 1000000):
        (tmp_path/numbered_name(step)).write_bytes(b"x")
    (tmp_path/f".{numbered_name(10)}.abc.part").write_bytes(b"half")  # a killed save is not a checkpoint
    (tmp_path/"latest.pt").write_bytes(b"x")
    assert list(numbered_checkpoints(tmp_path)) == [2, 4, 6, 8, 1000000]
    assert prune_numbered(tmp_path, None, 8) == []
    deleted = prune_numbered(tmp_path, 1, 4)  # resumed from step 4: 6, 8 and 1000000 are ahead of the run
    assert [p.name for p in deleted] == ["step_000002.pt"]
    assert list(numbered_checkpoints(tmp_path)) == [4, 6, 8, 1000000] and (tmp_path/"latest.pt").exists()


def test_settings_are_checked_at_construction_and_on_assignment():
    params = TrainerParams(model=None)
    for name, value, words in [("checkpoint_every", -1, "a whole number >= 0"),
                               ("keep_last", 0, r"a whole number >= 1, or None \(keep them all\)"),
                               ("checkpoint_every", 2.5, "a whole number >= 0")]:
        with pytest.raises(ValueError, match=f"^{name} must be {words}; got {value!r}$"):
            setattr(params, name, value)
        with pytest.raises(ValueError, match=f"^{name} must be"):
            TrainerParams(model=None, **{name: value})
    assert params.checkpoint_every == 0 and params.keep_last is None


def train(tmp_path, *flags):
    "`picaboo train` in this process on a small text file; the exit status."
    notes = tmp_path/"notes.txt"
    if not notes.exists():
        notes.write_text("The quick brown fox jumps over the lazy dog.\n" * 200, encoding="utf-8")
    torch.set_num_threads(1)
    return main(["train", "--out", str(tmp_path/"run"), "--tokenizer", str(MODELS), "--data", str(notes),
                 "--context-length", "32", "--num-blocks", "1", "--batch-size", "4", "--no-progress", "--no-tracking",
                 "--eval-every", "2", "--eval-batches", "1", "--warmup-steps", "1", "--sample-every", "0", *flags])


def test_cli_numbered_checkpoints_and_resume_from_one(tmp_path, capsys):
    assert train(tmp_path, "--max-steps", "4", "--checkpoint-every", "1", "--keep-last", "2") == 0
    ckpts = tmp_path/"run"/"checkpoints"
    first = load_checkpoint(ckpts)["history"]["loss"]
    assert list(numbered_checkpoints(ckpts)) == [3, 4]
    capsys.readouterr()
    assert train(tmp_path, "--resume", str(ckpts/numbered_name(3))) == 0
    assert f"resuming {ckpts/numbered_name(3)}: step 3" in capsys.readouterr().out
    assert load_checkpoint(ckpts)["history"]["loss"] == first  # step 4 again, exactly
    saved = json.loads((tmp_path/"run"/"config.json").read_text())["trainer"]
    assert saved["checkpoint_every"] == 1 and saved["keep_last"] == 2


def test_cli_tie_weights_auto_says_what_it_chose(tmp_path, capsys, monkeypatch):
    assert train(tmp_path, "--max-steps", "2", "--tie-weights", "auto") == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("--tie-weights auto: tied, as the training set has ") and "under 1,000,000" in line
    cfg = json.loads((tmp_path/"run"/"config.json").read_text())
    assert cfg["model"]["tie_weights"] is True and cfg["auto"]["tie_weights"] == line
    final = json.loads((tmp_path/"run"/"checkpoints"/"final"/"config.json").read_text())
    assert final["tie_weights"] is True
    assert train(tmp_path, "--resume", "--max-steps", "3", "--tie-weights", "auto") == 0  # the same choice again
    import picaboo.train_config
    monkeypatch.setattr(picaboo.train_config, "TIE_WEIGHTS_BELOW", 100)  # as if the data were large
    capsys.readouterr()
    assert train(tmp_path, "--max-steps", "2", "--tie-weights", "auto", "--overwrite") == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("--tie-weights auto: untied, as the training set has ") and "at least 100" in line
    assert json.loads((tmp_path/"run"/"checkpoints"/"final"/"config.json").read_text())["tie_weights"] is False


def test_tie_weights_flags_parse():
    from picaboo.cli_train import add_cli
    parser = argparse.ArgumentParser(prog="picaboo")
    add_cli(parser.add_subparsers(dest="command"))
    parse = lambda *argv: vars(parser.parse_args(["train", *argv])).get("tie_weights", "unset")
    assert (parse(), parse("--tie-weights"), parse("--no-tie-weights"), parse("--tie-weights", "auto")) == \
        ("unset", True, False, "auto")


def test_a_damaged_latest_points_to_the_newest_complete_numbered_checkpoint(tmp_path):
    from picaboo.checkpoint import save_checkpoint
    model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=16, num_blocks=1, d_model=16,
                                             num_heads=2))
    for step in (2, 4, 6):
        save_checkpoint(tmp_path/numbered_name(step), model, step=step)
    (tmp_path/numbered_name(6)).write_bytes(b"")  # the newest numbered one is broken too
    (tmp_path/"latest.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"latest.pt is damaged \(the file is empty\); step_000004.pt is a complete "
                                         r"checkpoint to resume from"):
        load_checkpoint(tmp_path)
