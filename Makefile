# Two commands set everything up on a fresh Debian / Raspberry Pi OS machine:
#   make run    runs the unit on its embedded default (synthetic camera, no hardware)
#   make test   runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= .alpr-data
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: the runtime needs venv; tests also need Chromium (console browser tests),
# fonts (synthetic plates), shellcheck/nftables/systemd (image-build checks).
APT_RUN := python3-venv
APT_TEST := $(APT_RUN) chromium fonts-dejavu-core fonts-dejavu-extra fonts-urw-base35 fonts-liberation2 fonts-freefont-ttf shellcheck nftables systemd

.PHONY: run test lint bench clean apt-run apt-test

define apt_install
	@if command -v apt-get >/dev/null 2>&1; then \
	  missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "installing: $$missing"; \
	    $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; fi; \
	fi
endef

apt-run:
	$(call apt_install,$(APT_RUN))

apt-test:
	$(call apt_install,$(APT_TEST))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,train]'
	touch $@ $(VENV)/.run-installed

run: apt-run $(VENV)/.run-installed
	$(BIN)/alpr run --data-dir $(DATA)

test: apt-test $(VENV)/.test-installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

bench: $(VENV)/.run-installed
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache
