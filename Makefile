# The two commands: `make run` serves the demo on 127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# `make run`: the api, and the worker beside it (hold and no-show sweeps, the night
# allocation at each cutoff). `make run DISTRICT_SIM=1`: also the district platform
# simulator on :8100, with the api and the worker pointed at it (a development secret);
# the worker then relays the outbox, applies suspensions, and reconciles, which at start
# sends the simulator the demo's whole state. Ctrl-C stops them all.
DISTRICT_SIM ?=
DISTRICT_ENV := PARKING_DISTRICT_URL=http://127.0.0.1:8100 \
	PARKING_DISTRICT_SECRET=whsec_bG9jYWwtZGlzdHJpY3Qtc2VjcmV0LWNoYW5nZS1tZSE=

run: $(STAMP)
	$(BIN)/parking migrate
	$(BIN)/parking seed-demo
	@echo "Pages: http://127.0.0.1:8000/app/   API: http://127.0.0.1:8000/   docs: http://127.0.0.1:8000/schema   health: http://127.0.0.1:8000/health"
ifeq ($(DISTRICT_SIM),1)
	@echo "District simulator: http://127.0.0.1:8100/sim/state"
	export $(DISTRICT_ENV); \
	$(BIN)/parking district-sim --port 8100 & sim=$$!; \
	$(BIN)/parking worker & worker=$$!; \
	trap 'kill $$sim $$worker' EXIT; \
	$(BIN)/parking serve --host 127.0.0.1 --port 8000
else
	$(BIN)/parking worker & worker=$$!; \
	trap 'kill $$worker' EXIT; \
	$(BIN)/parking serve --host 127.0.0.1 --port 8000
endif

# The browser tests drive Debian's chromium (never a downloaded browser), and the pages'
# Chinese needs a CJK font: both are installed with apt where they are missing.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei
browser:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-zenhei"; \
	if [ -n "$$missing" ]; then \
	  echo "installing with apt for the browser tests:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(STAMP) browser
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check parking pricing allocator integrations tests bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
