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
# Where the chaos suite's Redis runs: docker (containers, the default) or local (redis-server
# processes, for machines without Docker; then nothing Docker-related is installed or started).
HASCHED_TEST_REDIS ?= docker
CHAOS_ENV := HASCHED_TEST_REDIS=$(HASCHED_TEST_REDIS)
DOCKERD_LOG ?= /tmp/hasched-dockerd.log

DURATION ?= 600

.PHONY: test lint demo bench chaos chaos-soak deps system-deps docker-engine venv test-rq-oldest clean

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
	$(BIN)/python bench/main.py

# Real clusters under faults, Redis in containers; a summary table at the end, JSON under
# chaos/results/. Also the systemd units under a real systemd in three containers.
chaos: deps
	$(CHAOS_ENV) $(BIN)/pytest -q chaos $(PYTEST_ARGS)

# The SIGKILL scenario stretched to DURATION seconds (default 600).
chaos-soak: deps
	$(CHAOS_ENV) HASCHED_CHAOS_DURATION=$(DURATION) $(BIN)/pytest -q chaos -k sigkill_leader_repeatedly \
		--timeout $$(( $(DURATION) + 300 ))

deps: system-deps docker-engine venv

# Debian packages the tests run for real (redis-server; prometheus and promtool for the
# dashboard and alert tests; faketime for the clock-skew scenario; openssl for the TLS test;
# systemd-analyze for the unit files; iproute2 for the multi-host test; chromium and its driver for
# the web UI's browser tests). Installed when missing.
APT_NEEDS := redis-server:redis-server prometheus:prometheus promtool:prometheus faketime:faketime \
	openssl:openssl systemd-analyze:systemd ip:iproute2 redis-sentinel:redis-sentinel \
	chromium:chromium chromedriver:chromium-driver
# With the docker backend: the engine (dockerd; docker.io brings a client too) and debootstrap,
# which builds the Debian root file system of the systemd test's image.
ifneq ($(HASCHED_TEST_REDIS),local)
APT_NEEDS += dockerd:docker.io docker:docker.io debootstrap:debootstrap
endif
system-deps:
	@missing=""; for pair in $(APT_NEEDS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# A Docker engine for the docker backend: used if one answers, else started here without a bridge
# or iptables rules (containers use the host network and bind 127.0.0.1). Under CI a Docker that
# cannot be started fails the run; elsewhere the Docker tests skip and say why.
docker-engine: system-deps
ifneq ($(HASCHED_TEST_REDIS),local)
	@if ! docker info >/dev/null 2>&1; then \
		echo "starting dockerd --bridge=none --iptables=false (log: $(DOCKERD_LOG))"; \
		$(SUDO) sh -c 'nohup dockerd --bridge=none --iptables=false >$(DOCKERD_LOG) 2>&1 &'; \
		for i in $$(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; \
	fi; \
	if docker info >/dev/null 2>&1; then \
		echo "docker engine $$(docker version --format '{{.Server.Version}}')"; \
	else \
		echo "no Docker engine answers (see $(DOCKERD_LOG))"; tail -5 $(DOCKERD_LOG) 2>/dev/null; \
		[ -z "$$CI" ] || exit 1; \
	fi
endif

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
	$(OLD_VENV)/bin/pytest -q tests/test_rq_compat.py tests/test_commit.py tests/test_overlap_commit.py tests/test_overlap_cluster.py tests/test_backfill.py tests/test_backfill_race.py

clean:
	rm -rf $(VENV) $(OLD_VENV) .pytest_cache .mypy_cache .ruff_cache
