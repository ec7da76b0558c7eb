# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_OUT ?= demo-output
JOBS   ?= 2

.PHONY: install demo test test-all bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## demo: central-injection radial PDE to 1000 h + zeta bifurcation diagram + HTML report
demo: $(STAMP)
	$(BIN)/oncoscale demo --out $(DEMO_OUT)

## test: the default suite (slow tests excluded), on $(JOBS) processes
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --durations=15

## test-all: every test, slow ones included
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) -m "" --durations=25

## bench: the benchmark suite (prints ratios and absolute times)
bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache
