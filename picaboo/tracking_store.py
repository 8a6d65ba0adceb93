__all__ = ['MAX_KEY_LENGTH', 'MAX_PARAM_VALUE_LENGTH', 'clean_key', 'flatten_params', 'resolve_tracking_uri']

# %% ../nbs/06b_tracking.ipynb #a6bfcbb2
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path

# %% ../nbs/06b_tracking.ipynb #0a28cbba
MAX_KEY_LENGTH = 250          # MLflow's limit on param and metric names (mlflow.utils.validation)
MAX_PARAM_VALUE_LENGTH = 6000 # MLflow's limit on a param's value
_PARAMS_PER_BATCH = 100        # most params in one log_batch request
_METRICS_PER_BATCH = 1000      # most metric values in one log_batch request

def clean_key(key:str, # a param or metric name
             ) -> str:
    "Make `key` a valid MLflow name: allowed characters only, no empty or `..` path parts, at most 250 characters."
    key = re.sub(r"[^/\w.\- :]", "_", str(key))
    key = "/".join(part for part in key.split("/") if part not in ("", ".", ".."))
    return key[:MAX_KEY_LENGTH] or "_"

def flatten_params(config, # a dict or dataclass of settings, possibly nested
                   prefix:str="", # prepended to every key (used when recursing)
                  ) -> dict[str, str]:
    "Flatten a nested config into MLflow params: dotted keys, string values cut to MLflow's length limit."
    if is_dataclass(config) and not isinstance(config, type):
        config = asdict(config)
    params = {}
    for key, value in config.items():
        key = f"{prefix}.{key}" if prefix else str(key)
        if is_dataclass(value) and not isinstance(value, type):
            value = asdict(value)
        if isinstance(value, Mapping) and value:
            params.update(flatten_params(value, key))
        else:
            value = str(value)
            if len(value) > MAX_PARAM_VALUE_LENGTH:
                value = value[:MAX_PARAM_VALUE_LENGTH - 3] + "..."
            params[clean_key(key)] = value
    return params

# %% ../nbs/06b_tracking.ipynb #484fde9b
_DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"  # MLflow's own default: a SQLite file in the working folder

def resolve_tracking_uri(uri:str|None=None, # an explicit URI; default: $MLFLOW_TRACKING_URI, else ./mlflow.db
                        ) -> str:
    "The tracking URI to use, with a local SQLite path made absolute."
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or _DEFAULT_TRACKING_URI
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
        if not os.path.isabs(path):
            uri = "sqlite:///" + os.path.abspath(path)
    return uri

def _sqlite_folder(uri:str) -> Path|None:
    "The folder holding a local SQLite store, or None for other stores."
    return Path(uri[len("sqlite:///"):]).parent if uri.startswith("sqlite:///") else None

# %% ../nbs/06b_tracking.ipynb #347bf66c
def _open_run(client, experiment:str, run_name:str|None, tracking_uri:str):
    "Find or create `experiment` and create a run in it; returns the run."
    from mlflow.exceptions import MlflowException
    from mlflow.tracking.context.registry import resolve_tags
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        folder = _sqlite_folder(tracking_uri)
        location = str(folder/"mlruns"/clean_key(experiment).replace("/", "_")) if folder else None
        try:
            experiment_id = client.create_experiment(experiment, artifact_location=location)
        except MlflowException:
            experiment_id = client.get_experiment_by_name(experiment).experiment_id  # created meanwhile
    else:
        experiment_id = exp.experiment_id
    return client.create_run(experiment_id, run_name=run_name, tags=resolve_tags())

def _is_refusal(e:Exception) -> bool:
    "True if MLflow answered and refused (a 4xx error): retrying the same request will not help."
    from mlflow.exceptions import MlflowException
    return isinstance(e, MlflowException) and 400 <= e.get_http_status_code() < 500

def _short_error(e:Exception) -> str:
    "The useful part of an MLflow client error: `[Errno 111] Connection refused` rather than a page of urllib3."
    text = str(e)
    cause = re.search(r"\[Errno -?\d+\] [^'\")]*|Read timed out|Connection aborted|RemoteDisconnected", text)
    return cause.group(0).strip() if cause else f"{type(e).__name__}: {(text.splitlines() or [''])[0][:200]}"

def _deliver(client, run_id:str, op:dict):
    "Send one logging operation to MLflow."
    from mlflow.entities import Metric, Param
    if op["kind"] == "params":
        items = [Param(k, v) for k, v in op["params"].items()]
        for i in range(0, len(items), _PARAMS_PER_BATCH):
            client.log_batch(run_id, params=items[i:i + _PARAMS_PER_BATCH])
    elif op["kind"] == "metrics":
        items = [Metric(k, v, ts, step) for k, v, ts, step in op["metrics"]]
        for i in range(0, len(items), _METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=items[i:i + _METRICS_PER_BATCH])
    elif op["kind"] == "file":
        client.log_artifact(run_id, str(op["path"]), op["artifact_path"])
    elif op["kind"] == "dir":
        client.log_artifacts(run_id, str(op["path"]), op["artifact_path"])
    else:
        client.set_terminated(run_id, status=op["status"])  # "status": the run's end

_HTTP_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
_env_lock, _env_users, _env_set = threading.Lock(), [0], {}

def _short_http_timeouts(timeout:int, on:bool):
    "Turn MLflow's short HTTP timeouts on (first open tracker) or off (last one finished); yours win if set."
    with _env_lock:
        _env_users[0] += 1 if on else -1
        if on and _env_users[0] == 1:
            for key, value in {**_HTTP_ENV, "MLFLOW_HTTP_REQUEST_TIMEOUT": str(int(timeout))}.items():
                if key not in os.environ:
                    os.environ[key] = _env_set[key] = value
        elif not on and _env_users[0] == 0:
            for key, value in _env_set.items():
                if os.environ.get(key) == value:
                    del os.environ[key]
            _env_set.clear()