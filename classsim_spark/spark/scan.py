"""The one distributed pass, driven from the driver: plan, run and assemble.

:func:`scan_statistics` maps every partition of the input through the executor function
(:func:`~classsim_spark.executor.partials.partial_statistics`), reduces the partials with a
``groupBy(tile).applyInArrow`` (:func:`~classsim_spark.executor.partials.merge_group`), and
collects one finished tile per position (never one m x m matrix per partition) and the one sample.
The merge reads the shuffle, which holds one successful attempt's output per partition: a task
that ran again is counted once.

Only DataFrame APIs are used (``mapInArrow``, ``groupBy().applyInArrow``, ``toArrow`` or
``toLocalIterator``), so the same code runs on classic clusters and over Spark Connect.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
from pyspark.sql import DataFrame
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

ARROW_COLLECT_MAX_BYTES = 64 << 20
"""Merged results up to this size come to the driver as one Arrow table (several times faster
than rows); larger ones stream partition by partition (``toLocalIterator``), so the driver and
its JVM never hold them twice."""


def result_bytes(plan: ScanPlan) -> int:
    """About how many bytes the merged results of a scan hold."""
    m = plan.layout.m
    matrices = len(plan.transforms) + (plan.parts - 1 if plan.parts else 0)
    pairs = 1 if plan.labels else 0
    return 8 * m * m * (matrices + pairs) + 4 * plan.sample_rows * m


def _collect(merged: DataFrame, plan: ScanPlan) -> Iterator:
    """The merged rows on the driver, with attribute access to their fields."""
    if result_bytes(plan) > ARROW_COLLECT_MAX_BYTES:
        yield from merged.toLocalIterator()
        return
    for batch in merged.toArrow().to_batches():
        for row in batch.to_pylist():
            yield SimpleNamespace(**row)


def scan_statistics(
    df: DataFrame, plan: ScanPlan, units: list[ReadUnit] | None = None
) -> tuple[dict[str | None, RowStatistics], RowReport]:
    """Run the distributed pass and assemble the statistics on the driver.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Holds the columns named by ``plan`` (the layout's, its id and label columns, ``by``).
    plan : ScanPlan
    units : list of ReadUnit, optional
        Read these Parquet row groups with pyarrow inside the tasks instead of reading ``df``.

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
        columns = [F.col(c) for c in plan.columns]
        if plan.by is not None:  # a date partition column is a date: its key is its text
            columns = [
                c.cast("string").alias(plan.by) if n == plan.by else c
                for n, c in zip(plan.columns, columns, strict=True)
            ]
        source = df.select(*columns)
    else:
        source = df.sparkSession.range(0, len(units), 1, max(1, len(units)))
    partials = source.mapInArrow(partial_statistics(plan, units), PARTIAL_SCHEMA)
    merged = partials.groupBy("kind", "key", "transform", "tile_row", "tile_col").applyInArrow(
        merge_group(plan), PARTIAL_SCHEMA
    )
    report = RowReport()
    keys: dict[str | None, _Assembly] = {}
    for row in _collect(merged, plan):
        if row.kind == REPORT:
            report = report.merge(RowReport.from_json(bytes(row.data)))
            continue
        if row.key not in keys:
            keys[row.key] = _Assembly(plan)
        keys[row.key].add(row)
    return {key: assembly.statistics() for key, assembly in keys.items()}, report


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
