"""What every task of the distributed pass computes: partial statistics, and their merge.

Each task turns its Arrow batches into dense score blocks (:mod:`classsim_spark.executor.batches`),
checks them (:mod:`classsim_spark.executor.validation`), applies every requested transform and folds
the block into one :class:`~classsim_spark.core.moments.Moments` per transform. At the end of its
partition it emits the upper-triangle tiles of each co-moment matrix, plus one row with its
:class:`~classsim_spark.executor.validation.RowReport` (which also says whether the task is a
retry) and (unless ``sample_rows`` is 0) one with a uniform
:class:`~classsim_spark.executor.sampling.RowSample` of its kept raw score rows
(:func:`partial_statistics`, the ``mapInArrow`` function). The grouped function
(:func:`merge_group`, for ``groupBy(tile).applyInArrow``) merges the tiles of all tasks with the
exact parallel formula, streaming them so no executor holds more than one tile per task at once,
and merges the samples pairwise into one. Rows of :data:`PARTIAL_SCHEMA` carry everything between
the two and to the driver (:mod:`classsim_spark.spark.scan`).

This module runs in Spark's Python workers and imports nothing of the driver. It deliberately does
not use ``from __future__ import annotations``: PySpark reads the grouped function's type hints to
pick its streaming (iterator) form.
"""

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark import TaskContext

from classsim_spark.core.moments import (
    Moments,
    PartedAccumulator,
    Partial,
    ShiftedAccumulator,
    merge_comoment,
    row_parts,
)
from classsim_spark.core.transforms import ScoreSpec, transform_block
from classsim_spark.executor.arrow_schema import spark_ddl
from classsim_spark.executor.batches import BatchLayout, decode_batch
from classsim_spark.executor.labels import LabelCounts, LabelSpec, decode_labels
from classsim_spark.executor.parquet_reader import ReadUnit, read_units
from classsim_spark.executor.sampling import RowSample
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.executor.validation import RowReport, check_scores

_ARROW_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("key", pa.string()),
        ("transform", pa.string()),
        ("tile_row", pa.int32()),
        ("tile_col", pa.int32()),
        ("n", pa.int64()),
        ("row_mean", pa.binary()),
        ("col_mean", pa.binary()),
        ("data", pa.binary()),
    ]
)
PARTIAL_SCHEMA = spark_ddl(_ARROW_SCHEMA)
TILE, PARTS, REPORT, SUM, SAMPLE = "tile", "parts", "report", "sum", "sample"
FREQUENCIES = "frequencies"
# Elements of float64 work per task chunk: bounds executor memory to a few hundred MB at any m.
CHUNK_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class ScanPlan:
    """Everything a task needs, captured by closure and shipped with the function.

    Attributes
    ----------
    layout : BatchLayout
    transforms : tuple of str
    score_spec : ScoreSpec
    tile_size : int
        Side of the square co-moment tiles that are reduced independently.
    labels : LabelSpec or None
        Count the label baselines in the same scan.
    sample_rows : int
        Capacity of the uniform sample of kept raw score rows; 0 collects none.
    parts : int
        Keep the co-moments of ``parts_transform`` in this many disjoint parts of the rows
        (:func:`~classsim_spark.core.moments.row_parts`) instead of one, for the stability of the
        findings (:mod:`classsim_spark.core.stability`); 0 keeps one. The parts of a tile travel
        packed in one row (kind ``parts``), so the reduce has no more groups than without them,
        and the driver merges them into the full statistic.
    parts_transform : str or None
        The transform whose statistics are kept in parts.
    by : str or None
        Keep every statistic per value of this column (as text; a null is a value of its own):
        the time windows of :mod:`classsim_spark.spark.windows`. Rows of
        :data:`PARTIAL_SCHEMA` carry the value as ``key`` (null when ``by`` is None).
    """

    layout: BatchLayout
    transforms: tuple[str, ...]
    score_spec: ScoreSpec
    tile_size: int
    labels: LabelSpec | None = None
    sample_rows: int = 1000
    parts: int = 0
    parts_transform: str | None = None
    by: str | None = None

    def parted(self, transform: str) -> bool:
        """Whether ``transform``'s statistics are kept in parts."""
        return bool(self.parts) and transform == self.parts_transform

    @property
    def columns(self) -> list[str]:
        """The input columns the tasks read."""
        extra = [
            c for c in (self.layout.id_column, self.labels and self.labels.column, self.by) if c
        ]
        return list(dict.fromkeys([*self.layout.columns, *extra]))

    @property
    def tiles_per_side(self) -> int:
        return math.ceil(self.layout.m / self.tile_size)

    def tile_range(self, t: int) -> slice:
        return slice(t * self.tile_size, min((t + 1) * self.tile_size, self.layout.m))


