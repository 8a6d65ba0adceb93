"""DDP: 2 CPU processes under torchrun (gloo) train like 1 process with the same global batch."""
import os, subprocess, sys

import pytest
import torch

from picaboo.checkpoint import load_checkpoint

SCRIPT = """
import os, sys, numpy as np, torch
from picaboo.batches import RandomWindowSampler
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.training import Trainer, TrainerParams
torch.set_num_threads(1)
rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
data = np.random.default_rng(0).integers(0, 64, 20_000).astype(np.uint16)
torch.manual_seed(0)
model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=32, num_blocks=2, num_heads=2, d_model=32))
global_batch, max_steps, resume = 8, int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None
Trainer(TrainerParams(
    model=model, train_dataloader=RandomWindowSampler(data, global_batch // world, 32, seed=1, rank=rank, world_size=world),
    val_dataloader=RandomWindowSampler(data, global_batch // world, 32, seed=2, rank=rank, world_size=world),
    eval_every=3, eval_batches=2, max_steps=max_steps, total_steps=6, warmup_steps=2, max_learning_rate=3e-3,
    gradient_accumulation_steps=2, save_every=3, checkpoints_path=sys.argv[1], resume_from=resume,
    progress=False, tracking=False)).train()
if world > 1: torch.distributed.destroy_process_group()
"""

def _run(args, tmp_path, nproc):
    script = tmp_path/"ddp_train.py"; script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, str(script)] if nproc == 1 else \
          [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", str(script)]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout

@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    "A 6-step run on 2 gloo ranks: (folder, stdout)."
    tmp = tmp_path_factory.mktemp("ddp")
    return tmp, _run([tmp/"ddp", 6], tmp, nproc=2)

def test_two_gloo_ranks_match_one_process(ddp_run, tmp_path):
    ddp_dir, out = ddp_run
    assert out.count("step     6 | val loss") == 1  # rank 0 alone prints
    _run([tmp_path/"single", 6], tmp_path, nproc=1)
    ddp, single = load_checkpoint(ddp_dir/"ddp"), load_checkpoint(tmp_path/"single")
    assert ddp["config"]["world_size"] == 2 and single["config"]["world_size"] == 1
    torch.testing.assert_close(torch.tensor(ddp["history"]["loss"]), torch.tensor(single["history"]["loss"]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.tensor(ddp["history"]["val_loss"]), torch.tensor(single["history"]["val_loss"]), rtol=1e-5, atol=1e-5)
    for k, v in single["model"].items(): torch.testing.assert_close(ddp["model"][k], v, rtol=1e-4, atol=1e-4)
    assert len(ddp["rng"]) == 2  # every rank's random state is in the checkpoint

def test_ddp_resume_is_exact(ddp_run, tmp_path):
    _run([tmp_path/"split", 3], tmp_path, nproc=2)
    _run([tmp_path/"split", 6, tmp_path/"split"], tmp_path, nproc=2)
    a, b = load_checkpoint(ddp_run[0]/"ddp"), load_checkpoint(tmp_path/"split")
    assert a["history"]["loss"] == b["history"]["loss"]
    for k, v in a["model"].items(): assert torch.equal(v, b["model"][k]), k
