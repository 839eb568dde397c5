"""Progress reporting on the driver."""

import logging
from types import SimpleNamespace

import pytest

from classsim_spark.progress import PhaseTimer, TaskProgressLog


@pytest.fixture()
def classsim_log(caplog):
    """Capture the classsim logger even after the CLI turned its propagation off."""
    logger = logging.getLogger("classsim")
    logger.addHandler(caplog.handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(old_level)


def test_connect_progress_lines_are_rate_limited(classsim_log):
    stage = SimpleNamespace(num_tasks=16, num_completed_tasks=12, num_bytes_read=1.3e9)
    handler = TaskProgressLog("scan", interval_s=0.0)
    handler(stages=[stage], inflight_tasks=2, operation_id="x", done=False)
    handler(stages=[stage], inflight_tasks=0, operation_id="x", done=True)
    TaskProgressLog("scan", interval_s=3600)(stages=[stage], inflight_tasks=2)
    assert [r.getMessage() for r in classsim_log.records] == [
        "scan: 12/16 tasks done, 2 running, 1.3 GB read"
    ]


def test_phase_timer_logs_one_line_per_phase_and_keeps_durations(classsim_log):
    timer = PhaseTimer()
    with timer.phase("scan") as info:
        info["note"] = "read 10 rows"
    with timer.phase("scan"):
        pass
    messages = [r.getMessage() for r in classsim_log.records]
    assert messages[0] == "scan ..." and messages[1].startswith("scan done in ")
    assert messages[1].endswith(": read 10 rows")
    assert list(timer.seconds) == ["scan"] and timer.seconds["scan"] >= 0.0
