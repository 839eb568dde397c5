"""The one distributed pass, driven from the driver: plan, run and assemble.

:func:`scan_statistics` maps every partition of the input through the executor function
(:func:`~classsim_spark.executor.partials.partial_statistics`), reduces the partials with a
``groupBy(tile).applyInArrow`` (:func:`~classsim_spark.executor.partials.merge_group`), and
collects one finished tile per position (never one m x m matrix per partition) and the one sample.
The merge reads the shuffle, which holds one successful attempt's output per partition: a task
that ran again is counted once.

What each JVM holds is bounded whatever m is: tasks emit one tile per Arrow batch, the merge
receives bounded batches, and its partitions are sized so that each holds a bounded share of
the driver's heap (:func:`merge_budget`), which ``toLocalIterator`` fetches and passes on to
Python one partition at a time. A heap of 512 MiB reduces the statistics of 3,755 classes.

Only DataFrame APIs are used (``mapInArrow``, ``groupBy().applyInArrow``,
``toLocalIterator``), so the same code runs on classic clusters and over Spark Connect.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from classsim_spark.core.moments import Moments
from classsim_spark.executor.parquet_reader import ReadUnit
from classsim_spark.executor.partials import (
    FREQUENCIES,
    PARTIAL_SCHEMA,
    REPORT,
    SAMPLE,
    SUM,
    ScanPlan,
    merge_group,
    partial_statistics,
    partials_of,
    sample_from,
)
from classsim_spark.executor.sampling import RowSample
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.executor.validation import RowReport
from classsim_spark.spark.session import driver_heap_bytes

MIN_MERGE_PARTITIONS = 8
MAX_MERGE_PARTITIONS = 4096
DEFAULT_DRIVER_HEAP = 1 << 30
"""Spark's default ``spark.driver.memory``: assumed when the session does not say."""
RESERVED_HEAP = 300 << 20
"""Heap Spark reserves for itself before any execution or storage memory."""


def result_bytes(plan: ScanPlan) -> int:
    """About how many bytes the merged results of a scan hold."""
    m = plan.layout.m
    matrices = len(plan.transforms) + (plan.parts - 1 if plan.parts else 0)
    pairs = 1 if plan.labels else 0
    return 8 * m * m * (matrices + pairs) + 4 * plan.sample_rows * m


