"""Class names: read from files or lists, checked, and written to the results directory.

Accepted class files:

- CSV with a header that has a ``name`` column (an optional ``class_id`` or ``index`` column
  gives the order, as in ``classes.csv`` of the results directory and of ``shared/data``);
- JSON: a list of names, ``{"classes": [...]}``, or ``{"0": "name", ...}`` keyed by index;
- plain text: one name per line.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from classsim_spark.errors import ClasssimError

ORDER_COLUMNS = ("class_id", "index")


class ClassListError(ClasssimError, ValueError):
    """A class list or class file that cannot be used (empty, blank or duplicate names...)."""


def read_class_names(path: str | Path) -> list[str]:
    """Read class names from a CSV, JSON or text file (see module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ClassListError(f"class file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of a name
    if path.suffix.lower() == ".json":
        names = _names_from_json(json.loads(text), path)
    elif path.suffix.lower() in (".csv", ".tsv"):
        names = _names_from_csv(text, path, "\t" if path.suffix.lower() == ".tsv" else ",")
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    return check_class_names(names, source=str(path))


def _names_from_json(data, path: Path) -> list[str]:
    if isinstance(data, dict) and "classes" in data:
        data = data["classes"]
    if isinstance(data, list):
        return [str(name) for name in data]
    if isinstance(data, dict):
        try:
            keyed = {int(k): str(v) for k, v in data.items()}
        except ValueError as err:
            raise ClassListError(f"{path}: JSON keys must be class indices ({err})") from None
        return _ordered(keyed, path)
    raise ClassListError(
        f"{path}: expected a list of names or an object, got {type(data).__name__}"
    )


def _names_from_csv(text: str, path: Path, delimiter: str) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows or "name" not in rows[0]:
        raise ClassListError(f"{path}: a class CSV needs a header with a 'name' column")
    order = next((c for c in ORDER_COLUMNS if c in rows[0]), None)
    if order is None:
        return [row["name"] for row in rows]
    try:
        keyed = {int(row[order]): row["name"] for row in rows}
    except ValueError as err:
        raise ClassListError(f"{path}: column {order!r} must hold integers ({err})") from None
    return _ordered(keyed, path)


def _ordered(keyed: dict[int, str], path: Path) -> list[str]:
    if sorted(keyed) != list(range(len(keyed))):
        raise ClassListError(f"{path}: class indices must be exactly 0..{len(keyed) - 1}")
    return [keyed[i] for i in range(len(keyed))]


def check_class_names(names: list[str], source: str = "class list") -> list[str]:
    """Return ``names`` if non-empty, without blanks and unique; else raise naming examples."""
    if not names:
        raise ClassListError(f"{source}: no class names")
    blank = [i for i, name in enumerate(names) if not str(name).strip()]
    if blank:
        raise ClassListError(f"{source}: {len(blank)} blank class names (positions {blank[:5]})")
    dupes = [name for name, count in Counter(names).items() if count > 1]
    if dupes:
        raise ClassListError(
            f"{source}: {len(dupes)} duplicate class names, e.g. {', '.join(map(repr, dupes[:5]))}"
        )
    return list(names)


def default_class_names(m: int) -> list[str]:
    """``class_0 .. class_{m-1}``, for array inputs without a class file."""
    return [f"class_{i}" for i in range(m)]


def write_classes_csv(names: list[str], path: str | Path) -> None:
    """Write ``index,name`` rows (quoted as needed) in class order."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["index", "name"])
        writer.writerows(enumerate(names))
