# The README's commands. `make test` and `make demo` work on a fresh machine: they install what
# they need (redis-server from Debian's packages, Python packages into .venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RQ_OLDEST := 2.0.0
OLD_VENV := .venv-rq$(RQ_OLDEST)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

DURATION ?= 600

.PHONY: test lint demo bench chaos chaos-soak deps system-deps venv test-rq-oldest clean

test: deps
	$(BIN)/pytest -q tests $(PYTEST_ARGS)
	$(MAKE) test-rq-oldest
	$(MAKE) chaos

lint: venv
	$(BIN)/ruff check hasched tests chaos bench demo grafana
	$(BIN)/ruff format --check hasched tests chaos bench demo grafana
	$(BIN)/mypy

demo: deps
	$(BIN)/python demo/demo.py

bench: deps
	$(BIN)/python bench/bench.py

# Real clusters under faults; a summary table at the end, JSON under chaos/results/.
chaos: deps
	$(BIN)/pytest -q chaos $(PYTEST_ARGS)

# The SIGKILL scenario stretched to DURATION seconds (default 600).
chaos-soak: deps
	HASCHED_CHAOS_DURATION=$(DURATION) $(BIN)/pytest -q chaos -k sigkill_leader_repeatedly --timeout $$(( $(DURATION) + 300 ))

deps: system-deps venv

# Debian packages the tests run for real (redis-server; prometheus and promtool for the
# dashboard and alert tests; faketime for the clock-skew scenario; openssl for the TLS test;
# systemd-analyze for the unit files; iproute2 for the multi-host test; chromium and its driver for
# the web UI's browser tests). Installed when missing.
APT_NEEDS := redis-server:redis-server prometheus:prometheus promtool:prometheus faketime:faketime \
	openssl:openssl systemd-analyze:systemd ip:iproute2 redis-sentinel:redis-sentinel \
	chromium:chromium chromedriver:chromium-driver
system-deps:
	@missing=""; for pair in $(APT_NEEDS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip>=25.1'
	$(BIN)/pip install -q -e '.[hiredis,web]' --group dev
	touch $@

# RQ's job format must be what the oldest supported RQ reads and writes too.
test-rq-oldest: deps
	test -x $(OLD_VENV)/bin/python || $(PYTHON) -m venv $(OLD_VENV)
	$(OLD_VENV)/bin/pip install -q --upgrade 'pip>=25.1'
	$(OLD_VENV)/bin/pip install -q -e . --group dev 'rq==$(RQ_OLDEST)'
	$(OLD_VENV)/bin/python -c 'import rq; assert rq.__version__ == "$(RQ_OLDEST)", rq.__version__'
	$(OLD_VENV)/bin/pytest -q tests/test_rq_compat.py tests/test_commit.py

clean:
	rm -rf $(VENV) $(OLD_VENV) .pytest_cache .mypy_cache .ruff_cache
