# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp depends on pyproject.toml, so a changed dependency list reinstalls.
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck typecheck-js pytest bench install system clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test,dev,voice]'
	touch $(STAMP)

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

# The widgets' JS: JSDoc types checked by TypeScript (tsc --checkJs, no emit; package.json pins
# it as a devDependency, npm ci installs exactly package-lock.json into node_modules/).
JS_STAMP := node_modules/.installed

$(JS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(JS_STAMP)

typecheck-js: $(JS_STAMP)
	node_modules/.bin/tsc -p tsconfig.json

pytest: $(STAMP) system
	$(BIN)/pytest

test: lint typecheck typecheck-js pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
