# Everything a fresh clone needs: `make demo` and `make test` create the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: demo test lint bench clean venv system-packages

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "error: Java 17+ is required by PySpark 4 (Debian: apt-get install openjdk-17-jre-headless)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/classsim demo --dir $(DEMO_DIR) --overwrite

# Debian packages the tests need: fonts covering CJK and emoji class names (small ones; users
# are told of fonts-noto-cjk), and Chromium for the explorer's tests in a real browser (driven by
# Playwright from PyPI; Playwright's own browser download does not work here). Installed when
# missing and this user can (root with apt-get); otherwise the tests that need them are skipped
# with a reason (the browser tests fail instead under CI=true).
TEST_DEB_PACKAGES := fonts-wqy-microhei fonts-symbola chromium

system-packages:
	@missing=$$(for p in $(TEST_DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages for the tests: $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null 2>&1 \
	       && apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1; } \
	  || echo "warning: could not install $$missing; the tests that need them are skipped"; \
	else echo "note: $$missing not installed; the tests that need them are skipped"; fi

LINTED := classsim_spark jobs tests benchmarks notebooks

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

# Two pytest-xdist workers (CI has 2 cores): the Spark JVMs and servers the tests start wait on
# I/O much of the time. The tests of the shared Spark Connect server and cluster run on one worker
# (tests/conftest.py). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

# A class-data-sharing archive that starts each of the suite's JVMs with less CPU
# (tests/jvm_archive.py); built once per environment, optional.
JVM_ARCHIVE := $(VENV)/spark-classes.jsa

$(JVM_ARCHIVE): $(STAMP)
	@echo "building $@ (once per environment: the suite's JVMs start faster with it)"
	@$(BIN)/python tests/jvm_archive.py $@ >$(VENV)/spark-classes.log 2>&1 \
	  || echo "warning: no JVM class archive (see $(VENV)/spark-classes.log); the tests run without it"

test: $(STAMP) $(JVM_ARCHIVE) system-packages lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	$(BIN)/python benchmarks/gram.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
