"""Delta tables without a JVM: the current data files of a table, from its transaction log.

A Delta table directory holds Parquet files of every version: files that later versions removed
(overwrites, deletes, compactions) stay on disk until ``VACUUM``. Reading the directory as plain
Parquet would count their rows again. :func:`current_files` asks the table's log (through the
``deltalake`` package, which needs no JVM) which files make up the version to read, optionally
pruned by a SQL predicate on partition columns and file statistics; those files are then read as
Parquet — by Spark's Parquet reader, or by the tasks themselves with pyarrow
(:mod:`classsim_spark.spark.sources`).

Tables whose readers must apply more than the file list — deletion vectors, column mapping, any
reader feature — are refused here with a clear message: Spark's own Delta reader (Databricks,
or ``delta-spark``) reads them, and :func:`~classsim_spark.spark.sources.read_scores` uses it
whenever the session has one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from classsim_spark.errors import ClasssimError

log = logging.getLogger("classsim")

LOG_DIR = "_delta_log"


class DeltaTableError(ClasssimError, ValueError):
    """A path that is not a Delta table, or one this reader cannot read correctly."""


@dataclass(frozen=True)
class DeltaFiles:
    """The data files of one version of a Delta table.

    Attributes
    ----------
    version : int
    files : list of str
        Absolute paths (or URIs) of the Parquet files of that version, pruned by ``predicate``.
    partition_columns : list of str
    pruned : bool
        Whether ``predicate`` was used to prune the files (a predicate ``deltalake`` cannot
        parse prunes nothing; the rows are filtered anyway).
    """

    version: int
    files: list[str]
    partition_columns: list[str]
    pruned: bool


def is_delta_table(path: str | Path) -> bool:
    """Whether a local path is a Delta table (holds a ``_delta_log`` folder)."""
    return (Path(path) / LOG_DIR).is_dir()


def current_files(
    path: str, predicate: str | None = None, version: int | None = None
) -> DeltaFiles:
    """The Parquet files that make up a Delta table (its latest version, or ``version``).

    Parameters
    ----------
    path : str
        The table's directory (local, mounted, or a URI ``deltalake`` understands).
    predicate : str, optional
        A SQL predicate (``date >= '2026-01-02'``) to skip files that cannot hold matching rows.
    version : int, optional

    Raises
    ------
    DeltaTableError
        Not a Delta table; the ``deltalake`` package missing; a table needing reader features.
    """
    try:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError
    except ImportError:
        raise DeltaTableError(
            f"{path} needs a Delta reader: the deltalake package is not installed "
            "(pip install 'classsim[delta]')"
        ) from None
    try:
        table = DeltaTable(path, version=version)
    except TableNotFoundError:
        raise DeltaTableError(f"{path} is not a Delta table (no {LOG_DIR} folder)") from None
    protocol = table.protocol()
    features = sorted(protocol.reader_features or [])
    if features or protocol.min_reader_version > 1:
        raise DeltaTableError(
            f"{path} needs a Delta reader with {', '.join(features) or 'reader version'} "
            f"(min_reader_version {protocol.min_reader_version}): read it with Spark's Delta "
            "reader (Databricks, delta-spark), or rewrite it without these features"
        )
    pruned = predicate is not None
    try:
        files = table.file_uris(file_pruning_predicate=predicate) if predicate else None
    except Exception as err:  # a predicate deltalake cannot parse prunes nothing
        log.info("Delta table %s: the filter does not prune files (%s)", path, err)
        files, pruned = None, False
    if files is None:
        files = table.file_uris()
    return DeltaFiles(
        table.version(), list(files), list(table.metadata().partition_columns), pruned
    )
