"""Where scores come from and how they are laid out: Spark-side input resolution.

:func:`check_paths` checks path input on the driver before Spark starts (so a missing path or
a damaged file is named in a second). Local Parquet that the pyarrow reader can read whole is
then described from its footers (:func:`describe_from_footers`: no Spark job, and the job is
known before a session starts); other input is opened by Spark: :func:`read_scores` opens
Parquet paths (or globs), catalog tables or a DataFrame the caller already has, and applies an
optional SQL filter. :func:`open_input` does either. :func:`resolve_layout` (and, from a schema,
the same checks for footers) finds the classes and turns the three user-facing layouts into
what the tasks decode (:class:`BatchLayout`):

``wide``
    One numeric column per class, chosen by an explicit list, a name prefix (stripped to give the
    class name) or a regular expression (its first group, if any, is the class name).
``array``
    One ``array<float|double>`` or ML vector column; class names from a file or list, else
    ``class_0 .. class_{m-1}`` with m read from the first row.
``long``
    Rows ``(sample_id, class, score)``; Spark groups them by sample into (class index, score)
    entries. Class names are given, or the sorted distinct values of the class column. When only
    the top-k classes are logged per sample, the others take ``fill_value``.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from classsim_spark.errors import ClasssimError
from classsim_spark.executor.batches import ENTRY_INDEX, ENTRY_SCORE, BatchLayout
from classsim_spark.executor.parquet_reader import (
    READERS,
    UNREADABLE,
    ReadUnit,
    RowGroup,
    local_path,
    plan_units,
    row_groups,
)
from classsim_spark.io.classes import check_class_names, default_class_names, read_class_names
from classsim_spark.io.delta_table import (
    DeltaFiles,
    DeltaTableError,
    current_files,
    is_delta_table,
)
from classsim_spark.spark.footers import (
    distinct_count,
    first_list_length,
    footer_schema,
    partition_base,
    partition_columns,
)
from classsim_spark.spark.sizing import local_threads

LAYOUTS: tuple[str, ...] = ("wide", "array", "long")
DEFAULT_ID_COLUMN = "sample_id"
ENTRIES_COLUMN = "__classsim_entries"
log = logging.getLogger("classsim")

_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/")


class InputError(ClasssimError, ValueError):
    """The input cannot be read as described (missing columns, wrong types, unknown table...)."""


@dataclass(frozen=True)
class InputSpec:
    """How to find the classes and their scores in the input.

    Attributes
    ----------
    layout : {"wide", "array", "long"}
    scores_col : str
        ``array``: the score column. ``long``: the score column of each row.
    class_col : str
        ``long``: the column naming the class of each row.
    id_col : str or None
        Sample id column; used in error reports and, for ``long``, to group rows. When it is the
        default ``sample_id`` and absent, reports use row positions instead.
    classes : list of str, str or None
        Class names, or the path of a class file (:mod:`classsim_spark.io.classes`). For ``wide``, a
        list names the class columns.
    prefix, regex : str or None
        ``wide``: choose class columns by name prefix or regular expression.
    fill_value : float or None
        ``long``: score of classes missing for a sample (top-k logs). ``None``: a missing class
        is an error for that row.
    """

    layout: str = "array"
    scores_col: str = "scores"
    class_col: str = "class"
    id_col: str | None = DEFAULT_ID_COLUMN
    classes: tuple[str, ...] | str | None = None
    prefix: str | None = None
    regex: str | None = None
    fill_value: float | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.layout == "long" and not self.id_col:
            raise ValueError("the long layout needs a sample id column (id_col)")


def check_paths(source: str | DataFrame, fmt: str = "parquet") -> list[RowGroup] | None:
    """Check path input on the driver, before a Spark session is needed: every local path
    exists, and local Parquet files are readable (:func:`check_local_parquet`).

    Returns
    -------
    list of (path, row_group, rows) or None
        The row groups of local Parquet input, for :func:`describe_from_footers`; None for other
        input.

    Raises
    ------
    InputError
        A path that does not exist, or local Parquet files that cannot be read (named).
    """
    if not isinstance(source, str) or not _looks_like_path(source):
        return None
    paths = _paths(source)
    missing = [p for p in paths if not _URI.match(p) and not _local_exists(p)]
    if missing:
        raise InputError(f"input path not found: {', '.join(missing)}")
    local = not any(_URI.match(p) and not p.startswith("file:") for p in paths)
    if fmt == "parquet" and local:
        return check_local_parquet(paths)
    if fmt == "delta" and local:
        delta = delta_files(source)
        return None if delta is None else check_local_parquet(delta.files)
    return None


def delta_files(source: str, where: str | None = None) -> DeltaFiles | None:
    """The current data files of a local (or mounted) Delta table, from its log, pruned by
    ``where``; None when the table needs Spark's Delta reader (reader features such as
    deletion vectors), which then reads it.

    Raises
    ------
    InputError
        A path that is not a Delta table, or several paths.
    """
    paths = _paths(source)
    if len(paths) != 1:
        raise InputError(f"--format delta reads one table, got {len(paths)} paths: {source}")
    path = paths[0].removeprefix("file://").removeprefix("file:")
    if not is_delta_table(path):
        raise InputError(f"{path} is not a Delta table (no _delta_log folder in it)")
    try:
        return current_files(path, where)
    except DeltaTableError as err:
        if "needs a Delta reader" not in str(err):
            raise InputError(str(err)) from None
        log.info("%s; reading it with Spark's Delta reader", err)
        return None


def read_scores(
    spark: SparkSession, source: str | DataFrame, fmt: str = "parquet", where: str | None = None
) -> DataFrame:
    """Open the score table (after :func:`check_paths`, for path input).

    Parameters
    ----------
    spark : SparkSession
    source : str or DataFrame
        A DataFrame; one or more comma-separated paths or globs (anything with ``/``, a URI
        scheme, a ``*`` or an existing local path); otherwise a table name such as
        ``catalog.schema.table``.
    fmt : str
        Data source format for paths (``parquet``, ``delta``, ``orc``, ...).
    where : str, optional
        SQL predicate applied before anything else, e.g. ``date >= '2026-01-01'`` (partition
        pruning applies).

    Returns
    -------
    pyspark.sql.DataFrame
    """
    if isinstance(source, DataFrame) or hasattr(source, "sparkSession"):
        df = source
    elif fmt == "delta" and _looks_like_path(source) and not _URI.match(source.lstrip()):
        delta = delta_files(source, where)
        if delta is None:
            df = _spark_delta(spark, source)
        elif not delta.files:
            raise InputError(
                f"the Delta table {source} holds no data files (version "
                f"{delta.version}{', after the filter' if where else ''})"
            )
        else:  # the version's files, as Parquet: files older versions removed are not read
            base = _paths(source)[0].removeprefix("file://").removeprefix("file:")
            df = spark.read.option("basePath", base).parquet(*delta.files)
            log.info(
                "Delta table %s, version %d: %d data files", source, delta.version, len(delta.files)
            )
    elif _looks_like_path(source):
        paths = _paths(source)
        reader = spark.read.format(fmt)
        base = partition_base(paths)
        if base is not None:  # partition directories keep their partition columns
            reader = reader.option("basePath", base)
        df = reader.load(paths if len(paths) > 1 else paths[0])
    else:
        df = spark.read.table(source)
    return df.where(where) if where else df


def _spark_delta(spark: SparkSession, source: str) -> DataFrame:
    """A Delta table read by Spark's own Delta reader (Databricks, delta-spark)."""
    try:
        return spark.read.format("delta").load(source)
    except Exception as err:
        if "delta" not in str(err).lower() or "data source" not in str(err).lower():
            raise
        raise InputError(
            f"{source} needs a Delta reader: this Spark session has none (Databricks and "
            "delta-spark do) and the table cannot be read from its log here (install "
            "deltalake: pip install 'classsim[delta]'; tables with deletion vectors or column "
            "mapping need Spark's reader)"
        ) from None


