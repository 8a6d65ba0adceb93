"""Every mistake a user can make when starting a run is one line on stderr, exit status 2, and the run folder exactly
as it was: a TABLE of bad inputs (flags or config-file content) -> the fragment the line must hold."""
import hashlib, json, os
from pathlib import Path

import pytest
import torch

from picaboo.cli import main

MODELS = Path(__file__).resolve().parents[1]/"models"
NO_CUDA = not torch.cuda.is_available()

# (flags, or the content of a --config file) -> what the one line must say
TABLE = [
    ([], "holds a run (step 2, best validation loss"),  # forgot --resume: the run is not replaced
    (["--max-steps", "0"], "holds a run (step 2"),  # an untrained model must not replace a trained one
    (["--grad-clip", "-1"], "grad_clip must be a number > 0, or None (no clipping); got -1.0"),
    (["--log-every", "0"], "log_every must be a whole number >= 1; got 0"),
    (["--label-smoothing", "2"], "label_smoothing must be a number in [0, 1); got 2.0"),
    (["--device", "tpu"], "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"),
    (["--max-learning-rate", "0"], "max_learning_rate must be a number > 0; got 0.0"),
    (["--warmup-steps", "-5"], "warmup_steps must be a whole number >= 0; got -5"),
    (["--weight-decay", "-0.1"], "weight_decay must be a number >= 0; got -0.1"),
    (["--max-time", "-1"], "max_time must be a number > 0, or None (no time limit); got -1.0"),
    (["--max-time", "0"], "max_time must be a number > 0, or None (no time limit); got 0.0"),
    (["--max-steps", "ten"], "argument --max-steps: invalid int value: 'ten'"),
    (["--eval-every", "-1"], "eval_every must be a whole number >= 0; got -1"),
    (["--precision", "fp8"], "precision must be one of 'auto', 'bf16', 'fp16', 'fp32'; got 'fp8'"),
    (["--min-learning-rate", "0.01"], "min_learning_rate (0.01) must not exceed max_learning_rate"),
    (["--tokenizer", "nowhere"], "no tokenizer at nowhere"),
    (["--preset", "huge"], "unknown preset 'huge'"),
    (["--resume", "--batch-size", "8"], "--batch-size 8 differs from the run's 4"),
    (["--resume", "--num-blocks", "2"], "--num-blocks 2 differs from the run's 1"),
    (["--resume", "--max-steps", "2"], "has taken 2 steps, and max_steps is 2: nothing to do"),
    (["--checkpoint-every", "-1"], "checkpoint_every must be a whole number >= 0; got -1"),
    (["--checkpoint-every", "5", "--keep-last", "0"], "keep_last must be a whole number >= 1, or None (keep them all); got 0"),
    (["--keep-last", "2"], "keep_last (2) prunes the numbered checkpoints, but checkpoint_every is 0"),
    (["--tie-weights", "maybe"], "argument --tie-weights: takes no value or 'auto', got 'maybe'"),
    ({"model": {"tie_weights": "yes"}}, "tie_weights must be true, false or 'auto' (decided by the training set's size); got 'yes'"),
    ({"trainer": {"keep_last": 1.5, "checkpoint_every": 3}}, "keep_last must be a whole number >= 1, or None"),
    ({"trainer": {"max_steps": "ten"}}, "max_steps must be a whole number >= 0, or None (until the data runs out); got 'ten'"),
    ({"trainer": {"tracking": "no"}}, "tracking must be true or false; got 'no'"),
    ({"trainer": {"sample_prompt": 5}}, "sample_prompt must be text; got 5"),
    ({"trainer": {"betas": [0.9, 2]}}, "betas must be two numbers in [0, 1)"),
    ({"trainer": {"betas": 5}}, "betas must be two numbers in [0, 1)"),
    ({"trainer": {"log_every": 2.5}}, "log_every must be a whole number >= 1; got 2.5"),
    ({"trainer": {"experiment": ""}}, "experiment must be a non-empty name"),
    ({"trainer": {"max_step": 3}}, "unknown key(s) ['max_step'] in [trainer]"),
    ({"data": {"val_fraction": "a tenth"}}, "val_fraction must be a number between 0 and 1; got 'a tenth'"),
    ({"data": {"data_seed": 1.5}}, "data_seed must be a whole number; got 1.5"),
    ("{not json", "is not valid JSON"),
] + ([(["--device", "cuda"], "device 'cuda' is not available on this machine")] if NO_CUDA else [])

def folder_hash(folder:Path) -> str:
    "A hash of every file's name and bytes under `folder`."
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        h.update(str(f.relative_to(folder)).encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    "A finished two-step run: the folder every bad input must leave as it is."
    root = tmp_path_factory.mktemp("bad-inputs")
    (root/"notes.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 200, encoding="utf-8")
    base = ["train", "--out", str(root/"run"), "--tokenizer", str(MODELS), "--data", str(root/"notes.txt"),
            "--context-length", "32", "--num-blocks", "1", "--batch-size", "4"]
    torch.set_num_threads(1)
    assert main(base + ["--no-progress", "--no-tracking", "--max-steps", "2", "--eval-every", "2", "--eval-batches", "1", "--warmup-steps", "1"]) == 0
    return root, base

def run_main(argv):
    "The exit status of `picaboo` with `argv`, from argparse's exit too."
    try:
        return main(argv)
    except SystemExit as e:
        return e.code

@pytest.mark.parametrize("bad,expected", TABLE, ids=[str(b)[:40] for b, _ in TABLE])
def test_bad_input_is_one_line_and_changes_nothing(run, bad, expected, tmp_path, capfd):
    root, base = run
    argv = base + bad if isinstance(bad, list) else base + ["--config", str(tmp_path/"run.json")]
    if not isinstance(bad, list):
        (tmp_path/"run.json").write_text(bad if isinstance(bad, str) else json.dumps(bad), encoding="utf-8")
    before = folder_hash(root/"run")
    capfd.readouterr()
    status = run_main(argv)
    err = capfd.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert err.startswith("picaboo train: error: ")
    assert folder_hash(root/"run") == before

def test_python_settings_are_checked_on_assignment():
    from picaboo.training import TrainerParams
    params = TrainerParams(model=None)
    for name, value in [("max_steps", -1), ("grad_clip", -1.0), ("tracking", "no"), ("log_every", 0),
                        ("device", "tpu"), ("max_time", 0), ("label_smoothing", 2.0), ("checkpoint_every", -2),
                        ("keep_last", 0)]:
        with pytest.raises(ValueError, match=f"^{name} must be .*; got {value!r}$".replace("(", r"\(")):
            setattr(params, name, value)
    with pytest.raises(ValueError, match="max_steps must be"):
        TrainerParams(model=None, max_steps="ten")
    assert params.max_steps == 200 and params.grad_clip == 1.0  # a refused value leaves the old one

def test_trainer_refuses_a_folder_that_holds_a_run(run):
    from picaboo.batches import RandomWindowSampler
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.training import Trainer, TrainerParams
    root, _ = run
    before = folder_hash(root/"run")
    model = PicabooLM(PicabooLMParams.preset("tiny", num_blocks=1, context_length=32))
    with pytest.raises(ValueError, match=r"holds a run \(step 2.*resume_from='auto'.*overwrite=True"):
        Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(list(range(100)), 2, 8),
                              checkpoints_path=str(root/"run"/"checkpoints"), tracking=False))
    assert folder_hash(root/"run") == before

def test_unencodable_sample_prompt_fails_at_start():
    from picaboo.batches import RandomWindowSampler
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.training import Trainer, TrainerParams
    class Strict:
        def encode(self, text):
            raise ValueError("disallowed special token '<|im_start|>'\nsecond line")
    model = PicabooLM(PicabooLMParams.preset("tiny", num_blocks=1, context_length=32))
    with pytest.raises(ValueError, match=r"^sample_prompt '<\|im_start\|>' cannot be encoded: disallowed special token"):
        Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(list(range(100)), 2, 8), tracking=False,
                              tokenizer=Strict(), sample_prompt="<|im_start|>", checkpoints_path="/nonexistent/ck"))
