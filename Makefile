# ragconf — the two commands a newcomer needs:
#   make demo   simulator + sync + API on embedded defaults (creates .venv if missing)
#   make test   installs everything, lints, runs the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -m "not slow"
# optional extras to install; CI adds llm (a real llama.cpp server for /answer's e2e test)
EXTRAS ?= dev
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

# torch comes first, pinned, and on Linux from PyTorch's CPU wheel index: PyPI's Linux torch
# is the CUDA build (about 20 CUDA packages, several GB). Where that index is unreachable the
# default index is used (it may hold a local CPU wheel). For a GPU build, name its index:
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH := torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
OS ?= $(shell uname -s)

.PHONY: install install-torch install-llama demo test lint unit docs docs-check compose-check notebook slow bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(MAKE) --no-print-directory install-torch
	$(MAKE) --no-print-directory install-llama
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

# The llm extra's llama-cpp-python compiles llama.cpp from source. Its default native build
# (-march=native) crashed the server on its first completion on a VM whose CPU reports AMX
# and AVX-512 (a general protection fault in libggml-cpu): so a portable AVX2 build,
# compiled here and not taken from pip's wheel cache, whose key ignores CMAKE_ARGS (a
# natively built wheel would come back). Keep the version in step with pyproject's llm extra.
LLAMA := llama-cpp-python[server]==0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF \
	-DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
install-llama:
	@if echo ",$(EXTRAS)," | grep -q ",llm,"; then \
	  echo "building $(LLAMA) (portable: $(LLAMA_CMAKE_ARGS); about 12 minutes on 2 cores)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q --no-cache-dir '$(LLAMA)'; \
	fi

install-torch:
	@if [ "$(OS)" = Linux ] && [ -n "$(TORCH_INDEX)" ]; then \
	  echo "installing $(TORCH) from $(TORCH_INDEX)"; \
	  $(PY) -m pip install -q --retries 1 --timeout 30 $(TORCH) --index-url $(TORCH_INDEX) \
	  || { echo "$(TORCH_INDEX) is unreachable: installing $(TORCH) from the default index" >&2; \
	       $(PY) -m pip install -q $(TORCH); }; \
	else \
	  $(PY) -m pip install -q $(TORCH); \
	fi

# Ctrl-C stops the API and the simulator; DEMO_ARGS passes options, e.g. DEMO_ARGS="--port 8080"
demo: install
	$(VENV)/bin/ragconf demo $(DEMO_ARGS)

lint: install
	$(VENV)/bin/ruff check ragconf tests bench tools
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: install
	$(PY) -m pytest $(PYTEST_ARGS)

test: install lint unit

# The long tests (real model on bigger corpora, many crash trials).
slow: install
	$(PY) -m pytest -m slow

# Regenerate the README's CLI reference from `ragconf <command> --help`.
docs: install
	$(PY) tools/cli_reference.py

docs-check: install
	$(PY) tools/cli_reference.py --check

# Validate docker-compose.yml with Debian's docker-compose (`apt-get install docker-compose`).
compose-check: install
	$(PY) -m pytest -q tests/test_compose.py

# Execute notebooks/explore.ipynb top to bottom against the simulator's demo site.
notebook: install
	$(PY) -m pytest -q tests/test_notebook.py

clean:
	rm -rf .ragconf .pytest_cache .mypy_cache .ruff_cache
