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
