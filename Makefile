# Two commands, each setting itself up from nothing but Python 3.11 and a C compiler:
#   make demo   - build rnncore in .venv and run the main job (python -m rnncore demo)
#   make test   - build rnncore with its test dependencies in .venv and run the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench setup setup-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

setup: $(PY)
	$(PY) -m pip install --quiet -e ".[demo]"

setup-test: $(PY)
	$(PY) -m pip install --quiet -e ".[test,demo]"

demo: setup
	$(PY) -m rnncore demo

test: setup-test
	$(PY) -m pytest tests -q

bench: setup-test
	$(PY) -m rnncore bench

clean:
	rm -rf build rnncore/_kernels/*.c rnncore/_kernels/*.so *.egg-info
