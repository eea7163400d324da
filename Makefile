# cckpi: two commands for a new user, `make demo` and `make test`.
# Both build the virtual environment and install what they need first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench soak prometheus generate clean kafka chromium

# The engine is compiled with mypyc at install (setup.py): a change to one of its
# sources reinstalls, which rebuilds it (CCKPI_COMPILE=0 installs it interpreted).
COMPILED_SOURCES := $(wildcard streams/kpi/*.py) streams/events/decode.py streams/events/instant.py

$(STAMP): pyproject.toml setup.py $(COMPILED_SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# Debian's prometheus (with promtool) for the rule tests and the live Prometheus tests.
prometheus:
	@if ! command -v promtool >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's prometheus package (promtool)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) \
	      || echo "could not install prometheus: its tests will be skipped"; \
	  else echo "promtool missing and not root: the Prometheus tests will be skipped"; fi; \
	fi

# Apache Kafka (the version deploy/kafka/pom.xml pins) for the tests and the bench on the
# production broker: Java 17 and Maven from Debian if missing, then the jars from Maven
# Central into ~/.cache/cckpi/kafka-<version> (once).
kafka: $(STAMP)
	@if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's openjdk-17-jre-headless and maven"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      openjdk-17-jre-headless maven >/dev/null) \
	      || echo "could not install Java and Maven: the Kafka tests will be skipped"; \
	  else echo "java or mvn missing and not root: the Kafka tests will be skipped"; fi; \
	fi
	@if command -v mvn >/dev/null 2>&1; then $(BIN)/python -m streams.kafka_local jars; fi
# Debian's chromium for the board's browser tests (Playwright drives it; never `playwright install`).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium package"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the board's browser tests will be skipped"; \
	  else echo "chromium missing and not root: the board's browser tests will be skipped"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/cckpi demo --history-days 91

lint: $(STAMP)
	$(BIN)/ruff check streams tests $(wildcard bench)
	$(BIN)/ruff format --check streams tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) prometheus chromium kafka lint typecheck
	$(BIN)/pytest -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/python -m bench.soak

generate: $(STAMP)
	$(BIN)/cckpi rules
	$(BIN)/cckpi dashboards

clean:
	rm -rf $(VENV) run .mypy_cache .ruff_cache .pytest_cache .hypothesis
	rm -rf build streams/_compiled.py *__mypyc.*.so
	find streams -name '*.so' -delete