def merge_budget(driver_heap: int) -> int:
    """The most bytes of merged results one partition may hold: a sixteenth of the driver
    heap Spark leaves to the job.

    The driver's JVM receives each partition's results whole and writes them on to Python;
    a partition is held about twice in the task that builds it and once on its way through
    the driver, for every task running at once.

    >>> merge_budget(6 << 30) >> 20, merge_budget(512 << 20) >> 20
    (365, 13)
    """
    return max(1 << 20, (max(driver_heap - RESERVED_HEAP, 64 << 20)) // 16)


def merge_partitions(plan: ScanPlan, keys: int, budget: int) -> int:
    """How many partitions the merge shuffles into, so that one holds at most about
    ``budget`` bytes of results (:func:`merge_budget`).

    Groups are spread by hash, so there are twice as many partitions as the budget needs;
    adaptive execution then coalesces partitions only up to the budget (it is set as their
    advisory size).

    Parameters
    ----------
    plan : ScanPlan
    keys : int
        Values of ``plan.by`` (1 without it).
    budget : int
    """
    needed = 2 * math.ceil(result_bytes(plan) * max(1, keys) / budget)
    return min(MAX_MERGE_PARTITIONS, max(MIN_MERGE_PARTITIONS, needed))


MERGE_BATCH_BYTES = 32 << 20
"""Most bytes of rows in one Arrow batch the JVM builds for the merge: a group's partials (one
row per task, so hundreds on a cluster) on their way to the Python worker, and the merged rows
over Spark Connect. The JVM builds a batch in buffers that double as they fill (a batch of
300 MB of tiles peaked at 805 MB at 10,000 classes), so batches stay small; a row larger than
this travels alone."""


def largest_row_bytes(plan: ScanPlan) -> int:
    """About the bytes of the largest row the merge handles: a tile (or the packed parts of a
    tile) of float64, or the sample (float32 rows of m scores)."""
    tile = 8 * plan.tile_size * plan.tile_size * max(1, plan.parts)
    return max(tile, 4 * plan.sample_rows * plan.layout.m)


def merge_batch_rows(plan: ScanPlan, budget: int) -> int:
    """Rows per Arrow batch (``spark.sql.execution.arrow.maxRecordsPerBatch``) so that a batch
    holds at most :data:`MERGE_BATCH_BYTES` (or ``budget``) of rows, at least one.

    Spark cuts Arrow batches by rows (10,000 by default); without this one batch could hold
    every task's tile of a group, or a whole partition's tiles.
    """
    return max(1, min(MERGE_BATCH_BYTES, budget) // max(1, largest_row_bytes(plan)))


@contextlib.contextmanager
def merge_settings(
    spark: SparkSession, partitions: int, budget: int, batch_rows: int
) -> Iterator[None]:
    """Set the merge's shuffle partitions, partition size and Arrow batch sizes for one scan,
    then restore them (runtime SQL settings: classic sessions and Spark Connect alike)."""
    wanted = {
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.sql.adaptive.advisoryPartitionSizeInBytes": str(budget),
        # the grouped merge receives a group's partials, and the merged rows travel, in
        # batches of at most this many bytes and rows
        "spark.sql.execution.arrow.maxBytesPerBatch": str(min(MERGE_BATCH_BYTES, budget)),
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(batch_rows),
    }
    before = {key: spark.conf.get(key, None) for key in wanted}
    for key, value in wanted.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def scan_statistics(
    spark: SparkSession,
    df: DataFrame | None,
    plan: ScanPlan,
    units: list[ReadUnit] | None = None,
    keys: int = 1,
    budget: int | None = None,
) -> tuple[dict[str | None, RowStatistics], RowReport]:
    """Run the distributed pass and assemble the statistics on the driver.

    Parameters
    ----------
    spark : SparkSession
    df : pyspark.sql.DataFrame or None
        Holds the columns named by ``plan`` (the layout's, its id and label columns, ``by``);
        None with ``units``.
    plan : ScanPlan
    units : list of ReadUnit, optional
        Read these Parquet row groups with pyarrow inside the tasks instead of reading ``df``.
    keys : int
        About how many values ``plan.by`` has (1 without it): sizes the merge's partitions.
    budget : int, optional
        The most bytes of results one partition of the merge holds (default:
        :func:`merge_budget` of the driver's heap).

    Returns
    -------
    statistics : dict
        Key -> the :class:`RowStatistics` of its kept rows: one entry per value of ``plan.by``
        (as text; None for nulls), or the one key None without it; empty when no row was
        kept. Each holds: ``moments`` per transform; with ``plan.labels``, ``counts``
        (``frequencies``, and ``confusion`` or ``cooccurrence``); with ``plan.sample_rows``, a
        uniform ``sample`` of the raw scores (before any transform); with ``plan.parts``,
        ``plan.parts_transform``'s moments per part (empty parts included).
    report : RowReport
        What was read, kept and found wrong, over all tasks; how many tasks reported, and how
        many of them were retries.
    """
    if units is None:
        if df is None:
            raise ValueError("scan_statistics needs a DataFrame or read units")
        columns = [F.col(c) for c in plan.columns]
        if plan.by is not None:  # a date partition column is a date: its key is its text
            columns = [
                c.cast("string").alias(plan.by) if n == plan.by else c
                for n, c in zip(plan.columns, columns, strict=True)
            ]
        source = df.select(*columns)
    else:
        source = spark.range(0, len(units), 1, max(1, len(units)))
    partials = source.mapInArrow(partial_statistics(plan, units), PARTIAL_SCHEMA)
    merged = partials.groupBy("kind", "key", "transform", "tile_row", "tile_col").applyInArrow(
        merge_group(plan), PARTIAL_SCHEMA
    )
    report = RowReport()
    assemblies: dict[str | None, _Assembly] = {}
    budget = budget or merge_budget(driver_heap_bytes(spark) or DEFAULT_DRIVER_HEAP)
    partitions, rows = merge_partitions(plan, keys, budget), merge_batch_rows(plan, budget)
    with merge_settings(spark, partitions, budget, rows):
        # one partition at a time (a job each; the shuffle is computed once): the driver's JVM
        # holds one partition's results, never all of them (collecting them whole ran a 5 GiB
        # heap out at 10,000 classes)
        for fields in merged.toLocalIterator():
            row = SimpleNamespace(**fields.asDict())
            if row.kind == REPORT:
                report = report.merge(RowReport.from_json(bytes(row.data)))
                continue
            if row.key not in assemblies:
                assemblies[row.key] = _Assembly(plan)
            assemblies[row.key].add(row)
    return {key: assembly.statistics() for key, assembly in assemblies.items()}, report


class _Assembly:
    """One key's merged rows, assembled into its statistics on the driver."""

    def __init__(self, plan: ScanPlan) -> None:
        self.plan = plan
        m = plan.layout.m
        self.shape = {t: (plan.parts if plan.parted(t) else 1) for t in plan.transforms}
        self.n = {t: np.zeros(k, dtype=np.int64) for t, k in self.shape.items()}
        self.mean = {t: np.zeros((k, m)) for t, k in self.shape.items()}
        self.comoment: dict[str, np.ndarray] = {}
        self.counts: dict[str, np.ndarray] = {}
        self.sample: RowSample | None = None

    def add(self, row) -> None:
        plan, m = self.plan, self.plan.layout.m
        if row.kind == SAMPLE:
            self.sample = sample_from(bytearray(row.data), row.n, plan)  # a writable copy
            return
        t = row.transform
        ri, rj = plan.tile_range(row.tile_row), plan.tile_range(row.tile_col)
        if row.kind == SUM:
            values = np.frombuffer(bytes(row.data), dtype=np.int64)
            if t == FREQUENCIES:
                self.counts[t] = values.copy()
            else:
                target = self.counts.setdefault(t, np.zeros((m, m), dtype=np.int64))
                target[ri, rj] = values.reshape(ri.stop - ri.start, rj.stop - rj.start)
            return
        partials = partials_of(row.kind, row.n, row.row_mean, row.col_mean, row.data, plan.parts)
        target = self.comoment.setdefault(t, np.empty((self.shape[t], m, m)))
        for p, (count, row_mean, _, tile) in enumerate(partials):
            target[p, ri, rj] = tile
            target[p, rj, ri] = tile.T
            self.n[t][p] = count
            self.mean[t][p, ri] = row_mean

    def statistics(self) -> RowStatistics:
        moments, parts = {}, {}
        for t, comoment in self.comoment.items():  # the transforms that kept rows
            shape = self.shape[t]
            stats = [Moments(int(self.n[t][p]), self.mean[t][p], comoment[p]) for p in range(shape)]
            moments[t] = Moments.merge_all(stats)
            if self.plan.parted(t):
                parts[t] = stats
        return RowStatistics(moments, self.counts, self.sample, parts)
