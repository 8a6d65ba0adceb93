# picaboo: the README's two commands (`make demo`, `make test`) and a few more for working on the book.
# Only Python >= 3.10 is needed; everything else goes into .venv.

PYTHON ?= python3
VENV   ?= .venv
# The PyTorch requirement: plain `torch` for readers; CI pins the CPU wheel with TORCH="torch==2.13.0".
TORCH  ?= torch
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.picaboo-setup

.PHONY: setup demo test export readme docs check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "picaboo needs Python >= 3.10; this is " + sys.version.split()[0] + " (set PYTHON=python3.x)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@# JupyterLab in this venv cleans a notebook as it saves it (nbdev's hook), so running a chapter leaves git clean
	@mkdir -p $(VENV)/etc/jupyter
	@printf '%s\n' 'def nbdev_clean_jupyter(**kwargs):' '    from nbdev.clean import clean_jupyter' '    clean_jupyter(**kwargs)' '' \
	  'c.ContentsManager.pre_save_hook = nbdev_clean_jupyter' > $(VENV)/etc/jupyter/jupyter_server_config.py
	@touch $@

setup: $(STAMP)  ## create .venv and install picaboo with the dev extra

demo: setup  ## the book end to end on the built-in corpus
	$(BIN)/picaboo demo

test: setup  ## every notebook (nbdev-test) and the integration tests (pytest)
	$(BIN)/python tools/run_tests.py

export: setup  ## notebooks -> picaboo/, and clean notebooks; run before every commit
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean

readme: setup  ## README.md from nbs/index.ipynb
	$(BIN)/python tools/make_readme.py

docs: setup  ## the Quarto website (render needs quarto; checks always run)
	$(BIN)/python tools/docs.py

check: setup  ## the package matches the notebooks, notebooks are clean, README is in sync, lines pass ruff
	$(BIN)/nbdev-export
	git diff --exit-code -- picaboo || (echo "picaboo/ is out of step with nbs/: run make export and commit"; exit 1)
	$(BIN)/nbdev-clean
	git diff --exit-code -- nbs || (echo "nbs/ has uncleaned notebooks: run make export and commit"; exit 1)
	$(BIN)/python tools/make_readme.py --check
	$(BIN)/ruff check picaboo || (echo "picaboo/ has lines the house style forbids: fix them in the notebooks, then make export"; exit 1)
	$(BIN)/ruff check bench || (echo "bench/ has lines the house style forbids"; exit 1)

clean:  ## remove build outputs (not .venv, not models/)
	rm -rf _docs _proc build *.egg-info .pytest_cache
