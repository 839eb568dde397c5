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


def test_forked_children_receive_what_the_parent_hands_them():
    """Forked children read the handed object as it is (no pickling on the way in); spawned
    ones get None; the initializer runs in both."""
    from classsim_spark.processes import handed, pool

    data = {"closure": lambda: 1, "values": [1, 2, 3]}
    with pool(1, "fork", data) as executor:
        assert executor.submit(_values_handed).result() == [1, 2, 3]
        assert executor.submit(_call_handed_closure).result() == 1  # never pickled
    with pool(1, "spawn", data, _mark, ("spawned",)) as executor:
        assert executor.submit(_values_handed).result() is None
        assert executor.submit(_marked).result() == "spawned"
    assert handed() is None  # the parent holds nothing


_MARK = None


def _mark(value):
    global _MARK
    _MARK = value


def _marked():
    return _MARK


def _call_handed_closure():
    from classsim_spark.processes import handed

    return handed()["closure"]()


def _values_handed():
    from classsim_spark.processes import handed

    got = handed()
    return None if got is None else got["values"]