def _paths(source: str) -> list[str]:
    return [p.strip() for p in source.split(",") if p.strip()]


def why_not_direct(
    source: str | DataFrame, spec: InputSpec, fmt: str, where: str | None, delta_read: bool
) -> str | None:
    """Why the tasks cannot read this input's Parquet files with pyarrow, or None when they
    can (if the files are on a filesystem they see). ``delta_read``: a Delta table's current
    files were found from its log (else Spark's Delta reader reads it)."""
    if not isinstance(source, str):
        return "the input is a DataFrame"
    if fmt == "delta" and not delta_read:
        return "the Delta table is read by Spark's Delta reader"
    if fmt not in ("parquet", "delta"):
        return f"the input format is {fmt}, not parquet"
    if not _looks_like_path(source):
        return "the input is a table"
    if where:
        return "a SQL filter (--where) is evaluated by Spark"
    if spec.layout == "long":
        return "the long layout is grouped by Spark"
    return None


@dataclass(frozen=True)
class FooterInput:
    """A local Parquet input described from its files alone (:mod:`classsim_spark.spark.footers`),
    before any Spark session: what the pyarrow reader's tasks read.

    Attributes
    ----------
    layout : BatchLayout
    classes : list of str
    labels : (column, multi-label) or None
    row_groups : list of (path, row_group, rows)
    schema : pyspark.sql.types.StructType
        The columns as Spark would see them, partition columns included.
    partitions : tuple of str
        The Hive partition columns of the directories.
    """

    layout: BatchLayout
    classes: list[str]
    labels: tuple[str, bool] | None
    row_groups: list[RowGroup]
    schema: T.StructType
    partitions: tuple[str, ...]

    @property
    def files(self) -> list[str]:
        return _files_of(self.row_groups)

    @property
    def rows(self) -> int:
        """Rows in the files (before any check)."""
        return sum(rows for _, _, rows in self.row_groups)

    def count_values(self, column: str) -> int:
        """How many distinct values (as text, null included) ``column`` holds, as
        :func:`count_values` says, without Spark."""
        _check_column(self.schema, column)
        return distinct_count(self.files, column, self.partitions)

    def reader_reason(self, units: int, read_by: str) -> str:
        """How the files are read, for ``run.json``: ``units`` read units ``read_by`` whom."""
        return (
            f"{len(self.files)} Parquet files, {len(self.row_groups)} row groups in {units} "
            f"{read_by}, planned from their footers"
        )


