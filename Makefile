# Every target builds .venv on its own from a bare Python 3.11 with pip.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test sandbox bench lint clean soak

# Compat-mode editable install: a path entry, so packages added later (cloud/, storage/...) import too.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --config-settings editable_mode=compat -e '.[test,dev]'
	touch $(STAMP)

# In parallel (pytest-xdist): WORKERS processes, each starting its own sandboxes. loadgroup hands out
# one test (or one xdist_group) at a time in collection order, and tests/conftest.py collects the
# longest first, so they do not end the run alone. `make test WORKERS=0` runs in one process, as does
# a plain `pytest path::test`.
WORKERS ?= 3
test: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder

# The whole product on this machine: the Slack page on http://127.0.0.1:3000, until Ctrl-C.
# Options pass through ARGS, e.g. `make sandbox ARGS=--reset` or `make sandbox ARGS=--tour`.
sandbox: $(STAMP)
	$(BIN)/natlink sandbox $(ARGS)

# The model test (tests/model) for much longer, with a fresh seed, counting discrepancies instead of
# stopping at the first, then printing the figures. NATLINK_SOAK_EXAMPLES (500), NATLINK_SOAK_STEPS (60),
# NATLINK_SOAK_SEED (random), NATLINK_SOAK_EXPIRY_WAITS (2; each waits minutes for the scheduler).
soak: $(STAMP)
	NATLINK_SOAK=1 $(BIN)/pytest tests/e2e/test_model.py -p no:cacheprovider -o addopts="-ra --strict-markers"

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .natlink-sandbox
