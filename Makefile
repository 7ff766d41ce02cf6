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

# `make run DISTRICT_SIM=1`: also the district platform simulator on :8100 and the relay,
# with the api and relay pointed at it (a development secret); a reconciliation once the
# api is up sends the simulator the demo's whole state.
DISTRICT_SIM ?=
DISTRICT_ENV := PARKING_DISTRICT_URL=http://127.0.0.1:8100 \
	PARKING_DISTRICT_SECRET=whsec_bG9jYWwtZGlzdHJpY3Qtc2VjcmV0LWNoYW5nZS1tZSE=

run: $(STAMP)
	$(BIN)/parking migrate
	$(BIN)/parking seed-demo
	@echo "API:  http://127.0.0.1:8000/   docs: http://127.0.0.1:8000/schema   health: http://127.0.0.1:8000/health"
ifeq ($(DISTRICT_SIM),1)
	@echo "District simulator: http://127.0.0.1:8100/sim/state"
	export $(DISTRICT_ENV); \
	$(BIN)/parking district-sim --port 8100 & sim=$$!; \
	$(BIN)/parking relay & relay=$$!; \
	trap 'kill $$sim $$relay' EXIT; \
	(sleep 3 && $(BIN)/parking reconcile) & \
	$(BIN)/parking serve --host 127.0.0.1 --port 8000
else
	$(BIN)/parking serve --host 127.0.0.1 --port 8000
endif

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check parking pricing allocator integrations tests bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
