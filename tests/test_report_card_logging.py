"""When a tracked `picaboo train` ends, the model's report card lands in its MLflow run.

One tiny run (2 steps, a 1-block model with a 32-token context) tracked into a local SQLite store; the card,
read back with `MlflowClient`, must be the one written next to the model. Every other test that trains passes
--no-tracking (or --no-report-card), so the card costs the suite only this run (about 10 s on one core).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from picaboo.cli import add_report_card

MODELS = str(Path(__file__).resolve().parent.parent / "models")


def test_a_tracked_run_gets_its_report_card(tmp_path):
    from mlflow import MlflowClient
    (tmp_path/"notes.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 400, encoding="utf-8")
    store = f"sqlite:///{tmp_path/'mlflow.db'}"
    argv = ["train", "--data", "notes.txt", "--tokenizer", MODELS, "--out", "run", "--context-length", "32",
            "--num-blocks", "1", "--batch-size", "4", "--max-steps", "2", "--eval-every", "2", "--eval-batches", "1",
            "--no-progress", "--tracking-uri", store]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PICABOO_DEBUG": "1"}
    r = subprocess.run([sys.executable, "-c", "import sys; from picaboo.cli import main; sys.exit(main(sys.argv[1:]))",
                        *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    final = tmp_path/"run"/"checkpoints"/"final"
    card = json.loads((final/"report_card.json").read_text(encoding="utf-8"))
    assert (final/"report_card.png").is_file()
    assert "knowledge, trained-on documents" in r.stdout and "report card (" in r.stdout, r.stdout[-2000:]
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("picaboo").experiment_id])
    assert run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "report_card")} == {
        "report_card/report_card.json", "report_card/report_card.png"}
    metrics = run.data.metrics
    assert metrics["card/bits_per_byte"] == pytest.approx(card["bits_per_byte"]["bits_per_byte"])
    assert metrics["card/knowledge_trained"] == pytest.approx(card["knowledge"]["by"]["trained"]["centred"])
    assert metrics["card/untrained/bits_per_byte"] == pytest.approx(card["untrained"]["bits_per_byte"]["bits_per_byte"])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "card/bits_per_byte")] == [2]
    assert "val_loss" in metrics  # the training run's own metrics are still there: the card joined the same run


def test_no_card_without_a_run_or_when_asked_not_to(capsys):
    "--no-tracking leaves no run id, --no-report-card sets report_card: either way nothing is graded."
    untracked = argparse.Namespace(command="train", made={"model": "nowhere", "run_id": None})
    assert add_report_card(untracked) == 0
    declined = argparse.Namespace(command="train", report_card=False, made={"model": "nowhere", "run_id": "abc"})
    assert add_report_card(declined) == 0
    assert capsys.readouterr().out == ""  # nothing graded


def test_the_flags_exist():
    from picaboo.cli import build_parser
    for command in ("train", "finetune"):
        args = build_parser(command).parse_args([command, "--out", "x", "--no-report-card"])
        assert args.report_card is False, command
