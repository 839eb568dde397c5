"""The findings of :mod:`classsim_spark.core.structure` as records.

Each finding is a frozen dataclass whose :meth:`~Finding.to_json` is its entry in
``groups.json`` (plain lists, numbers, strings and None, in the order of the fields). A
``stability`` of None (not measured) is left out of the JSON; the analysis adds it with
:func:`dataclasses.replace` once the resamples have been scored.

Example
-------
>>> pair = NearDuplicate(1, [0, 1], ["a", "b"], 0.99, 5.0, 0.98, 0.02, 0.98, 0.9)
>>> pair.to_json()["names"], "stability" in pair.to_json()
(['a', 'b'], False)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """What every finding shares: its JSON form."""

    def to_json(self) -> dict[str, Any]:
        """The finding as ``groups.json`` holds it (``stability`` only once measured)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "stability" and value is None:
                continue
            out[f.name] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Finding):
        return value.to_json()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Block(Finding):
    """A block along the diagonal: the classes under one node of the tree, at one level.

    See :func:`classsim_spark.core.structure.blocks` for what each field holds.
    """

    id: int
    level: int
    parent: int | None
    node: int
    height: float
    start: int
    end: int
    contiguous: bool
    size: int
    members: list[str]
    member_ids: list[int]
    within_mean: float
    outside_mean: float | None
    contrast: float | None
    modularity: float | None
    central: list[str]
    taxonomy: list[dict[str, Any]] | None
    label: str
    stability: float | None = None


@dataclass(frozen=True)
class FlameRow(Finding):
    """One class outside a block whose similarity to the block stays elevated."""

    name: str
    class_id: int
    position: int
    offset: int
    mean_similarity: float
    z: float
    z_all: float
    z_top: float
    lift: float
    coverage: float


@dataclass(frozen=True)
class Flames(Finding):
    """A major block's span and its flames (``groups.json``'s ``spans``).

    See :func:`classsim_spark.core.structure.flames`.
    """

    block: int
    level: int
    label: str | None
    start: int
    end: int
    background: dict[str, float]
    rows: list[FlameRow]


@dataclass(frozen=True)
class SplitGroup(Finding):
    """Two blocks under different top-level blocks that the model keeps close.

    See :func:`classsim_spark.core.structure.split_groups`.
    """

    blocks: list[int]
    labels: list[str | None]
    sizes: list[int]
    spans: list[list[int]]
    depth: int
    mean_similarity: float
    background: dict[str, float]
    z: float
    p_empirical: float
    p_normal: float
    join_height: float | None
    top_blocks: list[int]
    stability: float | None = None


@dataclass(frozen=True)
class FailedGroup(Finding):
    """A cohesive fuzzy group whose core the tree spreads over top-level blocks.

    See :func:`classsim_spark.core.structure.failed_groups`.
    """

    cluster: int
    members: list[str]
    member_ids: list[int]
    positions: list[int]
    memberships: list[float]
    size: int
    top_blocks: list[list[int]]
    n_top_blocks: int
    dispersion: float
    entropy: float
    cohesion: float
    mean_similarity: float
    stability: float | None = None


@dataclass(frozen=True)
class NearDuplicate(Finding):
    """A pair of classes the model hardly tells apart.

    See :func:`classsim_spark.core.structure.near_duplicates`.
    """

    rank: int
    class_ids: list[int]
    names: list[str]
    similarity: float
    similarity_z: float
    profile_correlation: float
    max_abs_diff: float
    score: float
    threshold: float
    stability: float | None = None


@dataclass(frozen=True)
class Star(Finding):
    """A class similar to (or co-occurring with) unusually many others.

    See :func:`classsim_spark.core.structure.stars`.
    """

    class_id: int
    name: str
    degree: int
    degree_z: float
    degree_scope: str
    mean_similarity: float
    threshold: float
    cooccurrence_degree: int | None
    cooccurrence_z: float | None
    cooccurrence_share: float | None
    z: float
    stability: float | None = None
