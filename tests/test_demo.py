"""`picaboo demo` end to end, as a reader runs it: a fresh working folder and a fresh corpus cache, a short budget."""
import os, re, subprocess, sys
from pathlib import Path

PICABOO = str(Path(sys.executable).parent / "picaboo")


def test_demo_runs_end_to_end(tmp_path):
    env = {**os.environ, "PICABOO_CACHE": str(tmp_path/"cache"), "PICABOO_DEBUG": "", "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the demo's default: sqlite in the working folder
    r = subprocess.run([PICABOO, "demo", "--minutes", "0.2", "--out", "demo-run", "--no-progress"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    out = r.stdout
    assert re.search(r"[\d,]+ bytes, \d+ documents, sha256 [0-9a-f]{12}", out), out  # the corpus manifest line
    assert re.search(r"\d\.\d\d bytes per token", out), out  # the tokenizer's compression
    assert re.search(r"\d+ steps \(.*\): train loss \d+\.\d+, validation loss \d+\.\d+", out), out
    assert "[this run]" in out and "  prompt 'The '" in out  # samples
    sample = out.split("[this run]\n", 1)[1].split("\n  [", 1)[0]  # the first sample, up to the shipped model's
    assert sample.startswith("    The") and len(sample.strip()) > len("The"), sample
    assert "5/6 report cards" in out and "knowledge, trained-on documents" in out  # the shipped models' cards
    answer = re.search(r"6/6 the assistant .*\n  user: What does json.dumps do\?\n  \(looked up json.dumps: found\)\n"
                       r"  assistant: (.+)", out)  # the shipped assistant, after a visible lookup
    assert answer and answer.group(1).lower().startswith("serialize"), out
    assert "(looked up json.frobnicate: not found)\n  assistant: I could not find" in out
    assert "picaboo chat " in out and "mlflow ui --backend-store-uri sqlite:///mlflow.db" in out  # what to open next
    assert ".venv/bin" not in out  # commands that work after pip install, from any folder
    assert (tmp_path/"mlflow.db").is_file()  # the run went to MLflow's local store in the working folder
    final = tmp_path/"demo-run"/"checkpoints"/"final"
    assert (final/"model.safetensors").is_file() and (tmp_path/"demo-run"/"tokenizer"/"encoder.json").is_file()
    assert not list(tmp_path.glob("mlflow-fallback*")), "MLflow logging fell back to a folder"


def test_demo_rejects_a_bad_budget(tmp_path):
    r = subprocess.run([PICABOO, "demo", "--minutes", "0"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**os.environ, "PICABOO_DEBUG": ""})
    assert r.returncode == 2 and "--minutes must be positive" in r.stderr


def test_train_has_a_time_budget_flag():
    r = subprocess.run([PICABOO, "train", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--max-time X" in r.stdout
