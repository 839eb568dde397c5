"""Shared fixtures: one Spark session for the whole run (reused if one is already active, so the
suite can also run on a real cluster), one Spark Connect server for every test that needs one,
the interpreter its workers run, and small score tables with known answers."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator

import numpy as np
import pytest
from jvm_archive import java_tool_options

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# Every JVM the tests start (sessions, servers, the commands they run) starts with less CPU, which
# is what bounds the suite on 2 cores; results do not depend on it (tests/jvm_archive.py).
os.environ.setdefault("JAVA_TOOL_OPTIONS", java_tool_options())
# The suite's JVMs use the suite's own archive above, not the one classsim keeps for its users
# (tests/test_class_archive.py tests that one, in commands of their own).
os.environ.setdefault("CLASSSIM_JVM_ARCHIVE", "0")


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    from classsim_spark.spark.session import get_spark

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    session = get_spark(
        "local[2]", conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "4"}
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def planted_scores() -> np.ndarray:
    """600 x 12 logits with two planted blocks of correlated classes and a +1e4 offset."""
    rng = np.random.default_rng(7)
    n, m = 600, 12
    latent = rng.normal(size=(n, 2))
    weights = np.zeros((2, m))
    weights[0, :6] = 1.0
    weights[1, 6:] = 1.0
    return (latent @ weights + 0.7 * rng.normal(size=(n, m)) + 1e4).astype(np.float64)


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory) -> str:
    """An interpreter for Spark workers that has the dependencies but not classsim (``python -S``
    with site-packages on the path skips the editable install's ``.pth`` hook): the package
    reaches their tasks only as it does on Databricks or a cluster, shipped by the job."""
    path = tmp_path_factory.mktemp("bare") / "python-without-classsim"
    site = sysconfig.get_paths()["purelib"]
    path.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{site}" exec {sys.executable} -S "$@"\n'
    )
    path.chmod(0o755)
    probe = subprocess.run(
        [str(path), "-c", "import classsim_spark"], capture_output=True, check=False, cwd="/"
    )
    assert probe.returncode != 0, "the bare interpreter must not see classsim"
    return str(path)


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory, bare_python: str) -> Iterator[str]:
    """One Spark Connect server on 127.0.0.1 for the whole run (its Python workers cannot import
    classsim); stopped, with every process it started, after the last test."""
    from servers import connect_server, leftover_processes

    workdir = tmp_path_factory.mktemp("connect-server")
    start = time.monotonic()
    with connect_server(workdir=workdir, python=bare_python) as url:
        print(f"Spark Connect server {url} ready in {time.monotonic() - start:.1f} s")
        yield url
    left = leftover_processes(workdir)
    assert left == [], f"Connect server processes outlived the fixture: {left}"


SERVER_FIXTURES = ("connect_url", "cluster")
"""Fixtures that start a server for the whole run: the tests that use one share a worker."""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``make test`` runs two workers), keep every test of the Spark Connect
    server and of the standalone cluster on one worker (``--dist loadgroup``), so each server
    starts once per run, as without workers."""
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in SERVER_FIXTURES):
            item.add_marker(pytest.mark.xdist_group("servers"))


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the explorer tests; fails under CI when it is missing (`make test`
    installs it), skips elsewhere."""
    from explorer_page import CHROMIUM

    if not os.path.exists(CHROMIUM):
        message = "Chromium is not installed (Debian: apt-get install chromium; `make test` does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()
