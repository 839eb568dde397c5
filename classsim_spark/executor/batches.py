"""Decode Arrow record batches of scores into dense numpy blocks (pure pyarrow/numpy).

Three physical layouts reach the Spark tasks:

``wide``
    One numeric column per class, in class order.
``array``
    One ``list<float|double>`` column, or a Spark ML vector (its Arrow form is a struct of
    ``type, size, indices, values``; dense and sparse vectors are both decoded).
``entries``
    The long layout after Spark has grouped it by sample: a ``list<struct<idx, score>>`` column of
    (class index, score) pairs; classes with no entry take ``fill_value``.

Rows whose *shape* is wrong (null, wrong length, missing or duplicate classes) are recorded in the
:class:`~classsim_spark.executor.validation.RowReport` and left out of the block; value checks (NaN,
range) happen afterwards on the block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classsim_spark.executor.validation import MAX_EXAMPLES, RowReport

LAYOUT_KINDS: tuple[str, ...] = ("wide", "array", "entries")
ENTRY_INDEX, ENTRY_SCORE = "idx", "score"


@dataclass(frozen=True)
class BatchLayout:
    """Where a task finds the scores in each Arrow batch.

    Attributes
    ----------
    kind : {"wide", "array", "entries"}
    columns : tuple of str
        ``wide``: the class columns in class order; otherwise the single score column.
    m : int
        Number of classes.
    id_column : str or None
        Column whose values name rows in reports; ``None`` uses positions within the task.
    fill_value : float or None
        ``entries`` only: the score of a class that has no entry for a sample.
    """

    kind: str
    columns: tuple[str, ...]
    m: int
    id_column: str | None = None
    fill_value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in LAYOUT_KINDS:
            raise ValueError(f"layout kind must be one of {LAYOUT_KINDS}, got {self.kind!r}")
        if self.kind == "wide" and len(self.columns) != self.m:
            raise ValueError(f"wide layout needs {self.m} columns, got {len(self.columns)}")
        if self.kind != "wide" and len(self.columns) != 1:
            raise ValueError(f"{self.kind} layout reads one column, got {self.columns}")


def decode_batch(
    batch: pa.RecordBatch, layout: BatchLayout, report: RowReport, first_row: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Dense scores of the well-formed rows of one batch.

    Parameters
    ----------
    batch : pyarrow.RecordBatch
    layout : BatchLayout
    report : RowReport
        Malformed rows are counted here (``rows_read`` is not updated).
    first_row : int
        Position of the batch's first row within the task, used as id when there is no id column.

    Returns
    -------
    scores : ndarray, shape (k, m), float64
    ids : ndarray, shape (k,)
        Ids of the returned rows, for reporting value problems.
    rows : ndarray of int, shape (k,)
        Positions of the returned rows in the batch (to pick their labels).
    """
    if layout.id_column is not None and layout.id_column in batch.schema.names:
        ids = batch.column(layout.id_column).to_numpy(zero_copy_only=False)
    else:
        ids = np.arange(first_row, first_row + batch.num_rows)
    if layout.kind == "wide":
        scores, ok = _decode_wide(batch, layout, ids, report)
    else:
        column = batch.column(layout.columns[0])
        if pa.types.is_struct(column.type):
            scores, ok = _decode_vectors(column, layout.m, ids, report)
        elif layout.kind == "array":
            scores, ok = _decode_lists(column, layout.m, ids, report)
        else:
            scores, ok = _decode_entries(column, layout, ids, report)
    return scores, ids[ok], np.flatnonzero(ok)


def _decode_wide(batch, layout, ids, report):
    columns = [batch.column(name) for name in layout.columns]
    null = np.zeros(batch.num_rows, dtype=bool)
    for column in columns:
        if column.null_count:
            null |= column.is_null().to_numpy(zero_copy_only=False)
    report.add("null_scores", ids[null])
    # Filling class-major rows writes contiguous memory; the accumulator makes rows contiguous
    # again while it subtracts its shift.
    by_class = np.empty((layout.m, batch.num_rows), dtype=np.float64)
    for j, column in enumerate(columns):
        by_class[j] = column.to_numpy(zero_copy_only=False)
    scores = by_class.T
    return (scores[~null] if null.any() else scores), ~null


