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
