__all__ = ['JOURNAL_DIR', 'FallbackFolder', 'journal_folder', 'find_journals', 'replay_fallback']

# %% ../nbs/06b_tracking.ipynb #85a3f0e5
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from .data import atomic_write_bytes
from .tracking_store import _deliver, _open_run, resolve_tracking_uri

# %% ../nbs/06b_tracking.ipynb #1864c7c3
def _link_or_copy(src:Path, dst:Path):
    "Snapshot a file or folder at `dst` with hard links (instant, no extra space), copying where links fail."
    def link(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=link, dirs_exist_ok=True)
    else:
        link(src, dst)

class FallbackFolder:
    "A local journal of what could not be sent to MLflow: params.json, metrics.jsonl, artifacts/, meta.json."
    def __init__(self, path:Path, meta:dict): self.path, self.meta = Path(path), dict(meta)

    def write_meta(self, **changes):
        self.meta.update(changes)
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path/"meta.json", json.dumps(self.meta, indent=1).encode("utf-8"))

    def keep(self, op:dict):
        "Append one logging operation to the journal."
        if not (self.path/"meta.json").exists():
            self.write_meta()
        if op["kind"] == "params":
            file = self.path/"params.json"
            params = json.loads(file.read_text(encoding="utf-8")) if file.exists() else {}
            atomic_write_bytes(file, json.dumps({**params, **op["params"]}, indent=1).encode("utf-8"))
        elif op["kind"] == "metrics":
            with open(self.path/"metrics.jsonl", "a", encoding="utf-8") as f:
                for key, value, timestamp, step in op["metrics"]:
                    f.write(json.dumps({"key": key, "value": value, "timestamp": timestamp, "step": step}) + "\n")
        elif op["kind"] == "status":
            self.write_meta(status=op["status"])
        else:  # "file" or "dir": an artifact staged in the tracker's staging folder
            dst = self.path/"artifacts"/(op["artifact_path"] or "")
            _link_or_copy(op["path"], dst/op["path"].name if op["kind"] == "file" else dst)

# %% ../nbs/06b_tracking.ipynb #701fe796
JOURNAL_DIR = "tracking-journal"  # the folder, inside a run's folder, that holds its trackers' journals

def journal_folder(run_folder, # the run's own folder (the trainer passes its checkpoints folder)
                  ) -> Path:
    "A new journal folder for one tracker: run_folder/tracking-journal/<time>-<random id>."
    return Path(run_folder)/JOURNAL_DIR/f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"

def find_journals(folder, # a journal, a run folder, or any folder above them
                 ) -> list[Path]:
    "The journals at or under `folder` (folders holding a meta.json), oldest first."
    folder = Path(folder)
    if (folder/"meta.json").is_file():
        return [folder]
    return sorted(p.parent for p in folder.rglob(f"{JOURNAL_DIR}/*/meta.json"))

# %% ../nbs/06b_tracking.ipynb #ea57c70b
def replay_fallback(folder, # a fallback folder written by a tracker
                    tracking_uri:str|None=None, # default: the URI the run was meant for
                   ) -> str:
    "Send a fallback folder's params, metrics and artifacts to MLflow; returns the run id."
    from mlflow import MlflowClient
    folder = Path(folder)
    if not (folder/"meta.json").is_file():
        raise FileNotFoundError(f"{folder} is not a fallback folder: it has no meta.json")
    meta = json.loads((folder/"meta.json").read_text(encoding="utf-8"))
    uri = resolve_tracking_uri(tracking_uri or meta["tracking_uri"])
    client, run_id = MlflowClient(uri), meta.get("run_id")
    try:
        run = client.get_run(run_id) if run_id else None
    except Exception:
        run = None
    run = run or _open_run(client, meta["experiment"], meta.get("run_name"), uri)
    run_id = run.info.run_id
    if (folder/"params.json").exists():
        params = json.loads((folder/"params.json").read_text(encoding="utf-8"))
        _deliver(client, run_id, dict(kind="params", params=params))
    if (folder/"metrics.jsonl").exists():
        lines = (folder/"metrics.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        have = set()  # (key, step, timestamp) the run already holds: replaying twice sends nothing twice
        for key in {r["key"] for r in rows}:
            have |= {(m.key, m.step, m.timestamp) for m in client.get_metric_history(run_id, key)}
        rows = [(r["key"], r["value"], r["timestamp"], r["step"]) for r in rows
                if (r["key"], r["step"], r["timestamp"]) not in have]
        _deliver(client, run_id, dict(kind="metrics", metrics=rows))
    if (folder/"artifacts").is_dir():
        client.log_artifacts(run_id, str(folder/"artifacts"))
    client.set_terminated(run_id, status=meta.get("status") or "FINISHED")
    meta.update(run_id=run_id, replayed_to=uri)
    atomic_write_bytes(folder/"meta.json", json.dumps(meta, indent=1).encode("utf-8"))
    return run_id