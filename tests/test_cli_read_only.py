"""Run from a folder it cannot write, a command says so in one line before any work: where, and which flag.

Every command that writes to the working folder by default (its --out, the local MLflow store ./mlflow.db)
is run in a read-only temporary folder; each must exit with status 2 and one line on stderr that names the
place it would write and the flag that chooses another.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUNNER = r'''
import contextlib, io, json, sys, time
from picaboo.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code
    results.append(dict(argv=argv, status=status, stderr=err.getvalue(), stdout=out.getvalue(),
                        seconds=time.perf_counter() - start))
print(json.dumps(results))
'''


DENY_WRITES = r'''
import os
_access, _folder = os.access, os.environ["PICABOO_TEST_READ_ONLY"]
def access(path, mode, *args, **kwargs):
    "os.access, except that nothing in the test's read-only folder is writable."
    if mode & os.W_OK and os.path.abspath(os.fspath(path)).startswith(_folder):
        return False
    return _access(path, mode, *args, **kwargs)
os.access = access
'''


@pytest.fixture
def read_only(tmp_path):
    "A read-only folder (the test is skipped where permissions are not enforced, e.g. as root)."
    folder = tmp_path/"read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        folder.chmod(0o755)
        pytest.skip("write permissions are not enforced here (running as root?)")
    yield folder
    folder.chmod(0o755)


def check_refusals(read_only:Path, writable:Path, env:dict):
    "Run every command that writes by default in `read_only`; each must refuse in one line, having written nothing."
    cases = {  # argv -> a word the line must contain (the flag that chooses another place)
        ("train",): "--out",
        ("train", "--out", str(writable/"run")): "--tracking-uri",  # the MLflow store ./mlflow.db
        ("train", "--out", str(writable/"run"), "--tracking-uri", "sqlite:///mlflow.db"): "--tracking-uri",
        ("finetune", "--out", "tuned"): "--out",
        ("finetune", "--out", str(writable/"tuned"), "--tracking"): "--tracking-uri",
        ("finetune-lookup", "--out", "lookup"): "--out",
        ("tokenizer", "train"): "--out",
        ("tokenizer", "encode", "--out", "ids.txt"): "--out",
        ("data", "encode", "--tokenizer", str(ROOT/"models"), "--out", "encoded"): "--out",
        ("demo",): "--out",
        ("demo", "--out", str(writable/"demo")): "--tracking-uri",
        ("eval", "--out", "cards"): "--out",
    }
    r = subprocess.run([sys.executable, "-c", RUNNER, json.dumps([list(c) for c in cases])], cwd=read_only,
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    for case, (argv, flag) in zip(json.loads(r.stdout.splitlines()[-1]), cases.items()):
        line = " ".join(["picaboo", *argv])
        said = case["stderr"].strip()
        assert case["status"] == 2, f"{line}: exit {case['status']}: {said[-500:]}"
        assert len(said.splitlines()) == 1 and "cannot write" in said and flag in said, f"{line}: {said}"
        assert str(read_only) in said, f"{line} does not say where: {said}"
    assert list(read_only.iterdir()) == [] and not writable.exists()


def clean_env(*paths) -> dict:
    "The environment without MLFLOW_TRACKING_URI (the default store is the one in the working folder)."
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PICABOO_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_commands_refuse_a_folder_they_cannot_write(read_only, tmp_path):
    check_refusals(read_only, tmp_path/"writable", clean_env())


def test_commands_refuse_a_folder_they_cannot_write_as_root(tmp_path):
    "Where permissions are not enforced (root in a container), `os.access` is made to deny the folder instead."
    (tmp_path/"deny").mkdir()
    (tmp_path/"deny"/"sitecustomize.py").write_text(DENY_WRITES, encoding="utf-8")
    folder = tmp_path/"read-only"
    folder.mkdir()
    check_refusals(folder, tmp_path/"writable", {**clean_env(tmp_path/"deny"), "PICABOO_TEST_READ_ONLY": str(folder)})
