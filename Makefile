# `make run` serves the sample help center; `make test` runs the whole suite.
# Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT := $(or $(KB_PORT),8000)

.PHONY: run test check index lint format translations extract-messages clean

run: $(VENV)/.runtime instance/config.py translations
	$(FLASK) db upgrade
	$(FLASK) kb index --if-changed
	@echo "Serving the help center on http://127.0.0.1:$(PORT)"
	KB_SESSION_COOKIE_SECURE=false $(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

test: $(VENV)/.dev instance/config.py translations
	$(FLASK) kb check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

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

clean:
	rm -rf $(VENV) search_index/v* .pytest_cache .ruff_cache
