# Two commands do all the set-up (see README.md):
#   make lab    install what the course needs into .venv-lab and open JupyterLab on the tutorials
#   make test   install the package with its test extras into .venv and run the whole test suite
# The two environments are kept apart: the course gets no test tools, and the tests run in an
# environment without itkwidgets' JupyterLab extension (it loads scripts from the internet).
PYTHON   ?= python3
VENV     ?= .venv
LAB_VENV ?= .venv-lab
BIN       = $(VENV)/bin
LAB_BIN   = $(LAB_VENV)/bin
STAMP     = $(VENV)/.medinteract-installed
LAB_STAMP = $(LAB_VENV)/.medinteract-installed
PYTEST_ARGS ?=
LAB_ARGS ?=
# Jupyter refuses to run as root without --allow-root; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test lint install install-lab bench binder notebooks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,dev]'
	touch $(STAMP)

$(LAB_STAMP): pyproject.toml binder/overrides.json
	test -x $(LAB_BIN)/python || $(PYTHON) -m venv $(LAB_VENV)
	$(LAB_BIN)/python -m pip install --quiet --upgrade pip
	$(LAB_BIN)/python -m pip install --quiet -e '.[course]'
	$(LAB_BIN)/python binder/lab_settings.py
	touch $(LAB_STAMP)

install: $(STAMP)

install-lab: $(LAB_STAMP)

lab: $(LAB_STAMP)
	$(LAB_BIN)/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

# Solutions notebooks are executed by tests/test_teach.py, which checks every exercise.
# Everything but the browser tests runs on every core (--dist loadfile keeps a notebook's cells,
# and a module's shared kernel or server, on one worker); the browser tests run after, one at a
# time, as a person uses one browser. (Exit status 5, "no tests collected", is not a failure:
# PYTEST_ARGS may select tests of one kind only.)
test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --ignore=notebooks/solutions \
		--nbval-lax --nbval-current-env -m "not browser" -n auto --dist loadfile $(PYTEST_ARGS) || test $$? -eq 5
	$(BIN)/python -m pytest tests -m browser $(PYTEST_ARGS) || test $$? -eq 5

# Static checks (CI runs them before the tests): ruff over the repository, notebooks included,
# and mypy over the package.
lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy medinteract

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Keep stored outputs only where nbval checks them (see notebooks/README.md).
notebooks: $(STAMP)
	$(BIN)/python -m medinteract.teach.nbclean notebooks

binder: $(STAMP)
	$(BIN)/python binder/update.py

clean:
	rm -rf $(VENV) $(LAB_VENV) .pytest_cache .hypothesis