TILE_BYTES = 8 << 20
"""Bytes of one reduced row of co-moments (a tile, or the packed parts of a tile)."""


def choose_tile_size(m: int, target_bytes: int = TILE_BYTES) -> int:
    """Largest tile side whose float64 square stays within ``target_bytes`` (64 to m)."""
    side = int(math.sqrt(target_bytes / 8))
    return max(1, min(m, max(64, side)))


class _TaskSample:
    """A task's :class:`RowSample` and its generator, seeded when the first kept rows arrive.

    The seed comes from the bytes of the task's first kept row and its partition number, so a
    given partitioning of the same data draws the same task samples, and tasks that start with
    the same row still draw independently.
    """

    def __init__(self, capacity: int, m: int) -> None:
        self.sample = RowSample.empty(capacity, m)
        self.rng: np.random.Generator | None = None

    def add(self, scores: np.ndarray) -> None:
        if self.rng is None:
            context = TaskContext.get()
            partition = context.partitionId() if context is not None else 0
            self.rng = np.random.default_rng([zlib.crc32(scores[0].tobytes()), partition])
        self.sample.add(scores, self.rng)


class _KeyState:
    """A task's statistics of the rows of one key: accumulators per transform, label counts,
    sample."""

    def __init__(self, plan: ScanPlan, chunk_rows: int) -> None:
        m = plan.layout.m
        self.acc = {
            t: PartedAccumulator(m, plan.parts, chunk_rows)
            if plan.parted(t)
            else ShiftedAccumulator(m)
            for t in plan.transforms
        }
        self.counts = LabelCounts(m, plan.labels.multi) if plan.labels else None
        self.sample = _TaskSample(plan.sample_rows, m) if plan.sample_rows else None
        self.rows = 0

    def statistics(self, plan: ScanPlan) -> RowStatistics:
        """This key's statistics, finished (the accumulators are spent)."""
        moments, parts = {}, {}
        for transform, accumulator in self.acc.items():
            stats = accumulator.moments()
            if plan.parted(transform):
                parts[transform] = stats
                stats = Moments.merge_all(stats)
            if stats.n:
                moments[transform] = stats
        counts = {}
        if self.counts is not None and self.rows:
            counts = {
                FREQUENCIES: self.counts.frequencies,
                self.counts.pairs_name: self.counts.pairs,
            }
        sample = self.sample.sample if self.sample is not None and self.sample.sample.seen else None
        return RowStatistics(moments, counts, sample, parts)

    def batches(self, key: str | None, plan: ScanPlan) -> Iterator[pa.RecordBatch]:
        """The rows this key's statistics leave the task in."""
        for transform, accumulator in self.acc.items():
            stats = accumulator.moments()
            stats = stats if plan.parted(transform) else [stats]
            if any(s.n for s in stats):
                yield from _tile_batches(key, transform, stats, plan)
        if self.counts is not None and self.rows:
            yield from _count_batches(key, self.counts, plan)
        if self.sample is not None and self.sample.sample.seen:
            yield _sample_batch(key, self.sample.sample)


def partial_statistics(plan: ScanPlan, units: list[ReadUnit] | None = None):
    """The ``mapInArrow`` function: Arrow batches of one partition -> tiles, one report and (with
    ``plan.sample_rows``) one sample, per key (``plan.by``'s values; one key, null, without).

    With ``units``, the partition holds read-unit numbers and the task reads those Parquet row
    groups itself (:mod:`classsim_spark.executor.parquet_reader`).
    """

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        if units is not None:
            mine = [units[i] for batch in batches for i in batch.column(0).to_pylist()]
            batches = read_units(mine, plan.columns, partition_columns=(plan.by,))
        report = RowReport(tasks=1, tasks_retried=int(_is_retry(TaskContext.get())))
        states: dict[str | None, _KeyState] = {}
        fold_batches(batches, plan, report, states)
        yield _report_batch(report)
        for key, state in states.items():
            yield from state.batches(key, plan)

    return run


