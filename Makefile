# One-command set-up: `make demo` (main job on the embedded demo),
# `make test` (the whole test suite, as CI runs it) and `make test-quick`
# (the tests not marked slow: no subprocess, no training run). All create
# .venv and install everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch 2.14.1 / torchvision 0.29.1 are the pair this project is tested with
# (CPU runs; on GPU machines pick the wheel matching your CUDA).
TORCH ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=

.PHONY: install test test-quick demo evidence lint clean screenshots

$(VENV)/.installed: setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 'setuptools<81' wheel
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[lite,tests,web]'
	touch $@

install: $(VENV)/.installed

# --fail-on-repo-writes: a run that leaves files in the checkout fails
test: install
	$(BIN)/python -m pytest -q --fail-on-repo-writes $(PYTEST_ARGS) tests

test-quick: install
	$(BIN)/python -m pytest -q -m "not slow" --fail-on-repo-writes $(PYTEST_ARGS) tests

# The proving ground (docs/demo.md). --threads 1: the setting its run times
# were measured with (torch's default spins idle threads on a busy machine).
DEMO_THREADS ?= 1
EVIDENCE_SEEDS ?= 5

# the first world (single seed, the configs' choices; data/demo is what the
# configs, the web app and docs/inference.md use afterwards)
demo: install
	$(BIN)/python tools/run_demo.py --work-dir work_dirs/demo --data-root data/demo --threads $(DEMO_THREADS)

# the README's table: EVIDENCE_SEEDS independent evidence worlds, every
# choice on validation images, cached per seed, resumable
evidence: install
	$(BIN)/python tools/run_demo.py --world v2 --seeds $(EVIDENCE_SEEDS) --work-dir work_dirs/evidence --data-root data/evidence --threads $(DEMO_THREADS)

# The README's hero picture (docs/images/web_app.png), re-taken from the
# current page by the browser test (tests/web_app/test_browser.py: a real
# upload and run in headless Chromium through Playwright), written to a
# temporary folder and copied over the picture only when the test passed.
# Needs Chromium (Debian: apt-get install -y chromium; another binary:
# GRANZSL_CHROMIUM=/path) and the `web` extra (Playwright; installed by
# make install); Playwright never downloads a browser here.
CHROMIUM ?= $(or $(GRANZSL_CHROMIUM),/usr/bin/chromium)
screenshots: install
	@test -x '$(CHROMIUM)' || { echo "make screenshots: no Chromium at $(CHROMIUM): install it (Debian: apt-get install -y chromium) or set GRANZSL_CHROMIUM=/path/to/chromium" >&2; exit 2; }
	@$(BIN)/python -c 'import playwright.sync_api' 2>/dev/null || { echo "make screenshots: Playwright is missing from $(VENV): pip install -e '.[web]' (the web extra)" >&2; exit 2; }
	@shots=$$(mktemp -d) && \
	GRANZSL_CHROMIUM='$(CHROMIUM)' GRANZSL_REQUIRE_BROWSER=1 \
	GRANZSL_WEB_APP_SCREENSHOT=$$shots/web_app.png \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/web_app/test_browser.py && \
	cp $$shots/web_app.png docs/images/web_app.png && rm -rf $$shots && \
	echo "docs/images/web_app.png re-taken from the current page"

lint: install
	$(BIN)/ruff check granzsl_mm tools tests benchmarks configs

clean:
	rm -rf $(VENV) work_dirs
