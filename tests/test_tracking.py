"""picaboo.tracking against a real `mlflow server` on 127.0.0.1: runs read back through MlflowClient, the server
killed mid-run (training goes on, bounded time, one warning, nothing lost, sent when it comes back), no server at
all, and a server that accepts connections but never answers."""
import os, signal, socket, subprocess, sys, time, urllib.request, warnings
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from mlflow import MlflowClient

from picaboo.tracking import NullTracker, replay_fallback, start_tracking

MLFLOW = str(Path(sys.executable).with_name("mlflow"))

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class Server:
    "An `mlflow server` in its own process group: sqlite backend and served artifacts in a temporary folder."
    def __init__(self, folder:Path):
        self.folder, self.port, self.proc = folder, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, wait:float=120):
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job-runner processes: starts faster
        cmd = [MLFLOW, "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{self.folder}/mlflow.db", "--artifacts-destination", str(self.folder/"artifacts")]
        self.log = open(self.folder/"server.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None: break
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200: return self
            except OSError: time.sleep(0.3)
        self.kill()
        pytest.fail(f"mlflow server did not start; its log: {(self.folder/'server.log').read_text()[-2000:]}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: mlflow's CLI and its uvicorn worker
            self.proc.wait(10)
        if self.proc: self.log.close()

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("mlflow-server")).start()
    yield s
    s.kill()

def fake_training(tracker, steps, start=0, pause=0.0):
    "A training loop's logging: a metric record per step; returns the seconds the loop took."
    t0 = time.perf_counter()
    for step in range(start, start + steps):
        tracker.log_metrics({"train_loss": 5.0 / (step + 1), "lr": 1e-3}, step=step)
        if pause: time.sleep(pause)
    return time.perf_counter() - t0

def history(client, run_id, key="train_loss"):
    return sorted(m.step for m in client.get_metric_history(run_id, key))

def test_run_reads_back(server, tmp_path):
    tracker = start_tracking(experiment="reads-back", run_name="tiny", tracking_uri=server.url, fallback_dir=tmp_path/"fb")
    assert tracker.run_id and tracker.tracking_uri == server.url
    config = {"max_learning_rate": 3e-4, "model": {"d_model": 64, "num_heads": 4}, "merges": "x" * 10_000}
    tracker.log_params(config)
    seconds = fake_training(tracker, 200)
    assert seconds < 2.0, f"200 log_metrics calls took {seconds:.2f} s: logging must not slow the loop"
    tracker.log_text("Once upon a time", "samples/step_199.txt")
    fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([3, 2, 1]); ax.set_xlabel("step"); ax.set_ylabel("loss")
    tracker.log_figure(fig, "plots/loss.png"); plt.close(fig)
    (tmp_path/"checkpoint").mkdir(); (tmp_path/"checkpoint"/"model.safetensors").write_bytes(b"\0" * 1000)
    tracker.log_artifacts(tmp_path/"checkpoint", "checkpoint")
    summary = tracker.finish()
    assert tracker.run_id in summary and f"{server.url}/#/experiments/" in summary and "NOT LOGGED" not in summary

    client = MlflowClient(server.url)
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    assert run.data.params["model.d_model"] == "64" and run.data.params["max_learning_rate"] == "0.0003"
    assert len(run.data.params["merges"]) == 6000  # cut to MLflow's limit, not refused
    assert history(client, tracker.run_id) == list(range(200))
    assert client.get_metric_history(tracker.run_id, "train_loss")[0].value == pytest.approx(5.0)
    paths = {f.path for f in client.list_artifacts(tracker.run_id)}
    assert paths == {"samples", "plots", "checkpoint"}
    assert [f.path for f in client.list_artifacts(tracker.run_id, "checkpoint")] == ["checkpoint/model.safetensors"]
    text = Path(client.download_artifacts(tracker.run_id, "samples/step_199.txt", str(tmp_path)))
    assert text.read_text() == "Once upon a time"
    assert not tracker.fallback.path.exists()  # nothing failed: no fallback folder left behind

def test_server_killed_mid_run(server, tmp_path, capsys):
    "Kill the server mid-run: both runs go on; A finishes while it is down, B after it is back."
    a = start_tracking(experiment="killed", run_name="a", tracking_uri=server.url, fallback_dir=tmp_path/"a")
    b = start_tracking(experiment="killed", run_name="b", tracking_uri=server.url, fallback_dir=tmp_path/"b")
    for t in (a, b): t.log_params({"lr": 1e-3}); fake_training(t, 20)
    time.sleep(1.0)  # let the workers send steps 0-19
    server.kill()
    capsys.readouterr()
    seconds = fake_training(a, 30, start=20, pause=0.02) + fake_training(b, 30, start=20, pause=0.02)
    for t in (a, b): t.log_text("after the crash", "samples/late.txt"); t.log_params({"batch_size": 8})
    seconds += fake_training(a, 10, start=50, pause=0.02) + fake_training(b, 10, start=50, pause=0.02)
    assert seconds < 5.0, f"the loop took {seconds:.1f} s with the server gone"
    t0 = time.monotonic()
    summary_a = a.finish(timeout=10)
    assert time.monotonic() - t0 < 10
    ours = [l for l in capsys.readouterr().err.splitlines() if "MLflow tracking at" in l]
    assert len(ours) == 2, ours  # once per tracker, not once per call; one line each, no Python warning
    assert all(l.startswith("picaboo: warning: MLflow tracking at") for l in ours)
    assert "NOT LOGGED" in summary_a and str(a.fallback.path) in summary_a and "replay_fallback" in summary_a
    lines = (a.fallback.path/"metrics.jsonl").read_text().splitlines()
    assert {int(l.split('"step": ')[1].split("}")[0]) for l in lines} >= set(range(20, 60))
    assert (a.fallback.path/"artifacts"/"samples"/"late.txt").read_text() == "after the crash"
    assert '"batch_size": "8"' in (a.fallback.path/"params.json").read_text()

    server.start()  # back on the same port, same database
    summary_b = b.finish(timeout=30)  # retried at finish: everything pending is sent
    assert "NOT LOGGED" not in summary_b and "everything was sent" in summary_b, summary_b
    assert not b.fallback.path.exists()
    client = MlflowClient(server.url)
    assert history(client, b.run_id) == list(range(60))
    assert client.get_run(b.run_id).data.params == {"lr": "0.001", "batch_size": "8"}
    assert client.get_run(b.run_id).info.status == "FINISHED"

    assert replay_fallback(a.fallback.path) == a.run_id  # A's logs go into A's own run, and only once
    assert replay_fallback(a.fallback.path) == a.run_id
    assert history(client, a.run_id) == list(range(60))
    assert [f.path for f in client.list_artifacts(a.run_id, "samples")] == ["samples/late.txt"]
    assert client.get_run(a.run_id).info.status == "FINISHED"

def test_no_server_at_all(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.monotonic()
    tracker = start_tracking(run_name="offline", tracking_uri=url, fallback_dir=tmp_path/"fb", retry_every=0.2)
    tracker.log_params({"model": {"d_model": 64}})
    fake_training(tracker, 50, pause=0.01)
    summary = tracker.finish(timeout=5)
    assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert err.count("MLflow tracking at") == 1 and len(err.splitlines()) == 1 and " failed (" in err, err
    assert tracker.run_id is None and "never created" in summary and "100 metric values" in summary
    assert len((tmp_path/"fb"/"metrics.jsonl").read_text().splitlines()) == 100  # train_loss and lr, 50 steps

def test_server_that_never_answers(tmp_path):
    "A port that accepts connections and says nothing: each request gives up after `timeout` s, in the background."
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0)); blackhole.listen(100)
        url = "http://127.0.0.1:%d" % blackhole.getsockname()[1]
        t0 = time.monotonic()
        tracker = start_tracking(tracking_uri=url, fallback_dir=tmp_path/"fb", timeout=1)
        assert time.monotonic() - t0 < 5
        assert fake_training(tracker, 100) < 1.0
        summary = tracker.finish(timeout=3)
        assert time.monotonic() - t0 < 10
    assert "200 metric values" in summary and "Read timed out" in summary

