# Two commands, each setting itself up from nothing but Python 3.11 and a C compiler:
#   make demo   - build rnncore in .venv and run the main job (python -m rnncore demo)
#   make test   - build rnncore with its test dependencies in .venv and run the whole suite
# A second run with nothing changed builds nothing: the install steps below leave stamp files
# in .venv and rerun only when a file the build reads is newer than its stamp.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# what the compiled kernels are built from (Python files need no rebuild: the install is editable)
BUILD_INPUTS := setup.py pyproject.toml \
	$(wildcard rnncore/_kernels/*.pyx rnncore/_kernels/*.pxd rnncore/_kernels/*.h)

.PHONY: demo test bench setup setup-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# pyproject.toml's [build-system] requires, installed in .venv so that the build runs there
# (--no-build-isolation): in pip's isolated build environment scipy's cython_blas.pxd had a new
# path on every run, and Cython regenerated and recompiled every kernel each time.
$(VENV)/.build-requires: pyproject.toml | $(PY)
	$(PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']))" > $@.txt
	$(PY) -m pip install --quiet -r $@.txt
	touch $@

$(VENV)/.installed-demo: $(BUILD_INPUTS) $(VENV)/.build-requires
	$(PY) -m pip install --quiet --no-build-isolation -e ".[demo]"
	touch $@

$(VENV)/.installed-test: $(BUILD_INPUTS) $(VENV)/.build-requires
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test,demo]"
	touch $@

setup: $(VENV)/.installed-demo

setup-test: $(VENV)/.installed-test

demo: setup
	$(PY) -m rnncore demo

test: setup-test
	$(PY) -m pytest tests -q

bench: setup-test
	$(PY) -m rnncore bench

clean:
	rm -rf build rnncore/_kernels/_isa_* rnncore/_kernels/*.c rnncore/_kernels/*.so *.egg-info \
		$(VENV)/.build-requires* $(VENV)/.installed-*
