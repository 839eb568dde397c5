# Everything a fresh clone needs: `make demo` and `make test` create the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: demo test lint bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "error: Java 17+ is required by PySpark 4 (Debian: apt-get install openjdk-17-jre-headless)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/classsim demo --dir $(DEMO_DIR) --overwrite

test: $(STAMP)
	$(BIN)/ruff check classsim_spark jobs tests benchmarks notebooks
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/gram.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
