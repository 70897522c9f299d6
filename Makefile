# Two commands on a fresh machine:
#   make demo   sets itself up, then reviews the example project under examples/
#   make test   sets itself up, then runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXAMPLE ?= examples/subscription-service
EXAMPLE_VENV ?= .venv-example
EXAMPLE_STAMP := $(EXAMPLE_VENV)/.installed

.PHONY: install test demo lint format bench-gates clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# the example's own environment: the review runs its tests and mypy there
$(EXAMPLE_STAMP): $(EXAMPLE)/pyproject.toml
	$(PYTHON) -m venv $(EXAMPLE_VENV)
	$(EXAMPLE_VENV)/bin/python -m pip install -q --upgrade pip
	$(EXAMPLE_VENV)/bin/python -m pip install -q -e '$(EXAMPLE)[dev]'
	touch $(EXAMPLE_STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP) $(EXAMPLE_STAMP)
	$(VENV)/bin/fastapi-review $(EXAMPLE) --python $(EXAMPLE_VENV)/bin/python \
		--output $(EXAMPLE)/code-review.md --json $(EXAMPLE)/review.json
	@echo "open $(EXAMPLE)/code-review.md"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format src tests scripts

clean:
	rm -rf $(VENV) $(EXAMPLE_VENV) .pytest_cache .mypy_cache .ruff_cache
