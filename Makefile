# Two commands set everything up on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install index run test clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 resolves to the CPU wheel here; anything else pulls CUDA packages.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/qa index --if-stale

# Builds the index from corpus/ if it is missing or stale, then answers questions at a prompt.
run: index
	$(BIN)/qa chat

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf index .pytest_cache