def _files_of(row_groups: list[RowGroup]) -> list[str]:
    """The files of row groups, each once, in order."""
    return list(dict.fromkeys(path for path, _, _ in row_groups))


def describe_from_footers(
    source: str | DataFrame,
    spec: InputSpec,
    fmt: str,
    where: str | None,
    reader: str,
    labels: str | None,
    row_groups: list[RowGroup] | None,
) -> FooterInput | None:
    """Describe a local (or mounted) Parquet input from its footers and first row, without
    Spark, when the pyarrow reader is to read it: the CLI then needs no Spark job before the
    scan and sizes its session from the job. None when Spark must open the input (a filter,
    a table, the long layout, ``reader="spark"``, files the driver did not read).

    ``row_groups``: what :func:`check_paths` read; they cover every file Spark would read.

    Raises
    ------
    InputError
        As :func:`resolve_labels` and :func:`resolve_layout` would for the same columns.
    """
    if reader not in READERS:
        raise InputError(f"reader must be one of {READERS}, got {reader!r}")
    if reader == "spark" or row_groups is None or not row_groups:
        return None
    if why_not_direct(source, spec, fmt, where, delta_read=True) is not None:
        return None
    files = _files_of(row_groups)
    paths = [os.path.abspath(local_path(p) or p) for p in _paths(source)]
    base = partition_base(paths)
    if base is not None or fmt == "delta":
        roots = [base or paths[0]]
    else:
        roots = [r for p in paths for r in (sorted(glob.glob(p)) if _is_glob(p) else [p])]
    partitions = partition_columns(roots, files)
    schema = footer_schema(files[0], partitions)
    label_info = resolve_labels(schema, labels)
    layout, classes = _layout_of(schema, spec, lambda: first_list_length(files, spec.scores_col))
    return FooterInput(layout, classes, label_info, row_groups, schema, tuple(partitions))


