# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_OUT ?= demo-output
JOBS   ?= 2

.PHONY: install demo test test-all bench bench-check lint clean browser browser-test docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## demo: central-injection radial PDE to 1000 h + zeta bifurcation diagram + HTML report
demo: $(STAMP)
	$(BIN)/oncoscale demo --out $(DEMO_OUT)

## browser: Debian's headless chromium (+ chromedriver) for the real-browser tests. Installed
## with apt-get when missing and we are root (CI, a fresh machine); otherwise says how.
browser:
	@if [ -x /usr/bin/chromium ]; then \
	  echo "browser tests: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian chromium + chromium-driver for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; \
	else \
	  echo "WARNING: no /usr/bin/chromium: the browser tests will FAIL. Install it with" \
	       "'sudo apt-get install chromium chromium-driver' (or 'sudo make browser')."; \
	fi

## test: the default suite (slow tests excluded; browser tests included), on $(JOBS) processes
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup --durations=15

## browser-test: only the real-browser tests of the explorer (screenshots: test-artifacts/)
browser-test: $(STAMP) browser
	$(BIN)/python -m pytest -q -m browser -s tests/browser

## docs: the documentation site in site/ (warnings are errors; gallery figures cached)
docs: $(STAMP)
	$(BIN)/python docs/scripts/gallery.py
	$(BIN)/python docs/scripts/decisions.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## test-all: every test, slow ones included
test-all: $(STAMP) browser
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup -m "" --durations=25

## bench: the benchmark suite (prints ratios and absolute times)
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## bench-check: the quick benchmarks, failing if a speed ratio falls below its floor
## (benchmarks/floors.toml); CI runs it
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks --quick --check

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache site test-artifacts
