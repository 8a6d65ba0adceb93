"""`picaboo train` as a user runs it: a subprocess, a TOML config read as data, a resume, the printed locations."""
import json, os, subprocess, sys
from pathlib import Path

from picaboo.checkpoint import load_checkpoint

MODELS = Path(__file__).resolve().parents[1]/"models"

def picaboo(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", "import sys; from picaboo.cli import main; sys.exit(main(sys.argv[1:]))", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

def test_train_from_toml_config_then_resume(tmp_path):
    (tmp_path/"notes.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 400, encoding="utf-8")
    marker = tmp_path/"executed"
    (tmp_path/"run.toml").write_text(f"""
# a config is data: this file is parsed, never run ("{marker}" must not appear)
[data]
data = "notes.txt"
tokenizer = "{MODELS}"
out = "run"
[model]
preset = "tiny"
context_length = 32
num_blocks = 1
[trainer]
batch_size = 4
max_steps = 4
warmup_steps = 1
eval_every = 2
eval_batches = 1
save_every = 2
progress = false
tracking = false
""", encoding="utf-8")
    r = picaboo("train", "--config", "run.toml", "--max-learning-rate", "0.002", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"stopped at step 4: reached max_steps (4); checkpoint {Path('run')/'checkpoints'/'latest.pt'}" in r.stdout
    assert "settings in run/config.json" in r.stdout.replace(os.sep, "/")
    cfg = json.loads((tmp_path/"run"/"config.json").read_text())
    assert cfg["trainer"]["max_learning_rate"] == 0.002 and cfg["model"]["context_length"] == 32
    assert load_checkpoint(tmp_path/"run"/"checkpoints")["step"] == 4
    r = picaboo("train", "--out", "run", "--max-steps", "6", "--resume", cwd=tmp_path)  # the saved settings
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming run/checkpoints/latest.pt: step 4, 512 tokens seen, best validation loss" in r.stdout, r.stdout
    ck = load_checkpoint(tmp_path/"run"/"checkpoints")
    assert ck["step"] == 6 and len(ck["history"]["loss"]) == 6
    assert not marker.exists()

def test_bad_flag_values_are_one_line_errors(tmp_path):
    (tmp_path/"bad.json").write_text('{"trainer": {"max_step": 3}}', encoding="utf-8")
    r = picaboo("train", "--config", "bad.json", cwd=tmp_path)
    assert r.returncode == 2 and "unknown key(s) ['max_step'] in [trainer]" in r.stderr and "Traceback" not in r.stderr
    r = picaboo("train", "--tokenizer", "nowhere", cwd=tmp_path)
    assert r.returncode == 2 and "no tokenizer at nowhere" in r.stderr

def test_unavailable_device_is_one_line_everywhere(tmp_path, capsys):
    "Asking for a device this machine lacks: the same one-line error from pick_device, the Trainer and the command."
    import pytest, torch
    from picaboo.batches import RandomWindowSampler
    from picaboo.cli import main
    from picaboo.device import pick_device
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.training import Trainer, TrainerParams
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError) as direct:
        pick_device("cuda")
    model = PicabooLM(PicabooLMParams.preset("tiny", num_blocks=1))
    with pytest.raises(ValueError) as trainer:
        Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(list(range(100)), 2, 8), device="cuda"))
    with pytest.raises(ValueError) as model_error:
        model.to(pick_device("cuda"))
    assert str(trainer.value) == str(model_error.value) == str(direct.value)
    status = main(["train", "--tokenizer", str(MODELS), "--out", str(tmp_path/"run"), "--device", "cuda"])
    err = capsys.readouterr().err
    assert status == 2 and err.strip() == f"picaboo train: error: {direct.value}"

def test_ctrl_c_saves_and_says_how_to_resume_then_overwrite_starts_over(tmp_path):
    "SIGINT mid-run: latest.pt at the step it was in, the exact command to continue, exit 130; --overwrite restarts."
    import signal, time
    (tmp_path/"notes.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 400, encoding="utf-8")
    argv = ["train", "--data", "notes.txt", "--tokenizer", MODELS, "--out", "run", "--context-length", "32",
            "--num-blocks", "1", "--batch-size", "4", "--max-steps", "100000", "--eval-every", "0", "--save-every",
            "100000", "--log-every", "1", "--no-progress", "--no-tracking"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-u", "-c", "import sys; from picaboo.cli import main; "
                             "sys.exit(main(sys.argv[1:]))", *map(str, argv)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("step     3/"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "picaboo train: interrupted; continue with: picaboo train --out run --resume"
    step = load_checkpoint(tmp_path/"run"/"checkpoints")["step"]
    assert f"stopped at step {step}: interrupted by Ctrl-C" in out and step >= 3
    r = picaboo("train", "--out", "run", "--resume", "--max-steps", str(step + 1), cwd=tmp_path)
    assert r.returncode == 0 and load_checkpoint(tmp_path/"run"/"checkpoints")["step"] == step + 1, r.stderr
    r = picaboo(*argv[:-8], "--max-steps", "1", "--no-progress", "--no-tracking", "--overwrite", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(tmp_path/"run"/"checkpoints")["step"] == 1
    assert load_checkpoint(tmp_path/"run"/"checkpoints"/"best.pt")["step"] == 1  # the new run's, not the old one

def test_tracked_run_records_its_data_and_links_to_itself(tmp_path):
    "A tracked run: the data (corpus, size, hash, split), the tokenizer and the model card in MLflow, the link printed."
    from mlflow import MlflowClient
    (tmp_path/"notes.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 400, encoding="utf-8")
    store = f"sqlite:///{tmp_path/'mlflow.db'}"
    r = picaboo("train", "--data", "notes.txt", "--tokenizer", MODELS, "--out", "run", "--context-length", "32",
                "--num-blocks", "1", "--batch-size", "4", "--max-steps", "2", "--eval-every", "2", "--eval-batches", "1",
                "--no-progress", "--tracking-uri", store, "--no-report-card", cwd=tmp_path)  # the card: its own test
    assert r.returncode == 0, r.stderr[-3000:]
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("picaboo").experiment_id])
    assert f"/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}" in r.stdout
    params = run.data.params
    assert params["data_info.corpus"] == "notes.txt" and int(params["data_info.corpus_bytes"]) == 45 * 400
    assert len(params["data_info.tokens_sha256"]) == 64 and params["data_info.val_fraction"] == "0.1"
    import hashlib
    assert params["data_info.corpus_sha256"] == hashlib.sha256((tmp_path/"notes.txt").read_bytes()).hexdigest()
    assert params["data_info.split"] == "tail" and len(params["data_info.tokenizer_sha256"]) == 64
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "tokenizer"} <= artifacts and "final" not in artifacts, artifacts
    tags = client.get_experiment(run.info.experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
