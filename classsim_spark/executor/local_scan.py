"""The scan on this machine alone: the tasks' work in threads of this process, without Spark.

For local Parquet read with pyarrow, a Spark local session adds a JVM, Python workers and a
shuffle around the same arithmetic: at 1,000,000 x 527 the whole ``classsim similarity``
process took 1.7 times a single Python process doing the same work, and the real sets of a
few thousand rows were almost all JVM start. Here each thread takes read units
(:func:`~classsim_spark.executor.parquet_reader.plan_units`) in turn, reads them with pyarrow
and folds every chunk exactly as a Spark task does
(:func:`~classsim_spark.executor.partials.fold_batches`), into statistics of its own, with one
BLAS thread each (numpy, pyarrow and BLAS release the GIL); the threads' statistics merge with
the exact formula (:meth:`~classsim_spark.executor.statistics.RowStatistics.merge`). Each
thread finishes its co-moments once, however many units it read.

:func:`run_units` runs any per-unit function the same way (the examples scan).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
from threadpoolctl import threadpool_limits

from classsim_spark.executor.parquet_reader import ReadUnit, read_units
from classsim_spark.executor.partials import ScanPlan, finished_statistics, fold_batches
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.executor.validation import RowReport

log = logging.getLogger("classsim")
PROGRESS_INTERVAL_S = 10.0


class _Progress:
    """Rows read so far over all threads; one log line at most every ``interval_s``."""

    def __init__(self, label: str, units: int, interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.label, self.units, self.interval_s = label, units, interval_s
        self.rows = self.done = 0
        self.start = self.last = time.perf_counter()
        self.lock = threading.Lock()

    def add(self, rows: int = 0, units: int = 0) -> None:
        with self.lock:
            self.rows += rows
            self.done += units
            now = time.perf_counter()
            if now - self.last >= self.interval_s:
                self.last = now
                log.info(
                    "%s: %d of %d read units done, %d rows read, %.0f s",
                    self.label,
                    self.done,
                    self.units,
                    self.rows,
                    now - self.start,
                )


def _counted(batches: Iterator[pa.RecordBatch], progress: _Progress) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        progress.add(rows=batch.num_rows)
        yield batch


def scan_units(
    plan: ScanPlan, units: list[ReadUnit], threads: int
) -> tuple[dict[str | None, RowStatistics], RowReport]:
    """The statistics of every row of ``units``, per key of ``plan.by``, computed in
    ``threads`` threads of this process.

    Returns what :func:`~classsim_spark.spark.scan.scan_statistics` returns for the same
    units: key -> statistics, and the report (``tasks`` counts the threads that read rows).
    """
    progress = _Progress("scan", len(units))
    queue = iter(units)
    lock, stop = threading.Lock(), threading.Event()

    def next_unit() -> ReadUnit | None:
        with lock:
            return next(queue, None)

    def work() -> tuple[dict, RowReport]:
        states: dict = {}
        report = RowReport(tasks=1)
        while not stop.is_set() and (unit := next_unit()) is not None:
            batches = read_units([unit], plan.columns, partition_columns=(plan.by,))
            fold_batches(_counted(batches, progress), plan, report, states, stop)
            progress.add(units=1)
        return finished_statistics(states, plan), report

    results = _in_threads(work, threads, stop)
    merged: dict[str | None, RowStatistics] = {}
    report = RowReport()
    for statistics, part in results:
        report = report.merge(part)
        for key, stats in statistics.items():
            merged[key] = merged[key].merge(stats) if key in merged else stats
    return merged, report


def run_units(
    function: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
    units: list[ReadUnit],
    threads: int,
) -> list[pa.RecordBatch]:
    """What a ``mapInArrow`` function built for read units (its input: batches of unit
    numbers) yields for every unit, run in ``threads`` threads of this process."""
    numbers = iter(range(len(units)))
    lock, stop = threading.Lock(), threading.Event()

    def work() -> list[pa.RecordBatch]:
        out: list[pa.RecordBatch] = []
        while not stop.is_set():
            with lock:
                i = next(numbers, None)
            if i is None:
                return out
            out.extend(function(iter([pa.record_batch({"id": pa.array([i], pa.int64())})])))
        return out

    return [batch for batches in _in_threads(work, threads, stop) for batch in batches]


def _in_threads(work: Callable, threads: int, stop: threading.Event) -> list:
    """``work()`` in each of ``threads`` threads with one BLAS thread each; the first error
    (or an interrupt) stops the others between chunks and is raised."""
    threads = max(1, threads)
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(work) for _ in range(threads)]
        try:
            return [future.result() for future in futures]
        except BaseException:
            stop.set()
            raise
