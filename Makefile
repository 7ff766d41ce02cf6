# The two commands: `make run` serves the demo on 127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/parking migrate
	$(BIN)/parking seed-demo
	@echo "API:  http://127.0.0.1:8000/   docs: http://127.0.0.1:8000/schema   health: http://127.0.0.1:8000/health"
	$(BIN)/parking serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check parking pricing allocator integrations tests bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
