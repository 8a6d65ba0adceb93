"""`make setup` leaves a JupyterLab that saves notebooks clean, so running a chapter leaves git clean."""
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.py"


@pytest.mark.skipif(not CONFIG.is_file(), reason="this environment was not made by `make setup`")
def test_jupyter_saves_notebooks_clean(tmp_path, monkeypatch):
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from traitlets.config import Config

    config = Config()
    exec(compile(CONFIG.read_text(encoding="utf-8"), str(CONFIG), "exec"), {"c": config})
    book = tmp_path / "book"
    (book / "nbs").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", book / "pyproject.toml")
    monkeypatch.chdir(book)  # JupyterLab is started from the repository
    manager = FileContentsManager(root_dir=str(book), config=config)
    dirty = {"cells": [{"cell_type": "code", "execution_count": 7, "id": "a1", "outputs": [],
                        "metadata": {"collapsed": False, "scrolled": True}, "source": "1 + 1"}],
             "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                          "language_info": {"name": "python", "version": "3.11.7"}},
             "nbformat": 4, "nbformat_minor": 5}
    (book / "nbs" / "ch.ipynb").write_text(json.dumps({**dirty, "cells": []}), encoding="utf-8")  # a chapter
    manager.save({"type": "notebook", "format": "json", "content": dirty}, "nbs/ch.ipynb")  # saved after Run All
    saved = json.loads((book / "nbs" / "ch.ipynb").read_text(encoding="utf-8"))
    assert saved["cells"][0]["execution_count"] is None
    assert saved["cells"][0]["metadata"] == {}
    assert "language_info" not in saved["metadata"]  # the Python version JupyterLab writes: a diff on every machine
