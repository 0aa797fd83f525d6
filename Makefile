# The two commands: `make demo` and `make test`. Both install what is missing first.
#   make demo [DURATION=40] [PARK=path/to/park.yaml]
#   make test         (make test-unit: the unit tests alone, no services)
PY       ?= $(shell command -v python3.11 || command -v python3)
VENV     := .venv
BIN      := $(VENV)/bin
DURATION ?= 40
PARK     ?=

.PHONY: install demo test test-unit lint typecheck pytest stack-up stack-down status bench clean

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

bench: install stack-up
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_pipeline.py

clean:
	-$(BIN)/symbiosis stack down
	rm -rf .stack $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
