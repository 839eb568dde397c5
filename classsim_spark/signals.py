"""Stopping on a signal: SIGINT (Ctrl-C) and SIGTERM end a command the same way.

Python turns SIGINT into ``KeyboardInterrupt``; SIGTERM would kill the process on the spot,
leaving temporary directories and a results directory that does not say it is unfinished. Within
:func:`sigterm_raises` SIGTERM raises :class:`Terminated` instead, so every ``finally`` and
``except BaseException`` cleans up as for Ctrl-C. Library code that catches the interruption
(PySpark's ``toArrow`` closes its socket server in a ``finally`` that raises its own error) may
replace it with another exception: :func:`stop_signal` finds it in the chain.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(BaseException):
    """SIGTERM arrived (``kill``, a scheduler, a cluster manager stopping the driver)."""


def _raise_terminated(_signum, _frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` (in the main thread only, where
    Python runs signal handlers; elsewhere the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_signal(err: BaseException | None) -> str | None:
    """``"SIGINT"`` or ``"SIGTERM"`` when ``err``, or an exception it was raised while handling,
    is the interruption by that signal; None otherwise.

    >>> stop_signal(KeyboardInterrupt()), stop_signal(ValueError()), stop_signal(Terminated())
    ('SIGINT', None, 'SIGTERM')
    """
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, KeyboardInterrupt):
            return "SIGINT"
        if isinstance(err, Terminated):
            return "SIGTERM"
        err = err.__cause__ or err.__context__
    return None


EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143}
"""The shell's convention: 128 + the signal number."""