@dataclass(frozen=True)
class OpenedInput:
    """An input ready to scan: what the tasks read and how it is laid out.

    Attributes
    ----------
    table : DataFrame or None
        The input as read by Spark (after the filter); None when described from its footers.
    scan : DataFrame or None
        What the tasks read through Spark (the long layout grouped by sample); None when the
        tasks read ``units`` with pyarrow.
    layout : BatchLayout
    classes : list of str
    labels : (column, multi-label) or None
    units : list of ReadUnit or None
    reader_reason : str
        Why that reader, for ``run.json``.
    footers : FooterInput or None
    """

    table: DataFrame | None
    scan: DataFrame | None
    layout: BatchLayout
    classes: list[str]
    labels: tuple[str, bool] | None
    units: list[ReadUnit] | None
    reader_reason: str
    footers: FooterInput | None = None

    def count_values(self, column: str) -> int:
        """How many distinct values (as text, null included) ``column`` holds."""
        if self.footers is not None:
            return self.footers.count_values(column)
        return count_values(self.table, column)


def open_input(
    spark: SparkSession,
    source: str | DataFrame,
    spec: InputSpec,
    fmt: str = "parquet",
    where: str | None = None,
    reader: str = "auto",
    labels: str | None = None,
    row_groups: list[RowGroup] | None = None,
    carried: tuple[str | None, ...] = (),
    footers: FooterInput | None = None,
) -> OpenedInput:
    """Open the input for a scan: from ``footers`` (:func:`describe_from_footers`; no Spark
    job), else through Spark's reader (:func:`read_scores`, :func:`resolve_labels`,
    :func:`resolve_layout`), then choose the reader.

    ``carried``: columns besides the label column that the tasks read per sample (``by``).
    ``row_groups``: what :func:`check_paths` read.
    """
    if footers is not None:
        units = plan_units(footers.row_groups, footers.layout.m, slots=task_slots(spark))
        reason = footers.reader_reason(len(units), "tasks read with pyarrow")
        return OpenedInput(
            None, None, footers.layout, footers.classes, footers.labels, units, reason, footers
        )
    table = read_scores(spark, source, fmt=fmt, where=where)
    label_info = resolve_labels(table.schema, labels)
    scan, layout, classes = resolve_layout(
        spark, table, spec, label_info[0] if label_info else None, *carried
    )
    delta_read = row_groups is not None  # a Delta table's current files, from its log
    units, reason = _direct_read_units(
        table, source, spec, layout.m, fmt, where, reader, delta_read
    )
    return OpenedInput(table, scan, layout, classes, label_info, units, reason)


def _direct_read_units(
    df: DataFrame,
    source: str | DataFrame,
    spec: InputSpec,
    m: int,
    fmt: str,
    where: str | None,
    reader: str,
    delta_read: bool,
) -> tuple[list[ReadUnit] | None, str]:
    """Decide between Spark's reader and direct pyarrow reads (:mod:`parquet_reader`) for an
    input Spark opened; the footers are read by one small Spark job where the executors see
    the files."""
    if reader not in READERS:
        raise InputError(f"reader must be one of {READERS}, got {reader!r}")
    if reader == "spark":
        return None, "requested"
    why_not = why_not_direct(source, spec, fmt, where, delta_read)
    files: list[str] = []
    if why_not is None:
        files = df.inputFiles()
        if reader == "auto" and any(local_path(f) is None for f in files):
            why_not = "the files are not on a local or mounted filesystem"
    if why_not is not None:
        if reader == "arrow":
            raise InputError(f"--reader arrow cannot read this input: {why_not}")
        return None, why_not
    spark = df.sparkSession
    groups = _footers(spark, files)
    units = plan_units(groups, m, slots=task_slots(spark))
    return units, (
        f"{len(files)} Parquet files, {len(groups)} row groups in {len(units)} tasks "
        "read with pyarrow"
    )


def task_slots(spark: SparkSession) -> int | None:
    """How many tasks the session runs at once, when its configuration says (else ``None``).

    Read from ``spark.master`` (``local[N]``), or executor instances x cores, or
    ``spark.cores.max`` (standalone); all through ``spark.conf``, so it works over Connect.
    """

    def conf(key: str) -> str | None:
        try:
            return spark.conf.get(key, None)
        except Exception:  # some Connect servers refuse to show certain settings
            return None

    local = local_threads(conf("spark.master") or "")
    if local is not None:
        return local
    instances, cores = conf("spark.executor.instances"), conf("spark.executor.cores")
    if instances and cores and instances.isdigit() and cores.isdigit():
        return int(instances) * int(cores)
    cores_max = conf("spark.cores.max")
    return int(cores_max) if cores_max and cores_max.isdigit() else None


