"""Local Parquet input described from its files alone, before any Spark session.

For Parquet files the driver can open (local disks, mounts such as ``/dbfs`` or ``/Volumes``),
the footers and one row tell everything Spark's schema inference and its first-row job would:
the columns and their types (Spark's own schema when Spark wrote the files), the partition
columns of Hive-style directories, and how many scores the first row holds. With them the scan
of the pyarrow reader is planned without a Spark job, and the session can be sized from the job
before it starts (:mod:`classsim_spark.spark.sources` decides when this applies).

Spark conventions kept: hidden and ``_``-prefixed files are skipped (by the caller's listing);
the schema is the first file's (Spark reads one footer unless asked to merge schemas); partition
columns are those of the directories below the base path (:func:`partition_base`), typed as
text, since classsim uses them only as text (``--by`` keys).
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_type

from classsim_spark.executor.parquet_reader import partition_value

SPARK_SCHEMA_KEY = b"org.apache.spark.sql.parquet.row.metadata"
"""Footer key under which Spark stores the schema of the files it writes (ML vectors included)."""


def partition_base(paths: list[str]) -> str | None:
    """The directory above the Hive partition directories that ``paths`` name, when they all
    name some below one directory (``logs/date=2026-01-31`` -> ``logs``), else None.

    Spark discovers partition columns only below the paths it is given: a partition directory
    given alone would lose its column (``date``), which ``--by date`` and an update of results
    scanned with it need.

    Examples
    --------
    >>> partition_base(["logs/date=2026-01-30", "logs/date=2026-01-31/part-0.parquet"])
    'logs'
    >>> partition_base(["logs/2026-01-31"]) is None
    True
    """
    bases = set()
    for path in paths:
        parts = path.rstrip("/").split("/")
        first = next((i for i, p in enumerate(parts) if "=" in p and not p.startswith("=")), None)
        if first is None or first == 0 or any(ch in "".join(parts[:first]) for ch in "*?["):
            return None
        bases.add("/".join(parts[:first]))
    return bases.pop() if len(bases) == 1 else None


def partition_columns(roots: list[str], files: list[str]) -> list[str]:
    """Names of the Hive partition columns Spark would find: ``name=value`` directories
    between a file and the root it was found under, present for every file.

    Parameters
    ----------
    roots : list of str
        Absolute paths the files were listed from (directories, files or glob results' parents).
    files : list of str
        Absolute paths of the data files.

    Examples
    --------
    >>> partition_columns(["/d"], ["/d/date=1/h=2/a.parquet", "/d/date=2/h=0/b.parquet"])
    ['date', 'h']
    >>> partition_columns(["/d/date=1/a.parquet"], ["/d/date=1/a.parquet"])
    []
    """
    common: list[str] | None = None
    roots = sorted((r.rstrip("/") for r in roots), key=len, reverse=True)
    for file in files:
        root = next((r for r in roots if file == r or file.startswith(r + "/")), "")
        below = file[len(root) :].strip("/").split("/")[:-1]
        names = [unquote(s.partition("=")[0]) for s in below if "=" in s and not s.startswith("=")]
        common = names if common is None else [n for n in common if n in names]
    return common or []


def footer_schema(file: str, partitions: list[str] = ()) -> T.StructType:
    """The Spark schema of a Parquet file, plus ``partitions`` as string columns.

    Spark's own schema when the footer holds it (files Spark wrote: ML vectors keep their
    type), else the Arrow schema's Spark types; a column of a type Spark cannot hold is
    ``binary``, which no classsim check accepts as scores or labels.
    """
    meta = pq.read_metadata(file).metadata or {}
    if SPARK_SCHEMA_KEY in meta:
        schema = T.StructType.fromJson(json.loads(meta[SPARK_SCHEMA_KEY]))
    else:
        fields = []
        for field in pq.read_schema(file):
            try:
                dtype = from_arrow_type(field.type)
            except (TypeError, ValueError):  # PySparkTypeError subclasses TypeError
                dtype = T.BinaryType()
            fields.append(T.StructField(field.name, dtype, field.nullable))
        schema = T.StructType(fields)
    for name in partitions:
        if name not in schema.names:
            schema = schema.add(name, T.StringType())
    return schema


def first_list_length(files: list[str], column: str) -> int | None:
    """How many scores the first non-null value of ``column`` holds over ``files`` in order:
    a list's length, or a Spark ML vector's size (a struct of ``type, size, indices,
    values``; type 1 is dense); None when every value is null."""
    for file in files:
        parquet = pq.ParquetFile(file)
        for batch in parquet.iter_batches(batch_size=1024, columns=[column]):
            values = batch.column(0).drop_null()
            if len(values):
                first = values[0].as_py()
                if isinstance(first, dict):  # an ML vector
                    return len(first["values"]) if first["type"] == 1 else first["size"]
                return len(first)
    return None


def distinct_count(files: list[str], column: str, partitions: list[str] = ()) -> int:
    """How many distinct values ``column`` holds over ``files`` (as text; null counts as one),
    as Spark's ``select(col.cast("string")).distinct().count()`` would say: read from the
    paths for a partition column, else from the column itself."""
    if column in partitions:
        return len({partition_value(f, column) for f in files})
    values: set = set()
    for file in files:
        table = pq.read_table(file, columns=[column])
        text = table.column(0).cast(pa.string())
        values.update(pc.unique(text).to_pylist())
    return len(values)
