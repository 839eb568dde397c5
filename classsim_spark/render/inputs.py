"""What the figures read from a results directory besides the matrices.

``groups.json`` (the analysis), ``order-<t>.json`` (the hclust order and its alternatives),
``linkage-<t>.npy`` and the taxonomy file named in ``groups.json``, each parsed once per loaded
result (:func:`~classsim_spark.io.results.read_once`). Every reader returns an empty value when the
file is missing, so a directory without an analysis still renders (in class-id order, without
structure).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from classsim_spark.core.taxonomy import Taxonomy
from classsim_spark.errors import ClasssimError
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import (
    GROUPS_FILE,
    SimilarityResult,
    linkage_file,
    order_file,
    read_once,
)
from classsim_spark.io.taxonomy_file import read_taxonomy

log = logging.getLogger("classsim")


class FigureError(ClasssimError, ValueError):
    """A figure or option the results directory cannot give (unknown transform, class, ...)."""


def as_result(results):
    """The result a path names (loaded), or ``results`` itself when it is not a path."""
    if isinstance(results, (str, os.PathLike)):
        return SimilarityResult.load(results)
    return results


def _path(result) -> Path | None:
    path = getattr(result, "path", None)
    return None if path is None else Path(path)


def _json(file: Path) -> dict:
    return json.loads(file.read_text(encoding="utf-8"))


def read_groups(result) -> GroupsRecord | None:
    """``groups.json`` of a results directory, or None when there is none.

    Raises
    ------
    FigureError
        The file is not an analysis this version can read (names the file and the entry).
    """
    path = _path(result)
    return None if path is None else read_once(result, path / GROUPS_FILE, _groups_record)


def _groups_record(file: Path) -> GroupsRecord:
    try:
        return GroupsRecord.from_json(_json(file))
    except ValueError as err:  # also json.JSONDecodeError
        raise FigureError(f"{file}: {err}; run `classsim analyze --overwrite` again") from None


def read_orders(result, transform: str) -> dict:
    """``order-<transform>.json`` (``order`` and ``alternatives``), or ``{}``."""
    path = _path(result)
    return {} if path is None else read_once(result, path / order_file(transform), _json, {})


def read_linkage(result, transform: str) -> np.ndarray | None:
    """``linkage-<transform>.npy``, or None."""
    path = _path(result)
    if path is None:
        return None
    return read_once(
        result, path / linkage_file(transform), lambda f: np.load(f, allow_pickle=False)
    )


def find_taxonomy(result, groups: GroupsRecord | None) -> Taxonomy | None:
    """The taxonomy named in ``groups.json`` (as given, or relative to the results directory).

    None when the analysis had no taxonomy or its file has moved or no longer fits the classes:
    the figures are then drawn without taxonomy bars rather than failing.
    """
    entry = (groups.taxonomy if groups else None) or {}
    file = entry.get("file")
    if not file:
        return None
    candidates = [Path(file)]
    path = _path(result)
    if path is not None and not Path(file).is_absolute():
        candidates.append(path / file)
    for candidate in candidates:
        if candidate.is_file():
            try:
                return read_once(
                    result,
                    candidate,
                    lambda f: read_taxonomy(f, list(result.classes), entry.get("levels")),
                )
            except ValueError as err:
                log.warning("taxonomy %s not used in the figures: %s", candidate, err)
                return None
    log.warning("taxonomy file %s named in groups.json not found; figures without it", file)
    return None
