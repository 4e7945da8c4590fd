# ragconf — the two commands a newcomer needs:
#   make demo   simulator + sync + API on embedded defaults (creates .venv if missing)
#   make test   installs everything, lints, runs the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -m "not slow"
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install demo test lint unit docs-check compose-check notebook bench clean

install: $(VENV)/.installed

# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: install
	$(VENV)/bin/ragconf demo

lint: install
	$(VENV)/bin/ruff check ragconf tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: install
	$(PY) -m pytest $(PYTEST_ARGS)

test: install lint unit

clean:
	rm -rf .ragconf .pytest_cache .mypy_cache .ruff_cache
