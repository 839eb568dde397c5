"""Child processes for the driver's own parallel work (figures, stability resamples).

Python threads do not help there: drawing figures and most of re-analysing a resample hold the
GIL (two threads re-analysed 20 resamples at 2,622 classes in the time one took). Processes
do, and a *forked* child starts at once with this process's modules and data, where a
*spawned* one imports and loads them again first (about 2 s). Forking copies everything the
process holds, so it is used only when that is safe (:func:`can_fork`).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def can_fork() -> bool:
    """Whether a child may be forked from this process: the platform forks, and the process
    runs no other Python thread (one could hold a lock the child inherits locked) and holds no
    Spark session (a classic session's JVM gateway, a Spark Connect channel: a child would
    share their sockets).

    Examples
    --------
    >>> stop = threading.Event()
    >>> waiting = threading.Thread(target=stop.wait); waiting.start()
    >>> can_fork()
    False
    >>> stop.set(); waiting.join()
    """
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    classic = sys.modules.get("pyspark.core.context")
    if classic is not None and classic.SparkContext._active_spark_context is not None:
        return False
    connect = sys.modules.get("pyspark.sql.connect.session")
    return connect is None or connect.SparkSession._default_session is None


_HANDED: Any = None
"""In a forked child of :func:`pool`: what its parent handed it."""


def _receive(handed: Any, initializer: Callable | None, initargs: tuple) -> None:
    global _HANDED
    _HANDED = handed
    if initializer is not None:
        initializer(*initargs)


def handed() -> Any:
    """In a child of :func:`pool`: what the parent handed it (forked children only; None in
    spawned children and in the parent)."""
    return _HANDED


def pool(
    workers: int,
    method: str,
    handed: Any = None,
    initializer: Callable | None = None,
    initargs: tuple = (),
) -> ProcessPoolExecutor:
    """``workers`` child processes started by ``method`` (``"fork"``, where :func:`can_fork`
    allows it, or ``"spawn"``).

    Forked children receive ``handed`` as it is -- closures, loaded results, never pickled --
    and read it with :func:`handed`; spawned ones get None. ``initializer(*initargs)`` runs in
    every child (pickled when spawned).
    """
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_receive,
        initargs=(handed if method == "fork" else None, initializer, initargs),
    )