def _footers(spark: SparkSession, files: list[str]) -> list[RowGroup]:
    """Row groups of ``files``, read by the executors (the driver may not see the files)."""

    def read(batches):
        import pyarrow as pa

        for batch in batches:
            found = [
                {"error": str(f)}
                if isinstance(f, OSError)
                else {"path": f[0], "row_group": f[1], "rows": f[2]}
                for f in row_groups(batch.column(0).to_pylist())
            ]
            yield pa.RecordBatch.from_pylist(
                found,
                schema=pa.schema(
                    [
                        ("path", pa.string()),
                        ("row_group", pa.int32()),
                        ("rows", pa.int64()),
                        ("error", pa.string()),
                    ]
                ),
            )

    paths = spark.createDataFrame([(f,) for f in files], "path string")
    tasks = max(1, min(len(files), 64))
    rows = (
        paths.repartition(tasks)
        .mapInArrow(read, "path string, row_group int, rows long, error string")
        .collect()
    )
    _raise_unreadable([r.error for r in rows if r.error is not None], len(files))
    return [(r.path, r.row_group, r.rows) for r in rows]


def local_data_files(paths: list[str]) -> list[str]:
    """The data files Spark's reader would read under local ``paths`` (files, directories
    searched recursively, globs), skipping hidden and ``_``-prefixed entries as it does."""
    files = []
    for given in paths:
        given = os.path.abspath(local_path(given) or given)  # pyarrow reads absolute paths
        for path in sorted(glob.glob(given)) if any(ch in given for ch in "*?[") else [given]:
            if os.path.isfile(path):
                files.append(path)
                continue
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
                files += [
                    os.path.join(root, n) for n in sorted(names) if not n.startswith(("_", "."))
                ]
    return files


def check_local_parquet(paths: list[str]) -> list[RowGroup]:
    """Before Spark opens local Parquet input, read every file's footer here, so that an empty
    folder, a truncated or foreign file (a CSV, say) is named in one line instead of failing
    Spark's schema inference or its tasks with Java stack traces.

    Returns the row groups of every file (absolute local paths), which plan the direct reads.
    """
    files = local_data_files(paths)
    if not files:
        raise InputError(
            f"no data files in {', '.join(paths)} (hidden and _-prefixed files "
            "are skipped, as Spark does)"
        )
    found = list(row_groups(files))
    bad = [err for err in found if isinstance(err, OSError)]
    hint = ""
    suffixes = {os.path.splitext(e.path)[1].lower() for e in bad} - {".parquet", ""}
    if suffixes:
        hint = (
            f" (the input is read as Parquet; for {', '.join(sorted(suffixes))} files "
            "give --format, e.g. --format csv)"
        )
    _raise_unreadable([str(e) for e in bad], len(files), hint)
    return [g for g in found if not isinstance(g, OSError)]


def _raise_unreadable(messages: list[str], total: int, hint: str = "") -> None:
    """Raise one :class:`InputError` naming the unreadable files (a few of them), if any."""
    if messages:
        shown = [m.removeprefix(UNREADABLE).strip() for m in sorted(messages)[:5]]
        raise InputError(
            f"{len(messages)} of {total} Parquet files cannot be read: "
            + "; ".join(shown)
            + ("; ..." if len(messages) > 5 else "")
            + hint
        )


def unreadable_file_error(err: BaseException) -> InputError | None:
    """An :class:`InputError` naming the file, when a Spark error says a file could not be read
    (by Spark's reader, or by a task of the direct reader); else None."""
    text = str(err)
    ours = re.search(re.escape(UNREADABLE) + r" ([^\n]+)", text)
    if ours:
        return InputError(f"cannot read Parquet file {ours.group(1).strip()}")
    spark = re.search(r"Encountered error while reading file (\S+?)\.?\s", text)
    if spark:
        cause = re.findall(r"Caused by: [\w.$]+: ([^\n]+)", text)
        reason = cause[-1].strip() if cause else "see the Spark log"
        return InputError(f"cannot read Parquet file {spark.group(1)}: {reason}")
    return None