def _lengths(lengths: np.ndarray, m: int) -> list[str]:
    """'n scores for m classes' for the first rows of wrong length (the examples shown)."""
    return [f"{n} scores for {m} classes" for n in lengths[:MAX_EXAMPLES]]


def _decode_lists(column, m, ids, report):
    if pa.types.is_fixed_size_list(column.type):
        column = column.cast(pa.list_(column.type.value_type))
    null = column.is_null().to_numpy(zero_copy_only=False)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
    report.add("null_scores", ids[null])
    wrong = ~null & (lengths != m)
    report.add("wrong_length", ids[wrong], _lengths(lengths[wrong], m))
    ok = ~null & ~wrong
    values = column.flatten() if ok.all() else column.filter(pa.array(ok)).flatten()
    if values.null_count:
        kept = np.flatnonzero(ok)
        has_null = values.is_null().to_numpy(zero_copy_only=False).reshape(-1, m).any(axis=1)
        report.add("null_scores", ids[kept[has_null]])
        ok[kept[has_null]] = False
        values = column.filter(pa.array(ok)).flatten()
    return values.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, m), ok


def _decode_vectors(column, m, ids, report):
    """Decode Spark ML vectors (struct<type, size, indices, values>; type 1 = dense)."""
    null = column.is_null().to_numpy(zero_copy_only=False)
    report.add("null_scores", ids[null])
    kind = pc.fill_null(column.field("type"), 1).to_numpy(zero_copy_only=False)
    size = pc.fill_null(column.field("size"), 0).to_numpy(zero_copy_only=False)
    values = column.field("values")
    value_len = pc.fill_null(pc.list_value_length(values), 0).to_numpy()
    length = np.where(kind == 1, value_len, size)
    wrong = ~null & (length != m)
    report.add("wrong_length", ids[wrong], _lengths(length[wrong], m))
    ok = ~null & ~wrong
    scores = np.zeros((int(ok.sum()), m), dtype=np.float64)
    kept = np.flatnonzero(ok)
    dense = kind[kept] == 1
    if dense.any():
        picked = pa.array(np.isin(np.arange(len(column)), kept[dense]))
        scores[dense] = values.filter(picked).flatten().to_numpy().reshape(-1, m)
    if (~dense).any():
        picked = pa.array(np.isin(np.arange(len(column)), kept[~dense]))
        sparse_idx = column.field("indices").filter(picked)
        sparse_val = values.filter(picked)
        counts = pc.list_value_length(sparse_val).to_numpy()
        rows = np.repeat(np.flatnonzero(~dense), counts)
        scores[rows, sparse_idx.flatten().to_numpy()] = sparse_val.flatten().to_numpy()
    return scores, ok


def _decode_entries(column, layout, ids, report):
    """Scatter (class index, score) entries into dense rows; see module docstring."""
    m, n = layout.m, len(column)
    null = column.is_null().to_numpy(zero_copy_only=False)
    report.add("null_scores", ids[null])
    counts = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
    entries = column.flatten()
    row = np.repeat(np.arange(n), counts)
    idx_arr = entries.field(ENTRY_INDEX)
    unknown_entry = idx_arr.is_null().to_numpy(zero_copy_only=False)
    unknown = np.zeros(n, dtype=bool)
    unknown[row[unknown_entry]] = True
    report.add("unknown_classes", ids[unknown])
    idx = pc.fill_null(idx_arr, 0).to_numpy().astype(np.int64)
    score = entries.field(ENTRY_SCORE).to_numpy(zero_copy_only=False).astype(np.float64)
    known = ~unknown_entry
    row, idx, score = row[known], idx[known], score[known]
    key = row * m + idx
    per_row = np.bincount(key, minlength=n * m).reshape(n, m)
    duplicate = (per_row > 1).any(axis=1) & ~unknown
    report.add("duplicate_classes", ids[duplicate])
    bad = null | unknown | duplicate
    if layout.fill_value is None:
        missing = ~bad & (per_row == 0).any(axis=1)
        report.add("missing_classes", ids[missing])
        bad |= missing
    fill = np.nan if layout.fill_value is None else layout.fill_value
    scores = np.full((n, m), fill, dtype=np.float64)
    scores[row, idx] = score
    return scores[~bad], ~bad
