"""Direct Parquet reading inside the Spark tasks, for path inputs.

Reading a score array through Spark costs more than the statistics themselves: the JVM decodes
Parquet into rows, then converts the rows back to Arrow for Python, one element at a time. For
Parquet files that the executors can open with pyarrow (local disks, shared or FUSE mounts such as
``/dbfs`` and ``/Volumes``, or URIs pyarrow's filesystems understand), the tasks can read the row
groups themselves and hand Arrow batches straight to the decoder.

Spark still plans and schedules the work: the driver lists the files (``DataFrame.inputFiles``,
which also works over Spark Connect) and builds *read units* ``(file, part, parts)``; unit
``part`` of a file reads the row groups whose index is ``part`` modulo ``parts``. Each unit is one
task of a ``spark.range`` with one row per partition.

``reader="auto"`` uses this path for Parquet paths on local or mounted filesystems when no SQL
filter is given (a filter needs Spark's evaluation), and Spark's reader otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

READERS: tuple[str, ...] = ("auto", "spark", "arrow")
DEFAULT_MIN_TASKS = 16
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class ReadUnit:
    """Row groups ``part, part + parts, ...`` of one Parquet file."""

    path: str
    part: int
    parts: int


def local_path(uri: str) -> str | None:
    """The POSIX path of a ``file:`` URI or absolute path; ``None`` for remote URIs."""
    if uri.startswith("/"):
        return uri
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return None


def plan_units(files: list[str], min_tasks: int = DEFAULT_MIN_TASKS) -> list[ReadUnit]:
    """Split files into read units so that there are at least ``min_tasks`` of them."""
    if not files:
        return []
    parts = max(1, math.ceil(min_tasks / len(files)))
    return [ReadUnit(f, i, parts) for f in sorted(files) for i in range(parts)]


def open_parquet(path: str) -> pq.ParquetFile:
    """Open a file by local path or by any URI pyarrow's filesystems understand."""
    local = local_path(path)
    if local is not None:
        return pq.ParquetFile(local)
    fs, inner = pa.fs.FileSystem.from_uri(path)
    return pq.ParquetFile(fs.open_input_file(inner))


def read_units(
    units: list[ReadUnit], columns: list[str], batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the requested columns from the row groups of ``units``.

    Columns absent from a file (e.g. a Hive partition column used as id) are left out; the
    decoder then falls back to row positions for ids.
    """
    for unit in units:
        pf = open_parquet(unit.path)
        groups = [g for g in range(pf.num_row_groups) if g % unit.parts == unit.part]
        if not groups:
            continue
        present = [c for c in columns if c in pf.schema_arrow.names]
        yield from pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=present)
