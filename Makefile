# Two commands do all the set-up (see README.md):
#   make lab    install everything into .venv and open JupyterLab on the tutorials
#   make test   install everything into .venv and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.medinteract-installed
PYTEST_ARGS ?=

.PHONY: lab test install bench binder notebooks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

# Solutions notebooks are executed by tests/test_teach.py, which checks every exercise.
test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --ignore=notebooks/solutions \
		--nbval-lax --nbval-current-env $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Keep stored outputs only where nbval checks them (see notebooks/README.md).
notebooks: $(STAMP)
	$(BIN)/python -m medinteract.teach.nbclean notebooks

binder: $(STAMP)
	$(BIN)/python binder/update.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