def fold_batches(
    batches: Iterator[pa.RecordBatch],
    plan: ScanPlan,
    report: RowReport,
    states: dict,
    stop=None,
) -> None:
    """Fold Arrow batches chunk by chunk into ``states`` (key -> its accumulators), counting
    what was read, kept and found wrong in ``report``: a task's whole work before it emits.

    ``stop``: an event (anything with ``is_set()``) checked between chunks; when set, the
    fold returns early.
    """
    chunk_rows = max(1, CHUNK_ELEMENTS // plan.layout.m)
    for batch in batches:
        for start in range(0, batch.num_rows, chunk_rows):
            if stop is not None and stop.is_set():
                return
            piece = batch.slice(start, chunk_rows)
            _accumulate(piece, plan, report, states, chunk_rows, first_row=report.rows_read)
            report.rows_read += piece.num_rows


def finished_statistics(states: dict, plan: ScanPlan) -> dict:
    """Key -> the :class:`~classsim_spark.executor.statistics.RowStatistics` of ``states``
    (what :func:`fold_batches` filled), as the driver assembles them from a Spark scan: the
    parted transform's moments are its parts merged. Spends the accumulators."""
    return {key: state.statistics(plan) for key, state in states.items()}


def _is_retry(context: TaskContext | None) -> bool:
    """Whether this task is a retry of its partition (attempt number above 0): an earlier
    attempt failed (its Python worker or executor died), or succeeded on an executor lost
    while the stage ran, so its output had to be computed again.

    PySpark's ``TaskContext`` has the task's attempt number but not its stage's: partitions
    that Spark recomputes in a new attempt of their stage (outputs found missing when the
    stage's tasks were done, e.g. every output of a lost host, or a fetch failure later) start
    again at attempt 0 and are not counted as retries. Either way only one attempt's output
    per partition reaches the merge.
    """
    return context is not None and context.attemptNumber() > 0


def _accumulate(batch, plan, report, states, chunk_rows, first_row):
    """Decode and check one chunk of rows, and fold its kept rows into their key's state."""
    scores, ids, rows = decode_batch(batch, plan.layout, report, first_row)
    keep = check_scores(scores, ids, plan.score_spec.bounded, report)
    labels = None
    if plan.labels is not None:
        labels, labelled = decode_labels(batch, plan.labels, rows, ids, plan.layout.m, report)
        keep &= labelled
    if not keep.all():
        scores, ids = scores[keep], ids[keep]
        labels = None if labels is None else labels[keep]
    report.rows_kept += scores.shape[0]
    if scores.shape[0] == 0:
        return
    identified = plan.layout.id_column in batch.schema.names and np.issubdtype(
        ids.dtype, np.integer
    )
    ids = ids if identified else None
    for key, which in _rows_by_key(batch, plan.by, rows[keep]):
        if key not in states:
            states[key] = _KeyState(plan, chunk_rows)
        if which is None:
            _fold(states[key], plan, scores, labels, ids)
        else:
            _fold(
                states[key],
                plan,
                scores[which],
                None if labels is None else labels[which],
                None if ids is None else ids[which],
            )


def _rows_by_key(batch, by, kept_rows):
    """``(key, which)`` pairs: the key of each group of kept rows and their indices among the
    kept rows (None: all of them)."""
    if by is None:
        yield None, None
        return
    column = batch.column(by)
    if column.type != pa.string():
        column = column.cast(pa.string())
    values = np.asarray(column.to_pylist(), dtype=object)[kept_rows]
    first = values[0] if values.size else None
    if values.size and all(v == first for v in values):
        yield first, None
        return
    groups: dict = {}
    for i, value in enumerate(values):
        groups.setdefault(value, []).append(i)
    for value, which in groups.items():
        yield value, np.asarray(which)


def _fold(state: _KeyState, plan: ScanPlan, scores, labels, ids) -> None:
    """Add kept rows (their raw scores, labels and integer ids) to one key's statistics."""
    state.rows += scores.shape[0]
    if state.counts is not None:
        state.counts.update(labels, scores)
    if state.sample is not None:  # before the transforms, which may overwrite ``scores``
        state.sample.add(scores)
    part = None
    if plan.parts:  # from the sample id, else the scores as read (before any transform)
        part = row_parts(scores, plan.parts, np.uint8 if plan.parts <= 256 else np.int64, ids)
    # The parted transform last: its block is then free to shift in place before its gather.
    ordered = sorted(plan.transforms, key=plan.parted)
    for k, transform in enumerate(ordered):
        block = transform_block(scores, transform, plan.score_spec)
        # A block the transform created, or the scores once no later transform needs them,
        # can be centred in place.
        reusable = block is not scores or k == len(ordered) - 1
        if plan.parted(transform):  # last, so reusable: shifted in place, then gathered
            state.acc[transform].add(block, part)
        else:
            state.acc[transform].add(block, overwrite=reusable)


def _row(
    kind: str,
    data: bytes,
    key: str | None = None,
    transform: str = "",
    tile_row: int = 0,
    tile_col: int = 0,
    n: int = 0,
    row_mean: bytes = b"",
    col_mean: bytes = b"",
) -> dict:
    """One row of :data:`PARTIAL_SCHEMA`; the fields a kind does not use are empty."""
    return {
        "kind": kind,
        "key": key,
        "transform": transform,
        "tile_row": tile_row,
        "tile_col": tile_col,
        "n": n,
        "row_mean": row_mean,
        "col_mean": col_mean,
        "data": data,
    }


def _report_batch(report: RowReport) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [_row(REPORT, report.to_json().encode(), n=report.rows_kept)], schema=_ARROW_SCHEMA
    )


