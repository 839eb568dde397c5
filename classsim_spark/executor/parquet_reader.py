"""Direct Parquet reading inside the Spark tasks, for path inputs.

Reading a score array through Spark costs more than the statistics themselves: the JVM decodes
Parquet into rows, then converts the rows back to Arrow for Python, one element at a time. For
Parquet files that the executors can open with pyarrow (local disks, shared or FUSE mounts such as
``/dbfs`` and ``/Volumes``, or URIs pyarrow's filesystems understand), the tasks can read the row
groups themselves and hand Arrow batches straight to the decoder.

Spark still plans and schedules the work: the driver lists the files (``DataFrame.inputFiles``,
which also works over Spark Connect); their footers (row groups and row counts, :func:`row_groups`)
are those the driver read to check local files, else one small Spark job reads them where the
executors see the files; :func:`plan_units` packs the row groups into balanced *read units*. Each
unit is one task of a ``spark.range`` with one row per partition.

``reader="auto"`` uses this path for Parquet paths on local or mounted filesystems when no SQL
filter is given (a filter needs Spark's evaluation), and Spark's reader otherwise.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

READERS: tuple[str, ...] = ("auto", "spark", "arrow")
BATCH_ROWS = 10_000
# A read unit holds about this many score cells (128 MiB as float64) and at least ROWS_PER_M * m
# rows: every task ends by shipping an m x m partial, which must stay small next to its Gram work
# (rows x m^2). There are at least MIN_UNITS units when the data has that many row groups.
CELLS_PER_UNIT = 16_000_000
ROWS_PER_M = 8
MIN_UNITS = 4
# When the number of task slots is known, units come in whole waves of that many, each unit at
# most this many cells (so a lost task costs little to recompute): fewer, balanced tasks, since
# each task pays a fixed m x m cost at its end.
MAX_CELLS_PER_UNIT = 256_000_000

RowGroup = tuple[str, int, int]
"""``(path, row_group_index, num_rows)``."""


@dataclass(frozen=True)
class ReadUnit:
    """The row groups one task reads: ``(path, row_group_index)`` pairs; with ``head``, only
    the first ``head`` rows of each (a sample read without decoding whole row groups)."""

    groups: tuple[tuple[str, int], ...]
    head: int | None = None


def local_path(uri: str) -> str | None:
    """The POSIX path of a ``file:`` URI or absolute path; ``None`` for remote URIs."""
    if uri.startswith("/"):
        return uri
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return None


UNREADABLE = "classsim: cannot read Parquet file"
"""Prefix of the message of a file that cannot be read; the driver finds it in task errors."""


class UnreadableFileError(OSError):
    """A Parquet file that cannot be read (truncated, corrupt, not Parquet)."""

    def __init__(self, path: str, cause: BaseException) -> None:
        reason = " ".join(str(cause).split()) or type(cause).__name__
        super().__init__(f"{UNREADABLE} {path}: {reason}")
        self.path = path


def row_groups(paths: Iterable[str]) -> Iterator[RowGroup | UnreadableFileError]:
    """Row groups and their row counts, read from the files' footers; an unreadable file gives
    its :class:`UnreadableFileError` instead (so that every such file can be named)."""
    for path in paths:
        try:
            meta = open_parquet(path).metadata
        except (OSError, pa.ArrowException) as err:
            yield UnreadableFileError(path, err)
            continue
        for g in range(meta.num_row_groups):
            yield path, g, meta.row_group(g).num_rows


def plan_units(
    groups: list[RowGroup],
    m: int,
    cells_per_unit: int = CELLS_PER_UNIT,
    min_units: int = MIN_UNITS,
    slots: int | None = None,
) -> list[ReadUnit]:
    """Pack row groups into read units of balanced row counts (largest first, to the lightest).

    Parameters
    ----------
    groups : list of (path, row_group, rows)
    m : int
        Number of classes; sets how many rows make a unit of ``cells_per_unit`` score cells.
    min_units : int
        At least this many units (when there are that many row groups).
    slots : int, optional
        Tasks the cluster runs at once, when known: then the units fill whole waves of ``slots``
        tasks of at most :data:`MAX_CELLS_PER_UNIT` cells each, instead of the size rules above.

    Returns
    -------
    list of ReadUnit
        No empty units; deterministic for the same footers.
    """
    groups = [g for g in groups if g[2] > 0]
    if not groups:
        return []
    total = sum(rows for _, _, rows in groups)
    if slots:
        waves = max(1, math.ceil(total * m / (slots * MAX_CELLS_PER_UNIT)))
        count = min(len(groups), slots * waves)
    else:
        rows_per_unit = max(cells_per_unit // m, ROWS_PER_M * m, 1)
        count = min(len(groups), max(min_units, math.ceil(total / rows_per_unit)))
    heap = [(0, i) for i in range(count)]
    members: list[list[tuple[str, int]]] = [[] for _ in range(count)]
    for path, g, rows in sorted(groups, key=lambda x: (-x[2], x[0], x[1])):
        load, i = heapq.heappop(heap)
        members[i].append((path, g))
        heapq.heappush(heap, (load + rows, i))
    return [ReadUnit(tuple(sorted(unit))) for unit in members]


def open_parquet(path: str) -> pq.ParquetFile:
    """Open a file by local path or by any URI pyarrow's filesystems understand."""
    local = local_path(path)
    if local is not None:
        return pq.ParquetFile(local)
    fs, inner = pa.fs.FileSystem.from_uri(path)
    return pq.ParquetFile(fs.open_input_file(inner))


