"""Label baselines computed in the same scan as the similarity (pure numpy/pyarrow).

Where the input has ground truth, three label-based views show what the labels alone reveal and
what they miss, next to the score-based similarity:

- class frequencies (positives per class);
- single-label data: the confusion matrix, rows = true class, columns = top-1 prediction (the
  argmax of the scores; every transform is monotone within a row, so the raw scores suffice);
- multi-label data: the co-occurrence matrix ``Y^T Y`` of the 0/1 label indicators (its
  diagonal is the frequencies), counted from each row's pairs of labels
  (:class:`LabelSets`, never a dense indicator).

All are integer counts, so task partials merge by addition. Labels are class indices (integers)
or class names (strings); anything outside the class list is an input problem of its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classsim_spark.executor.validation import RowReport


@dataclass(frozen=True)
class LabelSpec:
    """Where the labels are and how to read them.

    Attributes
    ----------
    column : str
    multi : bool
        ``True`` for an array column of positives (multi-label), else one label per row.
    names : tuple of str or None
        Class names in class order, to map string labels; integer labels are class indices.
    """

    column: str
    multi: bool
    names: tuple[str, ...] | None = None


@dataclass
class LabelCounts:
    """Frequencies and the confusion or co-occurrence counts of the rows seen so far."""

    m: int
    multi: bool
    frequencies: np.ndarray = field(init=False)
    pairs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.frequencies = np.zeros(self.m, dtype=np.int64)
        self.pairs = np.zeros((self.m, self.m), dtype=np.int64)

    @property
    def pairs_name(self) -> str:
        return "cooccurrence" if self.multi else "confusion"

    def update(self, labels: np.ndarray | LabelSets, scores: np.ndarray) -> None:
        """Count one block of valid rows (``labels`` as from :func:`decode_labels`)."""
        m = self.m
        if self.multi:
            rows, classes = labels.rows, labels.classes
            self.frequencies += np.bincount(classes, minlength=m)
            codes = _pair_codes(rows, classes, len(labels), m)
            found, counts = np.unique(codes, return_counts=True)
            self.pairs.flat[found] += counts
        else:
            self.frequencies += np.bincount(labels, minlength=m)
            pred = np.argmax(scores, axis=1)
            self.pairs += np.bincount(labels * m + pred, minlength=m * m).reshape(m, m)


@dataclass(frozen=True)
class LabelSets:
    """The labels of ``n`` multi-label rows as ``(row, class)`` entries, sorted by row and
    class, each label once per row: a few entries per row where a 0/1 indicator holds m.

    Indexed like the rows' other arrays: by a boolean mask or increasing row numbers (the
    rows kept, or one key's rows) it gives the :class:`LabelSets` of those rows, renumbered;
    by one row number, that row's classes.

    >>> sets = LabelSets(np.array([0, 0, 2]), np.array([1, 4, 3]), 3)
    >>> sets[np.array([False, True, True])].rows.tolist(), sets[0].tolist()
    ([1], [1, 4])
    """

    rows: np.ndarray
    classes: np.ndarray
    n: int

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, which):
        if np.ndim(which) == 0:
            if not 0 <= which < self.n:
                raise IndexError(f"row {which} of {self.n}")
            lo, hi = np.searchsorted(self.rows, [which, which + 1])
            return self.classes[lo:hi]
        which = np.asarray(which)
        picked = np.flatnonzero(which) if which.dtype == bool else which
        renumber = np.full(self.n, -1, dtype=np.int64)
        renumber[picked] = np.arange(len(picked))
        new = renumber[self.rows]
        kept = new >= 0
        return LabelSets(new[kept], self.classes[kept], len(picked))


def _pair_codes(rows: np.ndarray, classes: np.ndarray, n: int, m: int) -> np.ndarray:
    """``i * m + j`` for every ordered pair of labels ``(i, j)`` (``i == j`` included) of the
    same row, from the labels as (row, class) entries sorted by row.

    Multi-label rows hold a few labels of m: counting their pairs costs their number, where
    the indicator's product ``L^T L`` cost n x m^2 (at AudioSet size as much as the Gram).

    >>> _pair_codes(np.array([0, 0, 1]), np.array([2, 5, 3]), 2, 10).tolist()
    [22, 25, 52, 55, 33]
    """
    per_row = np.bincount(rows, minlength=n)
    starts = np.cumsum(per_row) - per_row
    partners = per_row[rows]  # each entry pairs with every entry of its row
    left = np.repeat(np.arange(len(rows)), partners)
    first = np.repeat(np.cumsum(partners) - partners, partners)
    right = starts[rows[left]] + (np.arange(len(left)) - first)
    return classes[left].astype(np.int64) * m + classes[right]


def decode_labels(
    batch: pa.RecordBatch,
    spec: LabelSpec,
    rows: np.ndarray,
    ids: np.ndarray,
    m: int,
    report: RowReport,
) -> tuple[np.ndarray | LabelSets, np.ndarray]:
    """The labels of ``rows`` of ``batch`` as class indices.

    Returns
    -------
    labels : ndarray or LabelSets
        Single-label: int64 class index per row (-1 where invalid). Multi-label: each row's
        classes (:class:`LabelSets`; none for an invalid row).
    ok : ndarray of bool, shape (len(rows),)
        Rows whose labels are valid; the others are counted in ``report``.
    """
    column = batch.column(spec.column).take(pa.array(rows, pa.int64()))
    null = column.is_null().to_numpy(zero_copy_only=False)
    report.add("null_labels", ids[null])
    if spec.multi:
        counts = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
        index, bad_value = _to_index(column.flatten(), spec, m)
        owner = np.repeat(np.arange(len(rows)), counts)
        bad = np.zeros(len(rows), dtype=bool)
        bad[owner[bad_value]] = True
        report.add("unknown_labels", ids[bad & ~null])
        ok = ~null & ~bad
        valid = ok[owner]  # a row with an unknown label has none counted
        codes = np.unique(owner[valid] * m + index[valid])  # sorted; a repeated label once
        return LabelSets(codes // m, codes % m, len(rows)), ok
    index, bad = _to_index(column, spec, m)
    bad &= ~null
    report.add("unknown_labels", ids[bad])
    return index, ~null & ~bad


def _to_index(values: pa.Array, spec: LabelSpec, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Class indices of label values, and a mask of values outside the class list."""
    if pa.types.is_integer(values.type):
        index = pc.fill_null(values, -1).to_numpy().astype(np.int64)
        return index, (index < 0) | (index >= m)
    lookup = {name: i for i, name in enumerate(spec.names or ())}
    text = values.cast(pa.string()).to_pylist()
    index = np.array([lookup.get(v, -1) if v is not None else -1 for v in text], dtype=np.int64)
    return index, index < 0