def test_default_store_is_local_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = start_tracking(run_name="local")
    assert tracker.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    tracker.log_metrics({"loss": 1.0}, step=0); tracker.log_text("hi", "hello.txt")
    summary = tracker.finish()
    assert "mlflow ui --backend-store-uri" in summary and "NOT LOGGED" not in summary
    assert f"/#/experiments/{tracker.experiment_id}/runs/{tracker.run_id}" in summary  # the direct link
    assert f"/#/experiments/{tracker.experiment_id}/runs?workflowType=machine_learning " in summary  # the runs table
    tags = MlflowClient(tracker.tracking_uri).get_experiment(tracker.experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"  # MLflow 3's UI shows it as training runs
    assert (tmp_path/"mlflow.db").exists() and list((tmp_path/"mlruns").rglob("hello.txt"))
    assert MlflowClient(tracker.tracking_uri).get_run(tracker.run_id).data.metrics == {"loss": 1.0}

def test_disabled_tracker_does_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tracker = start_tracking(enabled=False)
    assert isinstance(tracker, NullTracker) and tracker.run_id is None
    tracker.log_params({"a": 1}); tracker.log_metrics({"loss": 1.0}, step=0); tracker.log_text("x", "x.txt")
    assert tracker.finish() == "MLflow tracking was off." and list(tmp_path.iterdir()) == []

def test_full_queue_never_blocks(tmp_path, monkeypatch):
    "A worker far behind (each request 50 ms): log calls still return at once; the overflow goes to the fallback."
    import types, picaboo.tracking as tracking
    fake_run = types.SimpleNamespace(info=types.SimpleNamespace(run_id="r1", run_name="slow", experiment_id="0"))
    monkeypatch.setattr(tracking, "_open_run", lambda *a: fake_run)
    sent = []
    def slow_deliver(client, run_id, op):
        time.sleep(0.05); sent.extend(op.get("metrics", []))
    monkeypatch.setattr(tracking, "_deliver", slow_deliver)
    tracker = start_tracking(tracking_uri=f"http://127.0.0.1:{free_port()}", fallback_dir=tmp_path/"fb", queue_size=5)
    assert fake_training(tracker, 200) < 1.0
    summary = tracker.finish(timeout=10)
    kept = (tmp_path/"fb"/"metrics.jsonl").read_text().splitlines()
    assert "NOT LOGGED" in summary and f"{len(kept)} metric values" in summary and len(kept) > 100
    assert len(sent) + len(kept) == 400  # every value either sent or kept, none lost, none twice

def test_journal_in_run_folder_and_replay_command(tmp_path, capsys):
    "A run's journal lives in its own folder; `picaboo tracking replay RUN_FOLDER` sends it, once."
    from picaboo.cli import main
    from picaboo.tracking import find_journals, journal_folder
    run = tmp_path/"run"
    tracker = start_tracking(run_name="journaled", tracking_uri=f"http://127.0.0.1:{free_port()}",
                             fallback_dir=journal_folder(run/"checkpoints"), timeout=1)
    tracker.log_params({"lr": 1e-3})
    fake_training(tracker, 5)
    tracker.finish(timeout=5)
    assert find_journals(run) == [tracker.fallback.path]
    assert tracker.fallback.path.parent == run/"checkpoints"/"tracking-journal"
    store = f"sqlite:///{tmp_path/'mlflow.db'}"
    for _ in range(2):  # replaying twice sends nothing twice
        assert main(["tracking", "replay", str(run), "--tracking-uri", store]) == 0
    run_id = capsys.readouterr().out.split("MLflow run ")[-1].strip()
    assert history(MlflowClient(store), run_id) == list(range(5))
    assert main(["tracking", "replay", str(tmp_path/"nothing-here")]) == 2  # one line, exit status 2

def test_resumed_run_logs_no_step_twice(tmp_path):
    "A run killed and resumed from an earlier checkpoint redoes some steps: MLflow gets each step once."
    store = f"sqlite:///{tmp_path/'mlflow.db'}"
    first = start_tracking(run_name="resumed", tracking_uri=store, fallback_dir=tmp_path/"fb")
    fake_training(first, 8)  # logged steps 0-7, then "killed" (its checkpoint holds step 5)
    first.finish("KILLED")
    again = start_tracking(run_id=first.run_id, tracking_uri=store, fallback_dir=tmp_path/"fb")
    fake_training(again, 7, start=5)  # steps 5-11: 5, 6 and 7 are redone
    again.finish()
    assert history(MlflowClient(store), first.run_id) == list(range(12))