def _tile_batches(
    key: str | None, transform: str, stats: list[Moments], plan: ScanPlan
) -> Iterator[pa.RecordBatch]:
    """Every upper tile of the co-moments, one batch each (so that neither this worker nor
    the JVM reading its output holds more than a tile at once): one statistic, or the parts
    of a parted transform."""
    k = plan.tiles_per_side
    for i in range(k):
        ri = plan.tile_range(i)
        for j in range(i, k):
            rj = plan.tile_range(j)
            partials = [(s.n, s.mean[ri], s.mean[rj], s.comoment[ri, rj]) for s in stats]
            row = _partials_row(key, transform, i, j, partials, plan.parted(transform))
            yield pa.RecordBatch.from_pylist([row], schema=_ARROW_SCHEMA)


def _partials_row(
    key: str | None, transform: str, i: int, j: int, partials: list[Partial], parted: bool
) -> dict:
    """One tile's statistics as a row; the parts of a parted transform packed together
    (``n`` their total, the means concatenated, ``data`` their counts then their tiles)."""
    if not parted:
        ((n, r, c, tile),) = partials
        data = np.ascontiguousarray(tile).tobytes()
        return _row(TILE, data, key, transform, i, j, n, r.tobytes(), c.tobytes())
    counts = np.array([p[0] for p in partials], dtype=np.int64)
    return _row(
        PARTS,
        counts.tobytes() + b"".join(np.ascontiguousarray(p[3]).tobytes() for p in partials),
        key,
        transform,
        i,
        j,
        int(counts.sum()),
        b"".join(p[1].tobytes() for p in partials),
        b"".join(p[2].tobytes() for p in partials),
    )


def partials_of(kind: str, n: int, row_mean, col_mean, data, parts: int) -> list[Partial]:
    """The statistics a ``TILE`` or ``PARTS`` row holds (any bytes-like fields)."""
    r = np.frombuffer(row_mean, dtype=np.float64)
    c = np.frombuffer(col_mean, dtype=np.float64)
    if kind == TILE:
        return [(n, r, c, np.frombuffer(data, dtype=np.float64).reshape(r.size, c.size))]
    counts = np.frombuffer(data, dtype=np.int64, count=parts)
    rows, cols = r.size // parts, c.size // parts
    tiles = np.frombuffer(data, dtype=np.float64, offset=8 * parts).reshape(parts, rows, cols)
    return [
        (int(counts[p]), r[p * rows : (p + 1) * rows], c[p * cols : (p + 1) * cols], tiles[p])
        for p in range(parts)
    ]


