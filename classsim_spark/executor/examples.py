"""What every task of an examples scan computes: the rows that contribute most to the
similarity of given class pairs.

The similarity of classes a and b is ``r = sum_i z_a(i) z_b(i) / (n - 1)`` over the rows i, with
``z`` the transformed scores standardised by the results' own means and standard deviations. The
rows with the largest products ``z_a z_b`` are the samples that make the two classes alike: each
task keeps, per pair, its ``top`` rows by that product (:func:`pair_contributions`, a
``mapInArrow`` function); the driver keeps the best of all tasks
(:mod:`classsim_spark.spark.examples`).

This module runs in Spark's Python workers and imports nothing of the driver.
"""

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from classsim_spark.core.transforms import ScoreSpec, transform_block
from classsim_spark.executor.arrow_schema import spark_ddl
from classsim_spark.executor.batches import BatchLayout, decode_batch
from classsim_spark.executor.labels import LabelSets, LabelSpec, decode_labels
from classsim_spark.executor.parquet_reader import ReadUnit, read_units
from classsim_spark.executor.validation import RowReport, check_scores

_ARROW_SCHEMA = pa.schema(
    [
        ("pair", pa.int32()),
        ("id", pa.string()),
        ("contribution", pa.float64()),
        ("score_a", pa.float64()),
        ("score_b", pa.float64()),
        ("value_a", pa.float64()),
        ("value_b", pa.float64()),
        ("labels", pa.list_(pa.int32())),
        ("top1", pa.int32()),
    ]
)
EXAMPLE_SCHEMA = spark_ddl(_ARROW_SCHEMA)


@dataclass(frozen=True)
class ExamplesPlan:
    """Everything a task needs, captured by closure.

    Attributes
    ----------
    layout : BatchLayout
    score_spec : ScoreSpec
    transform : str
        The transform whose standardised values are multiplied.
    pairs : tuple of (int, int)
        Class index pairs.
    mean, sd : tuple of float
        Per class: the transform's mean and standard deviation over the results' rows.
    top : int
        Rows kept per pair.
    labels : LabelSpec or None
        Report each row's labels.
    """

    layout: BatchLayout
    score_spec: ScoreSpec
    transform: str
    pairs: tuple[tuple[int, int], ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    top: int
    labels: LabelSpec | None = None

    @property
    def columns(self) -> list[str]:
        extra = [c for c in (self.layout.id_column, self.labels and self.labels.column) if c]
        return list(dict.fromkeys([*self.layout.columns, *extra]))


def pair_contributions(plan: ExamplesPlan, units: list[ReadUnit] | None = None):
    """The ``mapInArrow`` function: Arrow batches of one partition -> per pair, its ``top`` rows
    by contribution (rows of :data:`EXAMPLE_SCHEMA`)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        if units is not None:
            mine = [units[i] for batch in batches for i in batch.column(0).to_pylist()]
            batches = read_units(mine, plan.columns)
        best: list[list[tuple]] = [[] for _ in plan.pairs]  # min-heaps of (contribution, ...)
        report, first_row = RowReport(), 0
        for batch in batches:
            _fold(batch, plan, report, first_row, best)
            first_row += batch.num_rows
        rows = [
            _row(p, entry) for p, heap in enumerate(best) for entry in sorted(heap, reverse=True)
        ]
        yield pa.RecordBatch.from_pylist(rows, schema=_ARROW_SCHEMA)

    return run


def _fold(batch, plan: ExamplesPlan, report: RowReport, first_row: int, best) -> None:
    scores, ids, rows = decode_batch(batch, plan.layout, report, first_row)
    keep = check_scores(scores, ids, plan.score_spec.bounded, report)
    labels = None
    if plan.labels is not None:
        labels, labelled = decode_labels(batch, plan.labels, rows, ids, plan.layout.m, report)
        keep &= labelled
        labels = labels[keep]
    scores, ids = scores[keep], ids[keep]
    if scores.shape[0] == 0:
        return
    raw = scores
    values = transform_block(scores, plan.transform, plan.score_spec)
    top1 = np.argmax(raw, axis=1)
    named = plan.layout.id_column is not None and plan.layout.id_column in batch.schema.names
    for p, (a, b) in enumerate(plan.pairs):
        za = (values[:, a] - plan.mean[a]) / plan.sd[a]
        zb = (values[:, b] - plan.mean[b]) / plan.sd[b]
        contribution = za * zb
        k = min(plan.top, contribution.size)
        for i in np.argpartition(-contribution, k - 1)[:k]:
            entry = (
                float(contribution[i]),
                str(ids[i]) if named else None,
                float(raw[i, a]),
                float(raw[i, b]),
                float(values[i, a]),
                float(values[i, b]),
                _labels_of(labels, i),
                int(top1[i]),
            )
            if len(best[p]) < plan.top:
                heapq.heappush(best[p], entry)
            elif entry[0] > best[p][0][0]:
                heapq.heapreplace(best[p], entry)


def _labels_of(labels, i: int) -> tuple[int, ...] | None:
    if labels is None:
        return None
    if isinstance(labels, LabelSets):
        return tuple(int(j) for j in labels[i])
    return (int(labels[i]),)


def _row(pair: int, entry: tuple) -> dict:
    contribution, id_, score_a, score_b, value_a, value_b, labels, top1 = entry
    return {
        "pair": pair,
        "id": id_,
        "contribution": contribution,
        "score_a": score_a,
        "score_b": score_b,
        "value_a": value_a,
        "value_b": value_b,
        "labels": None if labels is None else list(labels),
        "top1": top1,
    }


def best_rows(batches: Iterable[pa.RecordBatch], plan: ExamplesPlan) -> list[list[dict]]:
    """Per pair of ``plan.pairs``, its ``plan.top`` rows by contribution, largest first, from
    the batches :func:`pair_contributions` yielded over all tasks."""
    best: list[list[dict]] = [[] for _ in plan.pairs]
    for batch in batches:
        for row in batch.to_pylist():
            best[row.pop("pair")].append(row)
    return [sorted(rows, key=lambda r: -r["contribution"])[: plan.top] for rows in best]
