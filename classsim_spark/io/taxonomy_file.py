"""Reading taxonomy files: a CSV or TSV of class names (or indices) and their group per level.

:func:`read_taxonomy` matches a file's rows to the classes of a results directory and returns a
:class:`~classsim_spark.core.taxonomy.Taxonomy`; :func:`check_taxonomy_file` checks what can be
checked before the classes are known (so a run fails on a bad file before its scan).
"""

from __future__ import annotations

import csv
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from classsim_spark.core.taxonomy import Taxonomy, TaxonomyError

log = logging.getLogger("classsim")

__all__ = ["ID_COLUMNS", "RESERVED_COLUMNS", "check_taxonomy_file", "read_taxonomy"]

ID_COLUMNS = ("class_id", "index")
"""Columns that give a class by its index 0..m-1 (the first one present is used)."""

RESERVED_COLUMNS = ("class_id", "name", "index")
"""Columns that identify classes; every other column of a taxonomy file is a level."""

_EXAMPLES = 5


def read_taxonomy(
    path: str | Path,
    class_names: Sequence[str],
    levels: str | Sequence[str] | None = None,
) -> Taxonomy:
    """Read a taxonomy CSV (or TSV) for the classes ``class_names``.

    The file has a header. Classes are given by a ``name`` column matching ``class_names``, or
    else by a ``class_id`` (or ``index``) column holding class indices 0..m-1. When the file has
    both, rows are matched by name: a name identifies its class whatever the class order of the
    results, whereas ids only hold for the order the file was written for (the results may order
    classes differently, e.g. wide input columns). Only when the names do not match (a run
    without a class file names its classes ``class_0, ...``) are the ids used, with a warning,
    and ``matched_by`` says so; when neither matches, the error names both attempts. Every
    other column is a taxonomy level. Cells are stripped of surrounding whitespace; blank lines
    are skipped.

    Parameters
    ----------
    path : str or Path
        The taxonomy file (``.tsv``: tab-separated, else comma-separated; UTF-8, BOM allowed).
    class_names : sequence of str
        The m class names, in the results' class order.
    levels : str or sequence of str, optional
        Level columns to use, coarse to fine (a string is split on commas, as the CLI's
        ``--taxonomy-levels`` gives it). Default: every non-reserved column, in file order.

    Returns
    -------
    Taxonomy
        With one path per class, in the order of ``class_names``.

    Raises
    ------
    TaxonomyError
        If the file is missing or malformed, a requested level is unknown, a row names a class
        not in ``class_names``, a class has several rows or none, or a group is blank.
    """
    path = Path(path)
    names = _check_class_names(class_names)
    header, rows = _read_rows(path)
    col = {c: i for i, c in enumerate(header)}
    chosen = _choose_levels(levels, [c for c in header if c not in RESERVED_COLUMNS], path)
    classes, matched_by = _match_rows(path, header, rows, names)

    found: dict[int, list[int]] = defaultdict(list)
    for (line, _), cls in zip(rows, classes, strict=True):
        found[cls].append(line)
    dupes = [
        f"{names[cls]!r} (lines {', '.join(map(str, at))})"
        for cls, at in found.items()
        if len(at) > 1
    ]
    if dupes:
        raise TaxonomyError(
            f"{path}: {len(dupes)} classes have more than one row, "
            f"e.g. {', '.join(dupes[:_EXAMPLES])}"
        )
    missing = [name for i, name in enumerate(names) if i not in found]
    if missing:
        raise TaxonomyError(
            f"{path}: {len(missing)} of {len(names)} classes have no row, e.g. {_examples(missing)}"
        )
    for level in chosen:
        blank = [
            f"line {line} ({names[cls]!r})"
            for (line, row), cls in zip(rows, classes, strict=True)
            if not row[col[level]]
        ]
        if blank:
            raise TaxonomyError(
                f"{path}: {len(blank)} empty groups in level {level!r}, "
                f"e.g. {', '.join(blank[:_EXAMPLES])}"
            )
    paths: list[tuple[str, ...]] = [()] * len(names)
    for (_, row), cls in zip(rows, classes, strict=True):
        paths[cls] = tuple(row[col[level]] for level in chosen)
    return Taxonomy(levels=tuple(chosen), paths=paths, matched_by=matched_by)


_told_id_match: set[tuple[str, int]] = set()
"""Taxonomy files (and class counts) this process has said it matched by class_id."""


def check_taxonomy_file(path: str | Path, levels: str | Sequence[str] | None = None) -> None:
    """Check what can be checked of a taxonomy file before its classes are known: that it
    exists, parses, has a class column and the requested levels (:func:`read_taxonomy` then
    matches its rows to the classes)."""
    path = Path(path)
    header, _ = _read_rows(path)
    _id_column(path, header)
    _choose_levels(levels, [c for c in header if c not in RESERVED_COLUMNS], path)


