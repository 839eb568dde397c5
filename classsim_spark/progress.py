"""Phase timing and the one-line-per-phase progress log on the driver."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

log = logging.getLogger("classsim")


class PhaseTimer:
    """Times named phases, logs one line as each ends, and keeps the durations for run.json.

    Examples
    --------
    >>> timer = PhaseTimer()
    >>> with timer.phase("load"):
    ...     pass
    >>> list(timer.seconds)
    ['load']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.notes: dict[str, str] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[dict[str, str]]:
        """Time the block; anything put in the yielded dict under ``"note"`` ends the log line."""
        info: dict[str, str] = {}
        log.info("%s ...", name)
        start = time.perf_counter()
        yield info
        elapsed = time.perf_counter() - start
        self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 3)
        note = info.get("note", "")
        if note:
            self.notes[name] = note
        log.info("%s done in %.1f s%s", name, elapsed, f": {note}" if note else "")


class TaskProgressLog:
    """A Spark Connect progress handler: at most one log line every ``interval_s`` seconds.

    Classic sessions show Spark's console progress bar; over Spark Connect the client gets
    progress messages instead, which this turns into lines such as
    ``scan: 12/16 tasks done, 2 running, 1.3 GB read``.
    """

    def __init__(self, label: str, interval_s: float = 10.0) -> None:
        self.label = label
        self.interval_s = interval_s
        self._last = time.monotonic()

    def __call__(
        self, stages=None, inflight_tasks: int = 0, operation_id=None, done: bool = False
    ) -> None:
        now = time.monotonic()
        if done or stages is None or now - self._last < self.interval_s:
            return
        self._last = now
        stages = list(stages)
        total = sum(s.num_tasks for s in stages)
        finished = sum(s.num_completed_tasks for s in stages)
        read = sum(s.num_bytes_read for s in stages) / 1e9
        log.info(
            "%s: %d/%d tasks done, %d running, %.1f GB read",
            self.label,
            finished,
            total,
            inflight_tasks,
            read,
        )


@contextlib.contextmanager
def connect_progress(spark, label: str, interval_s: float = 10.0) -> Iterator[None]:
    """Log task progress of a Spark Connect session while the block runs (no-op if classic)."""
    register = getattr(spark, "registerProgressHandler", None)
    if register is None or not type(spark).__module__.startswith("pyspark.sql.connect"):
        yield
        return
    handler = TaskProgressLog(label, interval_s)
    register(handler)
    try:
        yield
    finally:
        spark.removeProgressHandler(handler)
