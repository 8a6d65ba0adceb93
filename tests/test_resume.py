"""Exact resume: a run stopped (or SIGKILLed) and resumed gives the same losses as a run that never stopped."""
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path

import numpy as np
import pytest
import torch

from picaboo.checkpoint import load_checkpoint
from picaboo.batches import RandomWindowSampler
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.training import Trainer, TrainerParams, TrainingDiverged

SETUP = """
import numpy as np, torch
from picaboo.batches import RandomWindowSampler
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.training import Trainer, TrainerParams
torch.set_num_threads(1)
DATA = np.random.default_rng(0).integers(0, 64, 20_000).astype(np.uint16)

def make(ckpt, max_steps=12, resume=None, **kw):
    torch.manual_seed(0)
    model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=32, num_blocks=2, num_heads=2,
                                             d_model=32, dropout_rate=0.1))
    params = TrainerParams(model=model, train_dataloader=RandomWindowSampler(DATA, 4, 32, seed=1),
                           val_dataloader=RandomWindowSampler(DATA, 4, 32, seed=2), eval_batches=2, eval_every=4,
                           max_steps=max_steps, total_steps=12, warmup_steps=3, max_learning_rate=3e-3,
                           gradient_accumulation_steps=2, save_every=2, checkpoints_path=str(ckpt), resume_from=resume,
                           progress=False, tracking=False, log_every=1, **kw)
    return Trainer(params)
"""
exec(SETUP)


def test_stop_and_resume_matches_uninterrupted(tmp_path):
    full = make(tmp_path/"full"); full.train()
    first = make(tmp_path/"split", max_steps=5); first.train()
    assert load_checkpoint(tmp_path/"split")["step"] == 5
    second = make(tmp_path/"split", resume=str(tmp_path/"split")); second.train()
    assert second.history["loss"] == full.history["loss"]  # bit-for-bit, not just close
    val = lambda t: dict(zip(t.history["val_step"], t.history["val_loss"]))
    assert val(second).items() >= val(full).items()  # the split run also evaluated at its stop, step 5


def test_resume_refuses_a_different_run(tmp_path):
    make(tmp_path, max_steps=2).train()
    torch.manual_seed(0)
    other = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=32, num_blocks=2, num_heads=2, d_model=64))
    with pytest.raises(ValueError, match=r"d_model: checkpoint 32, this run 64"):
        Trainer(TrainerParams(model=other, train_dataloader=RandomWindowSampler(DATA, 4, 32), resume_from=str(tmp_path),
                              gradient_accumulation_steps=2, tracking=False, progress=False))
    with pytest.raises(ValueError, match=r"gradient_accumulation_steps: checkpoint 2, this run 1"):
        Trainer(TrainerParams(
            model=make(tmp_path/"x", max_steps=1).raw_model, train_dataloader=RandomWindowSampler(DATA, 4, 32),
            resume_from=str(tmp_path), gradient_accumulation_steps=1, tracking=False, progress=False))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    calls = {"n": 0}
    def loss_fn(logits, y):  # turns to NaN on the 9th micro-batch (step 5)
        calls["n"] += 1
        loss = torch.nn.functional.cross_entropy(logits, y)
        return loss * float("nan") if calls["n"] >= 9 else loss
    t = make(tmp_path, loss_fn=loss_fn)
    with pytest.raises(TrainingDiverged, match=r"loss became nan .*at step 5.*latest\.pt"):
        t.train()
    assert load_checkpoint(tmp_path)["step"] == 4
    assert all(torch.isfinite(v).all() for v in load_checkpoint(tmp_path)["model"].values())


def test_warm_start_non_strict(tmp_path):
    make(tmp_path, max_steps=2).train()
    torch.manual_seed(0)
    bigger = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=80, context_length=32, num_blocks=2, num_heads=2, d_model=32))
    with pytest.raises(ValueError, match="tok_emb.weight: checkpoint \\(64, 32\\), model \\(80, 32\\)"):
        Trainer(TrainerParams(model=bigger, train_dataloader=RandomWindowSampler(DATA, 4, 32), init_from=str(tmp_path),
                              tracking=False, progress=False))
    t = Trainer(TrainerParams(model=bigger, train_dataloader=RandomWindowSampler(DATA, 4, 32), init_from=str(tmp_path),
                              init_strict=False, tracking=False, progress=False))
    ck = load_checkpoint(tmp_path)
    assert any("tok_emb" in s for s in t.warm_start_report["skipped"]) and t.step == 0
    torch.testing.assert_close(bigger.blocks[0].mlp.fc.weight, ck["model"]["blocks.0.mlp.fc.weight"])


SCRIPT = SETUP + """
import sys
make(sys.argv[1], resume="auto").train()
"""

def _run(script, ckpt, env):
    return subprocess.Popen([sys.executable, "-u", str(script), str(ckpt)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)

def test_sigkill_mid_run_then_resume(tmp_path):
    script = tmp_path/"train.py"; script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    full = _run(script, tmp_path/"full", env); out, _ = full.communicate(timeout=120)
    assert full.returncode == 0, out
    proc = _run(script, tmp_path/"killed", env)
    for line in proc.stdout:  # wait until step 7 is printed: latest.pt holds step 6 (or is being rewritten)
        if line.startswith("step     7/"): break
    proc.send_signal(signal.SIGKILL); proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(tmp_path/"killed")["step"]
    assert 6 <= killed_at < 12
    again = _run(script, tmp_path/"killed", env); out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    a, b = load_checkpoint(tmp_path/"full"), load_checkpoint(tmp_path/"killed")
    assert a["step"] == b["step"] == 12
    assert a["history"]["loss"] == b["history"]["loss"]
    for k, v in a["model"].items(): assert torch.equal(v, b["model"][k]), k