@contextlib.contextmanager
def unreadable_files_as_input_errors():
    """Turn Spark's error for a file it could not read into one line naming the file."""
    try:
        yield
    except InputError:
        raise
    except Exception as err:
        short = unreadable_file_error(err)
        if short is None:
            raise
        raise short from None


def _looks_like_path(source: str) -> bool:
    return "/" in source or "*" in source or bool(_URI.match(source)) or os.path.exists(source)


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _local_exists(path: str) -> bool:
    return bool(glob.glob(path)) if _is_glob(path) else os.path.exists(path)


def count_values(df: DataFrame, column: str) -> int:
    """How many distinct values (as text, null included) ``column`` holds: one small Spark job,
    before a scan that keeps statistics per value.

    Raises
    ------
    InputError
        The input has no such column (its columns named).
    """
    _check_column(df.schema, column)
    return df.select(F.col(column).cast("string")).distinct().count()


def _check_column(schema: T.StructType, column: str) -> None:
    if column not in schema.names:
        raise InputError(
            f"--by {column}: the input has no column {column!r}; it has {', '.join(schema.names)}"
        )


def resolve_labels(schema: T.StructType, labels: str | None) -> tuple[str, bool] | None:
    """The label column and whether it is multi-label, or ``None`` for no label baselines.

    ``labels="auto"`` takes a ``labels`` array column (multi-label) or a ``label`` column
    (single-label) when the input has one; a column name must exist; ``None``/``"none"``: off.
    """
    if labels in (None, "", "none"):
        return None
    if labels == "auto":
        column = next((c for c in ("labels", "label") if c in schema.names), None)
        if column is None:
            return None
    elif labels not in schema.names:
        raise InputError(f"label column {labels!r} not in the input columns {schema.names}")
    else:
        column = labels
    dtype = schema[column].dataType
    multi = isinstance(dtype, T.ArrayType)
    element = dtype.elementType if multi else dtype
    if not isinstance(element, T.IntegralType | T.StringType):
        raise InputError(
            f"label column {column!r} must hold class indices or names (int or string, or an "
            f"array of them), got {dtype.simpleString()}"
        )
    return column, multi


def resolve_layout(
    spark: SparkSession, df: DataFrame, spec: InputSpec, *carried: str | None
) -> tuple[DataFrame, BatchLayout, list[str]]:
    """Find the classes and prepare ``df`` for the scan; ``carried`` columns (the label
    column, the ``by`` column; None for none) stay readable per sample.

    Returns
    -------
    df : DataFrame
        What the tasks read (for ``long``: one row per sample with an entries column).
    layout : BatchLayout
    classes : list of str
    """
    if spec.layout == "long":
        _check_names(df.schema, spec)
        id_col = spec.id_col if spec.id_col in df.columns else None
        return _long_layout(spark, df, spec, id_col, [c for c in carried if c])

    def first_length() -> int | None:
        row = df.where(F.col(spec.scores_col).isNotNull()).select(spec.scores_col).first()
        return None if row is None else len(row[0])

    layout, names = _layout_of(df.schema, spec, first_length)
    return df, layout, names


def _check_names(schema: T.StructType, spec: InputSpec) -> str | None:
    """Refuse duplicate columns and a named id column that is missing; return the id column
    (None when the default ``sample_id`` is absent: row positions stand in)."""
    dupes = [c for c, k in Counter(schema.names).items() if k > 1]
    if dupes:
        raise InputError(f"the input has duplicate column names: {', '.join(dupes[:10])}")
    id_col = spec.id_col if spec.id_col in schema.names else None
    if spec.id_col and id_col is None and spec.id_col != DEFAULT_ID_COLUMN:
        raise InputError(f"id column {spec.id_col!r} not in the input columns {schema.names}")
    return id_col


def _layout_of(
    schema: T.StructType, spec: InputSpec, first_length: Callable[[], int | None]
) -> tuple[BatchLayout, list[str]]:
    """The wide or array layout of a schema and its class names; ``first_length`` gives the
    length of the first non-null score array (asked only when no class names are given)."""
    id_col = _check_names(schema, spec)
    if spec.layout == "wide":
        columns, names = _wide_columns(schema, spec)
        return BatchLayout("wide", tuple(columns), len(columns), id_col), names
    names = _array_classes(schema, spec, first_length)
    return BatchLayout("array", (spec.scores_col,), len(names), id_col), names


