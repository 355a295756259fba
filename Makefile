# One-command set-up: `make demo` (main job on the embedded demo) and
# `make test` (test suite). Both create .venv and install everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch 2.14.1 / torchvision 0.29.1 are the pair this project is tested with
# (CPU runs; on GPU machines pick the wheel matching your CUDA).
TORCH ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: install test demo lint clean

$(VENV)/.installed: setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 'setuptools<81' wheel
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[lite,tests,demo]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS) tests

demo: install
	$(BIN)/python tools/run_demo.py --work-dir work_dirs/demo

lint: install
	$(BIN)/ruff check granzsl_mm tools tests benchmarks configs

clean:
	rm -rf $(VENV) work_dirs
