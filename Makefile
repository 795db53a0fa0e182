# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STORE := var/digest.sqlite3

.PHONY: run test bench clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/digest --store $(STORE) ingest --no-progress archives/*
	@echo
	$(BIN)/digest --store $(STORE) build --week latest

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ingest.py --compare-mu
	$(BIN)/python bench/huge_message.py
	$(BIN)/python bench/parse_speed.py
	$(BIN)/python bench/links_eval.py
	$(BIN)/python bench/links_speed.py
	$(BIN)/python bench/classify_eval.py
	$(BIN)/python bench/partners_eval.py
	$(BIN)/python bench/digest_build.py

clean:
	rm -rf $(VENV) var build *.egg-info
