# The two commands: `make demo` and `make test`. Both install what is missing first.
#   make demo [DURATION=40] [PARK=path/to/park.yaml]
#   make test         (make test-unit: the unit tests alone, no services)
#   make bench-peers  (the benchmark peers' own venv, .venv-peers; see bench/peers/README.md)
PY       ?= $(shell command -v python3.11 || command -v python3)
VENV     := .venv
BIN      := $(VENV)/bin
# the benchmark peers (bare consumer, Quix Streams) in their own venv: quixstreams pins pydantic<2.14
PEERS_VENV := .venv-peers
PEERS_PY   := $(PEERS_VENV)/bin/python
DURATION ?= 40
PARK     ?=

.PHONY: install demo test test-unit lint typecheck pytest stack-up stack-down status bench bench-peers clean

$(BIN)/.installed: pyproject.toml
	@echo "installing: Python venv and dependencies into $(VENV)" >&2
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip >&2
	@$(BIN)/python -m pip install -q -e '.[dev]' >&2
	@# the tests' Sparkplug B edge node; its metadata says paho-mqtt<2, but it runs on paho 2
	@# (version-1 callbacks), so it is installed without letting pip downgrade paho
	@$(BIN)/python -m pip install -q --no-deps 'pysparkplug==0.6.1' >&2
	@touch $@

install: $(BIN)/.installed

$(PEERS_VENV)/.installed: bench/peers/requirements.txt
	@echo "installing: the benchmark peers' venv $(PEERS_VENV) (bench/peers/requirements.txt)" >&2
	@test -x $(PEERS_PY) || $(PY) -m venv $(PEERS_VENV)
	@$(PEERS_PY) -m pip install -q --upgrade pip >&2
	@$(PEERS_PY) -m pip install -q -r bench/peers/requirements.txt >&2
	@touch $@

bench-peers: $(PEERS_VENV)/.installed

demo: install
	@$(BIN)/symbiosis demo --duration $(DURATION) $(if $(PARK),--park $(PARK)) \
		--screenshot .stack/demo/dashboard.png

stack-up: install
	@$(BIN)/symbiosis stack up

stack-down: install
	@$(BIN)/symbiosis stack down

status: install
	@$(BIN)/symbiosis stack status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install stack-up
	$(BIN)/pytest

# the unit tests alone: no services, well under 30 s
test-unit: install
	$(BIN)/pytest tests/unit

test: lint typecheck pytest

bench: install bench-peers stack-up
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_pipeline.py

clean:
	-$(BIN)/symbiosis stack down
	rm -rf .stack $(VENV) $(PEERS_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
