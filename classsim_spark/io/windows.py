"""The ``windows/`` folder of a results directory: statistics per value of a column.

A scan with ``by`` (``classsim similarity --by date``) keeps every statistic per value of that
column, so that any window (a date range, any set of values) can be composed later without Spark
(:mod:`classsim_spark.window`). Layout::

    windows/index.json      schema, the column, and per value: its text, its rows, its file
    windows/<k>.npz         the statistics of value k, as named arrays (no pickles):
                            ``n``; per transform ``mean-<t>`` and ``comoment-<t>`` (the upper
                            triangle, row by row); with parts ``parts-n``, ``parts-mean``,
                            ``parts-comoment``; with labels ``frequencies`` and ``confusion`` or
                            ``cooccurrence``; with a sample ``sample`` and ``sample-seen``

The arrays' meaning belongs to :mod:`classsim_spark.executor.statistics`
(``RowStatistics.to_arrays``); this module only names, writes and reads them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classsim_spark.errors import ClasssimError

WINDOWS_DIR = "windows"
INDEX_FILE = "index.json"
SCHEMA = "classsim.windows/1"


class WindowsError(ClasssimError, ValueError):
    """A results directory without windows, or a window that selects nothing it has."""


@dataclass(frozen=True)
class Windows:
    """Statistics per value of ``column``: ``values[k]`` (text, or None for null) holds
    ``rows[k]`` rows and the arrays ``arrays[k]`` (None when not loaded)."""

    column: str
    values: list[str | None]
    rows: list[int]
    arrays: list[dict[str, np.ndarray]] | None = None

    def file(self, k: int) -> str:
        """The file name of value ``k``'s arrays."""
        return f"{k:06d}.npz"


def write_windows(folder: Path, windows: Windows) -> None:
    """Write ``windows`` (with their arrays) into ``folder`` (inside a results directory being
    written atomically; see :meth:`SimilarityResult.save`)."""
    if windows.arrays is None:
        raise ValueError("windows without their arrays cannot be written")
    folder.mkdir()
    for k, arrays in enumerate(windows.arrays):
        np.savez(folder / windows.file(k), allow_pickle=False, **arrays)
    index = {
        "schema": SCHEMA,
        "column": windows.column,
        "values": [
            {"value": v, "rows": int(n), "file": windows.file(k)}
            for k, (v, n) in enumerate(zip(windows.values, windows.rows, strict=True))
        ],
    }
    (folder / INDEX_FILE).write_text(json.dumps(index, indent=1) + "\n")


def window_index(results: str | Path) -> Windows:
    """The windows of a results directory without their arrays: column, values, rows.

    Raises
    ------
    WindowsError
        The directory has no windows (its scan had no ``by``).
    """
    index_file = Path(results) / WINDOWS_DIR / INDEX_FILE
    if not index_file.is_file():
        raise WindowsError(
            f"{results} has no windows: its scan kept no statistics per value "
            "(scan with --by COLUMN to keep them)"
        )
    index = json.loads(index_file.read_text())
    if index.get("schema") != SCHEMA:
        raise WindowsError(f"{index_file}: schema {index.get('schema')!r}, expected {SCHEMA!r}")
    entries = index["values"]
    return Windows(index["column"], [e["value"] for e in entries], [e["rows"] for e in entries])


def read_windows(results: str | Path, values: Sequence[str | None] | None = None) -> Windows:
    """The windows of a results directory with the arrays of ``values`` (all when None), in
    the index's order.

    Raises
    ------
    WindowsError
        The directory has no windows, or not one of ``values`` (named, with what it has).
    """
    index = window_index(results)
    chosen = list(range(len(index.values)))
    if values is not None:
        missing = [v for v in values if v not in index.values]
        if missing:
            raise WindowsError(
                f"{results} has no value {missing[0]!r} of {index.column}: "
                f"{describe_values(index.values)}"
            )
        wanted = set(values)
        chosen = [k for k, v in enumerate(index.values) if v in wanted]
    arrays = []
    for k in chosen:
        with np.load(Path(results) / WINDOWS_DIR / index.file(k), allow_pickle=False) as data:
            arrays.append({name: data[name] for name in data.files})
    return Windows(
        index.column, [index.values[k] for k in chosen], [index.rows[k] for k in chosen], arrays
    )


def describe_values(values: Sequence[str | None]) -> str:
    """What values a column has, for messages ("it has 31 values, 2026-01-01 to 2026-01-31")."""
    present = sorted(str(v) for v in values if v is not None)
    if not present:
        return "it has no values"
    return f"it has {len(values)} values, {present[0]} to {present[-1]}"
