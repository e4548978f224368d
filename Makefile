# `make run` serves the sample help center; `make test` runs the whole suite.
# Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT := $(or $(KB_PORT),8000)
# pytest runs the tests on this many processes (pytest-xdist); 0 runs them in one process.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: run test test-postgres check index lint format translations extract-messages clean

# gunicorn's master applies the migrations and refreshes the index (`flask db upgrade`,
# `flask kb index --if-changed`) before its workers start: KB_PREPARE_ON_START, gunicorn.conf.py.
run: $(VENV)/.runtime instance/config.py translations
	@echo "Serving the help center on http://127.0.0.1:$(PORT)"
	KB_PREPARE_ON_START=1 KB_SESSION_COOKIE_SECURE=false \
	$(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

test: $(VENV)/.dev instance/config.py translations
	$(FLASK) kb check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	KB_TEST_DATABASE=sqlite $(PYTEST) $(PYTEST_ARGS)

# The same tests with every database on PostgreSQL: a private schema per test on the server of
# KB_TEST_DATABASE_URL (default: the local one). No lint or article check: `make test` has them.
test-postgres: $(VENV)/.dev instance/config.py translations
	KB_TEST_DATABASE=postgresql \
	KB_TEST_DATABASE_URL=$${KB_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	$(PYTEST) $(PYTEST_ARGS)

check: $(VENV)/.runtime instance/config.py
	$(FLASK) kb check

index: $(VENV)/.runtime instance/config.py
	$(FLASK) kb index

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d kb/translations 2>&1 | tail -n 1

# Refresh the catalogues after changing UI strings; then translate the new entries.
extract-messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -o kb/translations/messages.pot .
	$(BIN)/pybabel update -i kb/translations/messages.pot -d kb/translations

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# A random secret key for this machine; production sets KB_SECRET_KEY instead.
instance/config.py: | $(VENV)/.runtime
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@

# Benchmarks (not part of `make test`); README "Benchmarks". A synthetic help center of
# BENCH_ARTICLES articles (default 10000) in bench-results/, then kb search beside SQLite FTS5:
# make bench-search BENCH_ARTICLES=1000 BENCH_SEARCH_ARGS="--profile"
BENCH_ARTICLES ?= 10000
BENCH_CORPUS ?= bench-results/corpus-$(BENCH_ARTICLES)
.PHONY: bench-corpus bench-search
bench-corpus: $(VENV)/.runtime
	$(BIN)/python bench/corpus.py --articles $(BENCH_ARTICLES) --out $(BENCH_CORPUS)

bench-search: $(VENV)/.dev
	test -f $(BENCH_CORPUS)/queries.jsonl || $(MAKE) bench-corpus
	$(BIN)/python bench/search.py --articles $(BENCH_CORPUS)/articles \
		--queries $(BENCH_CORPUS)/queries.jsonl $(BENCH_SEARCH_ARGS)

# Benchmark gunicorn over HTTP (not part of `make test`); README "Benchmarks". A corpus:
# make bench-http BENCH_HTTP_ARGS="--articles /tmp/kbbench/10k"
.PHONY: bench-http
bench-http: $(VENV)/.dev translations
	$(BIN)/python bench/http.py $(BENCH_HTTP_ARGS)

# The dashboard, content gaps and contact list at 1,000,000 simulated events (README
# "Dashboard at scale"); SQLite in a temporary folder, or PostgreSQL (a private schema):
# make bench-dashboard BENCH_DASHBOARD_ARGS="--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test"
.PHONY: bench-dashboard
bench-dashboard: $(VENV)/.runtime translations
	$(BIN)/python bench/dashboard.py $(BENCH_DASHBOARD_ARGS)

clean:
	rm -rf $(VENV) search_index/v* .pytest_cache .ruff_cache
