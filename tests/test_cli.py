"""The `picaboo` command end to end, as a separate process, the way a reader runs it."""
import os, subprocess, sys
from pathlib import Path

import picaboo

PICABOO = str(Path(sys.executable).parent / "picaboo")

def run(*args, cwd=None, timeout=300):
    return subprocess.run([PICABOO, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "PICABOO_DEBUG": ""})

def _commands():
    "The subcommands the installed chapters register."
    import argparse
    from picaboo.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)

def test_help_lists_every_chapter_command():
    r = run("--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: picaboo")
    for command in _commands(): assert command in r.stdout

def test_every_command_has_help():
    for command in _commands():
        r = run(command, "--help")
        assert r.returncode == 0 and r.stdout.startswith(f"usage: picaboo {command}"), (command, r.stderr)

def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"picaboo {picaboo.__version__}"

def test_unknown_command_is_a_usage_error():
    r = run("no-such-command")
    assert r.returncode == 2 and "invalid choice" in r.stderr

def test_import_and_help_do_not_import_torch():
    "`import picaboo` and `picaboo --help` stay fast: the top-level names and the commands load on first use."
    probe = ("import sys, contextlib, io, picaboo; from picaboo.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit): main(['--help'])\n"
             "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('picaboo'))\n"
             "from picaboo import PicabooLM, generate\n"
             "assert 'torch' in sys.modules and PicabooLM.__module__ == 'picaboo.model'")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