def _count_batches(
    key: str | None, counts: LabelCounts, plan: ScanPlan
) -> Iterator[pa.RecordBatch]:
    """Frequencies as one row, then the pair counts tile by tile (they need not be
    symmetric), one batch each."""
    row = _row(SUM, counts.frequencies.tobytes(), key, FREQUENCIES)
    yield pa.RecordBatch.from_pylist([row], schema=_ARROW_SCHEMA)
    k = plan.tiles_per_side
    for i in range(k):
        for j in range(k):
            tile = counts.pairs[plan.tile_range(i), plan.tile_range(j)]
            data = np.ascontiguousarray(tile).tobytes()
            row = _row(SUM, data, key, counts.pairs_name, i, j)
            yield pa.RecordBatch.from_pylist([row], schema=_ARROW_SCHEMA)


def _sample_batch(key: str | None, sample: RowSample) -> pa.RecordBatch:
    """The sample as one row: ``n`` rows seen, ``data`` the k x m float32 rows."""
    return pa.RecordBatch.from_pylist(
        [_row(SAMPLE, sample.rows.tobytes(), key, n=sample.seen)], schema=_ARROW_SCHEMA
    )


def sample_from(data, seen: int, plan: ScanPlan) -> RowSample:
    """The :class:`RowSample` of a ``SAMPLE`` row's ``data`` (any bytes-like) and ``n``."""
    rows = np.frombuffer(data, dtype=np.float32).reshape(-1, plan.layout.m)
    return RowSample(plan.sample_rows, rows, seen)


def merge_group(plan: ScanPlan):
    """The grouped ``applyInArrow`` function: all tasks' partials of one group -> one row.

    A group is one key's tile (or count tile) position or samples, or the reports; ``plan``
    gives the samples' shape.
    """

    def merge(
        key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        if key[0].as_py() == SAMPLE:
            yield _merge_samples(key[1].as_py(), batches, plan)
        else:
            yield from _merge_statistics(key, batches, plan.parts)

    return merge


def _merge_samples(
    key: str | None, batches: Iterator[pa.RecordBatch], plan: ScanPlan
) -> pa.RecordBatch:
    """Merge the tasks' samples one at a time, so about two samples are held at once.

    Each merge is uniform, so the result is a uniform sample of all kept rows whatever the order
    the shuffle delivers the task samples in; which rows it holds may depend on that order.
    """
    rng = np.random.default_rng(0)
    merged = RowSample.empty(plan.sample_rows, plan.layout.m)
    for batch in batches:
        data, seen = batch.column("data"), batch.column("n")
        for i in range(batch.num_rows):
            part = sample_from(data[i].as_buffer(), seen[i].as_py(), plan)
            merged = RowSample.merge(merged, part, rng)
    return _sample_batch(key, merged)


def _merge_statistics(
    key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch], parts: int
) -> Iterator[pa.RecordBatch]:
    """All tasks' partials of one tile (or its parts), one count tile, or the reports -> one
    row."""
    kind = key[0].as_py()
    if kind == SUM:
        total = None
        for batch in batches:
            for data in batch.column("data").to_pylist():
                part = np.frombuffer(data, dtype=np.int64)
                total = part.copy() if total is None else total + part
        group, transform, tile_row, tile_col = (k.as_py() for k in key[1:5])
        yield pa.RecordBatch.from_pylist(
            [_row(SUM, total.tobytes(), group, transform, tile_row, tile_col)],
            schema=_ARROW_SCHEMA,
        )
        return
    if kind == REPORT:
        merged = RowReport()
        for batch in batches:
            for text in batch.column("data").to_pylist():
                merged = merged.merge(RowReport.from_json(text))
        yield _report_batch(merged)
        return
    merged: list[Partial] | None = None  # per part (one for a TILE), merged over tasks
    for batch in batches:
        for row in batch.to_pylist():
            partials = partials_of(
                kind, row["n"], row["row_mean"], row["col_mean"], row["data"], parts
            )
            merged = (
                partials
                if merged is None
                else [merge_comoment(a, b) for a, b in zip(merged, partials, strict=True)]
            )
    yield pa.RecordBatch.from_pylist(
        [_partials_row(*(k.as_py() for k in key[1:5]), merged, kind == PARTS)],
        schema=_ARROW_SCHEMA,
    )