def read_units(
    units: list[ReadUnit],
    columns: list[str],
    batch_rows: int = BATCH_ROWS,
    partition_columns: Iterable[str | None] = (),
) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the requested columns from the row groups of ``units``.

    Columns absent from a file (e.g. a Hive partition column used as id) are left out; the
    decoder then falls back to row positions for ids. A column of ``partition_columns`` absent
    from a file is taken from the file's path (``.../date=2026-01-05/part-0.parquet``), as
    text, as Spark's reader does for Hive-partitioned directories.
    """
    by_file: dict[tuple[str, int | None], list[int]] = {}
    for unit in units:
        for path, g in unit.groups:
            by_file.setdefault((path, unit.head), []).append(g)
    wanted = [c for c in partition_columns if c]
    for (path, head), groups in by_file.items():
        try:
            pf = open_parquet(path)
            available = set(pf.schema_arrow.names)  # schema_arrow is rebuilt on every access
            present = [c for c in columns if c in available]
            from_path = {c: partition_value(path, c) for c in wanted if c not in available}
            for batch in _batches(pf, groups, present, batch_rows, head):
                for name, value in from_path.items():
                    constant = pa.array([value] * batch.num_rows, type=pa.string())
                    batch = batch.append_column(name, constant)
                yield batch
        except (OSError, pa.ArrowException) as err:
            raise UnreadableFileError(path, err) from err


def _batches(
    pf: pq.ParquetFile, groups: list[int], columns: list[str], batch_rows: int, head: int | None
) -> Iterator[pa.RecordBatch]:
    """The row groups' batches, or the first ``head`` rows of each group (read no further)."""
    if head is None:
        yield from pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=columns)
        return
    for g in groups:
        left = head
        size = min(batch_rows, head)
        for batch in pf.iter_batches(batch_size=size, row_groups=[g], columns=columns):
            yield batch.slice(0, left)
            left -= min(left, batch.num_rows)
            if not left:
                break


def partition_value(path: str, column: str) -> str | None:
    """The value of Hive partition ``column`` in a file's path (the last ``column=value``
    directory, URL-unquoted; ``__HIVE_DEFAULT_PARTITION__`` is null).

    Raises
    ------
    UnreadableFileError
        The path names no such directory.
    """
    value = None
    for segment in path.split("/")[:-1]:
        name, sep, text = segment.partition("=")
        if sep and unquote(name) == column:
            value = unquote(text)
    if value is None:
        raise UnreadableFileError(path, ValueError(f"no column {column!r} in it nor its path"))
    return None if value == "__HIVE_DEFAULT_PARTITION__" else value
