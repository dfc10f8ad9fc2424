# amnstats: two commands do everything.
#   make run   - set up (venv + pinned dependencies), build the data, start the dashboard
#   make test  - set up, then run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
PORT ?= 8501

.PHONY: setup run build test clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@cp requirements.txt $(STAMP)

setup: $(STAMP)

build: setup
	$(PY) -m amnstats build

run: build
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: setup
	bash scripts/install_test_deps.sh
	$(PY) -m pytest

clean:
	rm -rf data/processed/build-* data/processed/current .pytest_cache
