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
) -> tuple[
    dict[str, Moments], RowReport, dict[str, np.ndarray], RowSample | None, dict[str, list[Moments]]
]:
    """Run the distributed pass and assemble the statistics on the driver.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Holds the columns named by ``plan.layout`` (and its id column, if any).
    plan : ScanPlan
    units : list of ReadUnit, optional
        Read these Parquet row groups with pyarrow inside the tasks instead of reading ``df``.

    Returns
    -------
    moments : dict
        Transform name -> :class:`Moments` over all kept rows (absent when no row was kept).
    report : RowReport
        What was read, kept and found wrong, over all tasks; how many tasks reported, and how
        many of them were retries.
    counts : dict
        With ``plan.labels``: ``frequencies`` (int64, m) and ``confusion`` or ``cooccurrence``
        (int64, m x m); else empty.
    sample : RowSample or None
        With ``plan.sample_rows``: a uniform sample of the kept rows' raw scores (before any
        transform), ``seen`` = rows kept; else None.
    parts : dict
        With ``plan.parts``: ``plan.parts_transform`` -> its :class:`Moments` per part (empty
        parts included), whose merge is ``moments`` of that transform; else empty.
    """
    if units is None:
        source = df.select(*plan.columns)
    else:
        source = df.sparkSession.range(0, len(units), 1, max(1, len(units)))
    partials = source.mapInArrow(partial_statistics(plan, units), PARTIAL_SCHEMA)
    merged = partials.groupBy("kind", "transform", "tile_row", "tile_col").applyInArrow(
        merge_group(plan), PARTIAL_SCHEMA
    )
    m = plan.layout.m
    report = RowReport()
    shape = {t: (plan.parts if plan.parted(t) else 1) for t in plan.transforms}
    n = {t: np.zeros(k, dtype=np.int64) for t, k in shape.items()}
    mean = {t: np.zeros((k, m)) for t, k in shape.items()}
    comoment: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    sample = RowSample.empty(plan.sample_rows, m) if plan.sample_rows else None
    for row in _collect(merged, plan):
        if row.kind == REPORT:
            report = report.merge(RowReport.from_json(bytes(row.data)))
            continue
        if row.kind == SAMPLE:
            sample = sample_from(bytearray(row.data), row.n, plan)  # a writable copy
            continue
        t = row.transform
        ri, rj = plan.tile_range(row.tile_row), plan.tile_range(row.tile_col)
        if row.kind == SUM:
            values = np.frombuffer(bytes(row.data), dtype=np.int64)
            if t == FREQUENCIES:
                counts[t] = values.copy()
            else:
                target = counts.setdefault(t, np.zeros((m, m), dtype=np.int64))
                target[ri, rj] = values.reshape(ri.stop - ri.start, rj.stop - rj.start)
            continue
        partials = partials_of(row.kind, row.n, row.row_mean, row.col_mean, row.data, plan.parts)
        target = comoment.setdefault(t, np.empty((shape[t], m, m)))
        for p, (count, row_mean, _, tile) in enumerate(partials):
            target[p, ri, rj] = tile
            target[p, rj, ri] = tile.T
            n[t][p] = count
            mean[t][p, ri] = row_mean
    moments, parts = {}, {}
    for t in comoment:  # the transforms that kept rows
        stats = [Moments(int(n[t][p]), mean[t][p], comoment[t][p]) for p in range(shape[t])]
        moments[t] = Moments.merge_all(stats)
        if plan.parted(t):
            parts[t] = stats
    return moments, report, counts, sample, parts