def _given_classes(spec: InputSpec) -> list[str] | None:
    if spec.classes is None:
        return None
    if isinstance(spec.classes, str):
        return read_class_names(spec.classes)
    return check_class_names(list(spec.classes))


def _wide_columns(schema: T.StructType, spec: InputSpec) -> tuple[list[str], list[str]]:
    given = _given_classes(spec)
    names_in = schema.names
    if given is not None:
        missing = [c for c in given if c not in names_in]
        if missing:
            raise InputError(
                f"{len(missing)} of {len(given)} class columns are not in the input, e.g. "
                f"{', '.join(map(repr, missing[:5]))}"
            )
        columns, names = given, given
    elif spec.prefix:
        columns = [c for c in names_in if c.startswith(spec.prefix)]
        names = [c[len(spec.prefix) :] for c in columns]
    elif spec.regex:
        pattern = re.compile(spec.regex)
        matches = [(c, pattern.fullmatch(c)) for c in names_in]
        columns = [c for c, hit in matches if hit]
        names = [hit.group(1) if hit.groups() else c for c, hit in matches if hit]
    else:
        raise InputError("the wide layout needs the class columns: --classes, --prefix or --regex")
    if not columns:
        raise InputError(f"no input column matches the class selection; columns: {names_in}")
    bad = [
        f"{c} ({schema[c].dataType.simpleString()})"
        for c in columns
        if not isinstance(schema[c].dataType, T.NumericType)
    ]
    if bad:
        raise InputError(f"{len(bad)} class columns are not numeric, e.g. {', '.join(bad[:5])}")
    return columns, check_class_names(names, source="wide class columns")


def _array_classes(
    schema: T.StructType, spec: InputSpec, first_length: Callable[[], int | None]
) -> list[str]:
    if spec.scores_col not in schema.names:
        raise InputError(
            f"score column {spec.scores_col!r} not in the input columns {schema.names}"
        )
    dtype = schema[spec.scores_col].dataType
    is_vector = type(dtype).__name__ == "VectorUDT"
    if not is_vector and not (
        isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, T.NumericType)
    ):
        raise InputError(
            f"score column {spec.scores_col!r} must be array<float|double> or an ML vector, "
            f"got {dtype.simpleString()}"
        )
    given = _given_classes(spec)
    if given is not None:
        return given
    length = first_length()
    if length is None:
        raise InputError("no rows with scores in the input (after the filter)")
    return default_class_names(length)


def _long_layout(
    spark: SparkSession,
    df: DataFrame,
    spec: InputSpec,
    id_col: str | None,
    carried: list[str],
) -> tuple[DataFrame, BatchLayout, list[str]]:
    needed = [spec.id_col, spec.class_col, spec.scores_col]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"the long layout needs columns {needed}; missing: {missing}")
    names = _given_classes(spec)
    if names is None:
        values = [r[0] for r in df.select(spec.class_col).distinct().collect() if r[0] is not None]
        names = [str(v) for v in sorted(values)]
    index = spark.createDataFrame(
        list(zip(names, range(len(names)), strict=True)),
        f"`{ENTRY_INDEX}_name` string, {ENTRY_INDEX} int",
    )
    per_sample = [F.first(c).alias(c) for c in carried]  # one value per sample
    entries = (
        df.select(
            F.col(spec.id_col),
            F.col(spec.class_col).cast("string").alias(f"{ENTRY_INDEX}_name"),
            F.col(spec.scores_col).cast("double").alias(ENTRY_SCORE),
            *(F.col(c) for c in carried),
        )
        .join(F.broadcast(index), on=f"{ENTRY_INDEX}_name", how="left")
        .groupBy(spec.id_col)
        .agg(F.collect_list(F.struct(ENTRY_INDEX, ENTRY_SCORE)).alias(ENTRIES_COLUMN), *per_sample)
    )
    layout = BatchLayout("entries", (ENTRIES_COLUMN,), len(names), id_col, spec.fill_value)
    return entries, layout, check_class_names(names)
