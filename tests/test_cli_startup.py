"""Help and argument errors come at once: no command imports PyTorch or MLflow before it runs.

For every command in `CLI_COMMANDS`, and every subcommand under it (`tokenizer train`, `data encode`, ...), a
fresh process runs `picaboo ... --help`, an unknown flag and, where the command has a numeric option, a value
that is not a number; after each one, `torch` and `mlflow` must not be in `sys.modules`.
"""
import json
import subprocess
import sys

import pytest

from picaboo.cli import CLI_COMMANDS

HEAVY = ("torch", "mlflow")

RUNNER = r'''
import argparse, contextlib, io, json, sys
from picaboo.cli import build_parser, main

def is_number(action) -> bool:
    "True for an option that parses a number (int, float, or a typed 'or none' parser)."
    return bool(action.option_strings) and getattr(action.type, "__name__", "") in ("int", "float")

def cases(parser, words):
    "(argv, expected exit status) for `parser` and each subcommand below it."
    yield words + ["--help"], 0
    yield words + ["--no-such-flag"], 2
    numeric = next((a for a in parser._actions if is_number(a)), None)
    if numeric is not None:
        yield words + [numeric.option_strings[-1], "not-a-number"], 2
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from cases(sub, words + [name])

command = sys.argv[1]
top = next(a for a in build_parser(command)._actions if isinstance(a, argparse._SubParsersAction))
results = []
for argv, expected in cases(top.choices[command], [command]):
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code
    heavy = [m for m in ("torch", "mlflow") if m in sys.modules]
    results.append(dict(argv=argv, expected=expected, status=status, heavy=heavy,
                        said=(out.getvalue() + err.getvalue())[-300:]))
print(json.dumps(results))
'''


@pytest.mark.parametrize("command", sorted(CLI_COMMANDS))
def test_help_and_argument_errors_import_no_torch(command:str):
    r = subprocess.run([sys.executable, "-c", RUNNER, command], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads(r.stdout.splitlines()[-1])
    assert len(results) >= 2, results
    for case in results:
        line = " ".join(["picaboo", *case["argv"]])
        assert case["status"] == case["expected"], f"{line}: exit {case['status']}: {case['said']}"
        assert not case["heavy"], f"{line} imported {case['heavy']}"
        if case["expected"] == 2:
            assert "error" in case["said"], f"{line} said: {case['said']}"


def test_the_runner_sees_an_import():
    "The check above would catch a command that imports PyTorch: importing the model does."
    probe = "import sys, picaboo.model; print(json.dumps([m for m in %r if m in sys.modules]))" % (HEAVY,)
    r = subprocess.run([sys.executable, "-c", "import json; " + probe], capture_output=True, text=True, timeout=120)
    assert "torch" in json.loads(r.stdout), r.stderr
