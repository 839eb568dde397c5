"""When the driver's parallel work may fork its children (classsim_spark.processes)."""

from __future__ import annotations

import subprocess
import sys
import threading

from classsim_spark.processes import can_fork


def test_a_bare_process_forks():
    code = "import classsim_spark.api, classsim_spark.processes as p; print(p.can_fork())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_no_fork_beside_another_thread():
    before = can_fork()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert can_fork() is False
    finally:
        stop.set()
        other.join()
    assert can_fork() == before


def test_no_fork_while_a_spark_session_is_alive(spark):
    assert spark.range(1).count() == 1  # a live session: its JVM gateway must not be shared
    assert can_fork() is False