def _check_class_names(class_names: Sequence[str]) -> list[str]:
    if isinstance(class_names, str):
        raise TaxonomyError("class_names must be a sequence of names, not one string")
    names = [str(name) for name in class_names]
    if not names:
        raise TaxonomyError("class_names is empty")
    dupes = [name for name, count in Counter(names).items() if count > 1]
    if dupes:
        raise TaxonomyError(f"{len(dupes)} duplicate class names, e.g. {_examples(dupes)}")
    return names


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, stripped cells)`` of every non-blank data row."""
    if not path.is_file():
        raise TaxonomyError(f"taxonomy file not found: {path}")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            records = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as err:
        raise TaxonomyError(f"{path}: cannot be read as CSV ({err})") from None
    records = [
        (line, [cell.strip() for cell in row])
        for line, row in records
        if any(cell.strip() for cell in row)
    ]
    if not records:
        raise TaxonomyError(f"{path}: empty taxonomy file (no header)")
    (_, header), data = records[0], records[1:]
    dupes = [c for c, count in Counter(header).items() if count > 1]
    if dupes or "" in header:
        raise TaxonomyError(f"{path}: header has duplicate or blank column names: {header}")
    ragged = [line for line, row in data if len(row) != len(header)]
    if ragged:
        raise TaxonomyError(
            f"{path}: {len(ragged)} rows do not have {len(header)} fields, "
            f"e.g. lines {ragged[:_EXAMPLES]}"
        )
    if not data:
        raise TaxonomyError(f"{path}: no rows below the header")
    return header, data


def _choose_levels(
    levels: str | Sequence[str] | None, level_columns: list[str], path: Path
) -> list[str]:
    if not level_columns:
        raise TaxonomyError(
            f"{path}: no level columns (columns other than {', '.join(RESERVED_COLUMNS)})"
        )
    if levels is None:
        return list(level_columns)
    if isinstance(levels, str):
        levels = [part.strip() for part in levels.split(",") if part.strip()]
    chosen = [str(level) for level in levels]
    if not chosen:
        raise TaxonomyError("no taxonomy levels selected")
    unknown = [level for level in chosen if level not in level_columns]
    if unknown:
        raise TaxonomyError(
            f"unknown taxonomy levels {_examples(unknown)}; levels in {path}: "
            f"{', '.join(level_columns)}"
        )
    dupes = [level for level, count in Counter(chosen).items() if count > 1]
    if dupes:
        raise TaxonomyError(f"taxonomy levels selected more than once: {_examples(dupes)}")
    return chosen


def _id_column(path: Path, header: list[str]) -> str | None:
    """The column giving classes by index (None when there is only a name column); raises when
    the header has neither a name nor an id column."""
    id_column = next((c for c in ID_COLUMNS if c in header), None)
    if "name" not in header and id_column is None:
        raise TaxonomyError(
            f"{path}: a taxonomy file needs a 'name' or 'class_id' column; header: {header}"
        )
    return id_column


def _match_rows(
    path: Path, header: list[str], rows: list[tuple[int, list[str]]], names: list[str]
) -> tuple[list[int], str]:
    """Class index of every row, and the column that gave it: by name where the file has names
    that match; else by id (a file with both whose names are not the results' classes, e.g. a
    run without a class file, whose classes are ``class_0, ...``)."""
    col = {c: i for i, c in enumerate(header)}
    id_column = _id_column(path, header)
    if "name" in col:
        position = {name: i for i, name in enumerate(names)}
        row_names = [row[col["name"]] for _, row in rows]
        unknown = [name for name in row_names if name not in position]
        if not unknown:
            return [position[name] for name in row_names], "name"
        by_name = (
            f"{path}: {len(unknown)} names are not among the {len(names)} classes, "
            f"e.g. {_examples(unknown)} (the classes: {_examples(names)})"
        )
        if id_column is None:
            raise TaxonomyError(by_name)
        try:
            ids = _row_ids(path, rows, col[id_column], id_column, len(names))
        except TaxonomyError as err:
            raise TaxonomyError(f"{by_name}; nor by {id_column}: {err}") from None
        if (str(path), len(names)) not in _told_id_match:  # once per file, not per reader
            _told_id_match.add((str(path), len(names)))
            log.warning(
                "%s: its names are not the results' class names (e.g. %s vs %s); "
                "matched by %s instead",
                path,
                _examples(unknown[:2]),
                _examples(names[:2]),
                id_column,
            )
        return ids, id_column
    assert id_column is not None  # no name column: the check above found an id column
    return _row_ids(path, rows, col[id_column], id_column, len(names)), id_column


def _row_ids(
    path: Path, rows: list[tuple[int, list[str]]], index: int, id_column: str, m: int
) -> list[int]:
    """The class indices of the rows' id column, checked to be integers in 0..m-1."""
    ids: list[int] = []
    bad = []
    for line, row in rows:
        try:
            ids.append(int(row[index]))
        except ValueError:
            bad.append(f"line {line}: {row[index]!r}")
    if bad:
        raise TaxonomyError(
            f"{path}: column {id_column!r} must hold integer class indices; {len(bad)} "
            f"do not, e.g. {', '.join(bad[:_EXAMPLES])}"
        )
    unknown = [
        f"line {line}: {i}" for (line, _), i in zip(rows, ids, strict=True) if not 0 <= i < m
    ]
    if unknown:
        raise TaxonomyError(
            f"{path}: {len(unknown)} {id_column} values are not class indices 0..{m - 1}, "
            f"e.g. {', '.join(unknown[:_EXAMPLES])}"
        )
    return ids


def _examples(values: Sequence) -> str:
    return ", ".join(repr(v) for v in values[:_EXAMPLES])
