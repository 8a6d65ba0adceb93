"""MLflow's web page on runs logged by picaboo.tracking, in a real browser: `mlflow server` on a local SQLite store
holding two short training runs, opened in a headless Chromium at the experiment's page and at the links the
tracker prints. Both runs must be listed in the runs table of the Model training view (not "Traces 0").

Needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`; elsewhere point PICABOO_CHROMIUM at a
Chromium or Chrome), Playwright's Python package (`pip install playwright`, no browser download) and MLflow's
web page (the full `mlflow` package; `mlflow-skinny` has no UI); without them the test is skipped.
PICABOO_TRACKING_STORE=/path/to/mlflow.db checks an existing store instead of making one; with the store of
nbs/06b_tracking.ipynb's two runs (run the chapter but its last cell, which deletes the folder `tmp`) and
PICABOO_SCREENSHOT=nbs/images/tracking-runs.png, it refreshes the chapter's screenshot."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_NAMES = ("lr=0.0003", "lr=0.003")  # the chapter's two runs
MLFLOW = Path(sys.executable).with_name("mlflow")


def mlflow_ui_missing() -> str|None:
    "Why MLflow's web page cannot be served here, or None when it can."
    try:
        import mlflow
    except ImportError:
        return "the MLflow UI test needs `pip install mlflow`"
    if not (Path(mlflow.__file__).parent/"server"/"js"/"build"/"index.html").is_file() or not MLFLOW.exists():
        return "the MLflow UI test needs the full `mlflow` package (mlflow-skinny has no web page)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_store(folder:Path) -> str:
    "Two short real runs, as the chapter logs them: a tiny PicabooLM at two learning rates; returns the store's URI."
    import torch
    from picaboo.data import shipped_dir
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.tokenizer import load_tokenizer
    from picaboo.tracking import start_tracking
    tok = load_tokenizer(shipped_dir())
    ids = torch.tensor(tok.encode("A list holds items in order; a tuple cannot change once it is made. " * 20))
    params = PicabooLMParams.preset("tiny", vocab_size=tok.vocab_size, context_length=16, num_blocks=1, num_heads=2,
                                    d_model=32, device="cpu")
    uri = f"sqlite:///{folder}/mlflow.db"
    for learning_rate in (3e-4, 3e-3):
        torch.manual_seed(0)
        model = PicabooLM(params)
        optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
        tracker = start_tracking(run_name=f"lr={learning_rate:g}", tracking_uri=uri, fallback_dir=folder/"fallback")
        tracker.log_params({"learning_rate": learning_rate, "model": params.to_dict()})
        for step in range(1, 11):
            starts = torch.randint(0, len(ids) - 17, (4,)).tolist()
            x = torch.stack([ids[s:s + 16] for s in starts])  # (B, T)
            y = torch.stack([ids[s + 1:s + 17] for s in starts])  # (B, T)
            _, loss = model(x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            tracker.log_metrics({"train_loss": loss.item()}, step=step)
        assert "NOT LOGGED" not in tracker.finish()
    return uri


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    "The URI of a local store holding the two runs: PICABOO_TRACKING_STORE's, else a new one."
    if reason := mlflow_ui_missing():
        pytest.skip(reason)
    if os.environ.get("PICABOO_TRACKING_STORE"):
        return f"sqlite:///{Path(os.environ['PICABOO_TRACKING_STORE']).resolve()}"
    return make_store(tmp_path_factory.mktemp("tracking-ui"))


@pytest.fixture(scope="module")
def ui(store, tmp_path_factory):
    "`mlflow server` on the store, on a free loopback port; yields its address."
    port, log = free_port(), tmp_path_factory.mktemp("mlflow-ui")/"server.log"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job-runner processes: starts faster
    cmd = [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--backend-store-uri", store]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{address}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"mlflow server did not start; its log: {log.read_text()[-2000:]}")
        yield address
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: mlflow's CLI and its uvicorn worker
        proc.wait(10)


def printed_links(store:str, ui:str, folder:Path) -> list[str]:
    "The links a tracker prints when it finishes a run of the store (runs table, then the run), pointed at `ui`."
    from mlflow import MlflowClient

    from picaboo.tracking import start_tracking
    client = MlflowClient(store)
    run = client.search_runs([client.get_experiment_by_name("picaboo").experiment_id])[0]
    summary = start_tracking(run_id=run.info.run_id, tracking_uri=store, fallback_dir=folder/"fallback").finish()
    links = re.findall(r"http://127\.0\.0\.1:5000/\S+", summary)  # where `mlflow ui` serves by default
    assert len(links) == 2 and run.info.run_id in links[1], summary
    return [link.replace("http://127.0.0.1:5000", ui) for link in links]


def shows_runs(page) -> bool:
    "True once both runs are listed on the page."
    try:
        for name in RUN_NAMES:
            page.get_by_text(name, exact=True).first.wait_for(state="visible", timeout=20_000)
    except Exception:
        return False
    return True


def dismiss(page, button:str):
    "Click `button` if the page shows it (a tip or side panel MLflow opens by itself)."
    try:
        page.get_by_role("button", name=button).first.click(timeout=3_000)
    except Exception:
        pass


def test_mlflow_ui_lists_the_training_runs(browser, store, ui, tmp_path):
    runs_link, run_link = printed_links(store, ui, tmp_path)
    page = browser.new_page(viewport={"width": 1200, "height": 700})
    page.goto(runs_link)  # the link the tracker prints first: the experiment's runs, Model training view
    assert shows_runs(page), page.inner_text("body")[:1000]
    assert "No data available" not in page.inner_text("body") and "workflowType=machine_learning" in page.url
    dismiss(page, "Close")  # the assistant's side panel: more room for the runs
    page.locator("label:has(input[value=CHART])").first.click()  # the chart view: every run's curves
    page.get_by_text("train_loss", exact=True).first.wait_for(state="visible", timeout=20_000)
    assert shows_runs(page)
    page.wait_for_timeout(1_000)  # let the charts finish drawing
    screenshot = tmp_path/"tracking-runs.png"
    page.screenshot(path=str(screenshot))
    assert 5_000 < screenshot.stat().st_size < 300_000
    if os.environ.get("PICABOO_SCREENSHOT"):
        shutil.copy(screenshot, ROOT/os.environ["PICABOO_SCREENSHOT"])
    page.close()

    context = browser.new_context(viewport={"width": 1200, "height": 700})  # a fresh browser: no remembered view
    page = context.new_page()
    page.goto(run_link)  # the run's own page
    page.get_by_text("train_loss").first.wait_for(state="visible", timeout=20_000)
    assert any(name in page.inner_text("body") for name in RUN_NAMES)
    context.close()

    context = browser.new_context(viewport={"width": 1200, "height": 700})  # again a fresh browser
    page = context.new_page()
    page.goto(runs_link.split("/runs")[0])  # the experiment's bare address, as a click in the experiment list gives
    if not shows_runs(page):  # MLflow 3.17 opens GenAI's "Traces 0" here: the switch at the top left fixes it
        dismiss(page, "Got it")  # a tip about traces, over the page
        page.get_by_text("Model training", exact=True).first.click()
        assert shows_runs(page), page.inner_text("body")[:1000]
    context.close()
