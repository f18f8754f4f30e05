# Every routine task. The README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
export UV_PROJECT_ENVIRONMENT := $(VENV)

# `make demo PORT=8080` serves on another port; mail links follow it (KEYLEDGER_BASE_URL).
PORT ?= 8000
DEMO_ENV := DEBUG=true KEYLEDGER_VAR_DIR=var/demo KEYLEDGER_REPORT_POLL_FIRST_SECONDS=0.2 \
  KEYLEDGER_BASE_URL=http://127.0.0.1:$(PORT)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/keyledger
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install oidc-provider demo test test-fast lint mutation format migrate worker beat clean services-check bench browser-check screenshots

install: $(STAMP)  ## create .venv with every locked dependency

$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --quiet
	touch $(STAMP)

demo: install  ## emulated AWS organization, synced, served on http://127.0.0.1:$(PORT) (default 8000)
	rm -rf var/demo
	$(DEMO_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py run_demo --addr 127.0.0.1:$(PORT)

# node's oidc-provider for the sign-in tests (tests/sso): installed from the npm registry into
# tests/sso/provider/node_modules (git-ignored), at the version package-lock.json pins.
OIDC_PROVIDER := tests/sso/provider
OIDC_STAMP := $(OIDC_PROVIDER)/node_modules/.installed

oidc-provider: $(OIDC_STAMP)  ## the test OpenID provider (needs node and npm)

$(OIDC_STAMP): $(OIDC_PROVIDER)/package.json $(OIDC_PROVIDER)/package-lock.json
	@command -v npm >/dev/null || { echo "The sign-in tests need node and npm: apt-get install -y nodejs npm"; exit 1; }
	cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

services-check:
	@$(BIN)/python -c "import psycopg; psycopg.connect('$(TEST_DATABASE_URL)'.rsplit('/',1)[0] + '/postgres', connect_timeout=3).close()" \
	  || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (see README: Testing)"; exit 1; }
	@$(BIN)/python -c "import redis; redis.Redis.from_url('$(TEST_REDIS_URL)', socket_connect_timeout=3).ping()" \
	  || { echo "Redis is not reachable on 127.0.0.1:6379 (see README: Testing)"; exit 1; }

CHROMIUM ?= /usr/bin/chromium

browser-check:
	@test -x $(CHROMIUM) || { echo "Browser tests need Debian's Chromium at $(CHROMIUM): apt-get install -y chromium"; exit 1; }

test: install services-check browser-check oidc-provider  ## the whole suite: real Postgres, Redis, Chromium
	DATABASE_URL=$(TEST_DATABASE_URL) KEYLEDGER_REDIS_URL=$(TEST_REDIS_URL) KEYLEDGER_CHROMIUM=$(CHROMIUM) \
	  $(BIN)/pytest $(PYTEST_ARGS)

# The pure rules and units: no database, no Redis, no browser, Django's plugin off.
FAST_TESTS := tests/governance/policy/ tests/test_settings_env.py

test-fast: install  ## the pure judgement rules and settings helpers, in seconds, no services
	$(BIN)/pytest -p no:django -p no:cacheprovider $(FAST_TESTS) $(PYTEST_ARGS)

bench: install services-check  ## every benchmark section; writes docs/BENCHMARKS.md
	$(BIN)/python -m bench

screenshots: install services-check browser-check  ## README screenshots, from the browser tests
	DATABASE_URL=$(TEST_DATABASE_URL) KEYLEDGER_REDIS_URL=$(TEST_REDIS_URL) KEYLEDGER_CHROMIUM=$(CHROMIUM) \
	  $(BIN)/pytest tests/e2e/test_pages.py tests/e2e/test_burndown.py -k "main_page or burn_down"
	for page in overview inventory key-detail burndown; do \
	  cp test-artifacts/screenshots/readme-$$page.png docs/screenshots/$$page.png; done

lint: install  ## ruff, mypy (django-stubs; [tool.mypy] in pyproject.toml), migrations in sync
	$(BIN)/ruff check .
	$(BIN)/mypy
	DATABASE_URL=sqlite://:memory: DJANGO_SETTINGS_MODULE=config.test_settings $(BIN)/python manage.py makemigrations --check --dry-run --verbosity 0

mutation: install  ## mutmut on the judgement modules; fails below 97% of mutants killed
	$(BIN)/python tools/mutation_report.py

format: install
	$(BIN)/ruff check --fix .

migrate: install
	$(BIN)/python manage.py migrate

worker: install  ## a Celery worker for the sync and default queues (needs CELERY_BROKER_URL)
	$(BIN)/celery -A config worker -Q sync,celery --loglevel INFO

beat: install  ## the one scheduler of periodic tasks (needs CELERY_BROKER_URL)
	$(BIN)/celery -A config beat --loglevel INFO

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache mutants
