# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp depends on pyproject.toml, so a changed dependency list reinstalls.
STAMP  := $(VENV)/.installed
# TypeScript (only to check the widgets' JSDoc; nothing is bundled): reinstalled when the lock changes.
NPM_STAMP := node_modules/.installed

.PHONY: demo test lint typecheck jscheck pytest bench install system clean

# Says what it installs and shows pip's progress (a first install takes a few minutes).
EXTRAS := lab,test,dev,offline,chat
$(STAMP): pyproject.toml
	@echo "==> [1/3] Python environment in $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] Upgrading pip"
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	@echo "==> [3/3] Installing realtime_widgets and its extras [$(EXTRAS)]: JupyterLab, the test"
	@echo "    and dev tools, offline speech, chat (a first install takes 2-3 minutes; pip's"
	@echo "    progress follows)"
	$(BIN)/python -m pip install --progress-bar on -e '.[$(EXTRAS)]'
	touch $(STAMP)
	@echo "==> Installed into $(VENV)"

install: $(STAMP)

# Debian's chromium for the browser tests (as root: installed; otherwise: told what to install).
system:
	bash scripts/system-packages

# JupyterLab refuses to run as root unless told; machines here run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True,)

# The URL JupyterLab prints opens the playground notebook itself, not the Launcher.
DEMO_NOTEBOOK := notebooks/00_playground.ipynb

demo: $(STAMP)
	@echo "Starting JupyterLab on the playground (embedded local server, no key needed)."
	@echo "Open the http://127.0.0.1:.../lab/tree/$(DEMO_NOTEBOOK)?token=... URL printed below."
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(ROOT_FLAG) --LabApp.default_url=/lab/tree/$(DEMO_NOTEBOOK)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

# The widgets' .js files against their JSDoc types (tsconfig.json: strict, checkJs, noEmit).
jscheck: $(NPM_STAMP)
	node_modules/.bin/tsc -p tsconfig.json

# The suite in two phases, both always run (the exit status is the first failure's):
# everything but the browser tests on TEST_WORKERS processes (pytest-xdist; a test file stays
# on one worker, so its module fixtures are made once), then the browser tests alone in one
# process: they play a fake microphone in real time and check positions on its clock, which
# another process's load would skew. Each phase lists its slowest tests.
TEST_WORKERS ?= 2
pytest: $(STAMP) system
	status=0; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=15 --ignore=tests/browser \
	    || status=$$?; \
	$(BIN)/pytest --durations=15 tests/browser || { s=$$?; [ $$status -ne 0 ] || status=$$s; }; \
	exit $$status

test: lint typecheck jscheck pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
