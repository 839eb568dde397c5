"""How often each finding survives resampling of the samples (pure numpy/scipy).

The scan can keep the co-moments of one transform in ``k`` disjoint parts of the rows
(:func:`classsim_spark.core.moments.row_parts`, a hash of each row's values). Merging every part
gives the similarity matrix of all rows; merging a subset gives the matrix of a subsample, exactly
and without a second pass over the data. :func:`part_subsets` draws the resamples (subsets of
``ceil(k / 2)`` parts: half-samples for even ``k``, as in stability selection), and the analysis
re-runs on each resample's matrix. The functions here then score each finding of the full data
by how well the resamples reproduce it:

- a *set* of classes (a block, a failed group's core): its best Jaccard index with any set of
  the same kind in the resample, averaged over resamples (:func:`set_stability`);
- a *pair of sets* (a split group's two blocks): the smaller of the two sides' Jaccard indices
  with the best-matching split group of the resample, averaged (:func:`split_stability`);
- an *item* (a near-duplicate pair, a star class): the share of resamples that find it again
  (:func:`item_stability`);
- the *tree as a whole*: the mean correlation of its cophenetic distances with those of each
  resample's tree (:func:`tree_agreement`).

Every number lies in [0, 1] (the tree's in [-1, 1]); 1 means every resample found the same.
Subsamples hold about half the rows, so the numbers describe findings that hold on half the
data: a conservative reading of the full data's.

Examples
--------
>>> part_subsets(4, resamples=10)
[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
>>> set_stability([frozenset({0, 1, 2})], [[frozenset({0, 1})], [frozenset({0, 1, 2})]])
[0.8333333333333333]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy.cluster import hierarchy

from classsim_spark.core.moments import Moments

PARTS_MAX = 6
"""Most parts the scan keeps: ``C(6, 3) = 20`` distinct half-samples, :data:`DEFAULT_RESAMPLES`.
Each part adds an m x m statistic to every task's output and to the reduce, so more parts cost
scan time (benchmarks/gram.py ``--stability-parts``) for resamples the analysis does not use."""

PARTS_BUDGET_BYTES = 384 << 20
"""Memory per scan task for the parts' co-moments of one transform (``parts x 8 m^2`` bytes)."""

DEFAULT_RESAMPLES = 20
"""Resamples the analysis draws (fewer when fewer distinct subsets exist)."""

UNSTABLE_BELOW = 0.5
"""Findings whose stability is below this are marked unstable in the figures."""


def choose_parts(m: int, budget_bytes: int = PARTS_BUDGET_BYTES) -> int:
    """How many parts the scan keeps for ``m`` classes: as many as the budget holds, at most
    :data:`PARTS_MAX`; 0 (no stability) when fewer than 2 fit.

    Examples
    --------
    >>> choose_parts(527), choose_parts(3755), choose_parts(5000), choose_parts(8000)
    (6, 3, 2, 0)
    """
    k = min(PARTS_MAX, int(budget_bytes // (8 * m * m)))
    return k if k >= 2 else 0


def part_subsets(
    k: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> list[tuple[int, ...]]:
    """Distinct subsets of ``ceil(k / 2)`` of the ``k`` parts, at most ``resamples`` of them.

    All subsets, in lexicographic order, when there are at most ``resamples``; else
    ``resamples`` distinct ones drawn with ``numpy.random.default_rng(seed)``, sorted.
    """
    if k < 2:
        raise ValueError(f"need at least 2 parts to resample, got {k}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    size = math.ceil(k / 2)
    if math.comb(k, size) <= resamples:
        return list(itertools.combinations(range(k), size))
    rng = np.random.default_rng(seed)
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < resamples:
        chosen.add(tuple(sorted(int(i) for i in rng.choice(k, size, replace=False))))
    return sorted(chosen)


def resample_moments(parts: Sequence[Moments], subset: Sequence[int]) -> Moments:
    """The statistics of the rows in the parts ``subset``."""
    return Moments.merge_all([parts[i] for i in subset])


def jaccard(a: frozenset, b: frozenset) -> float:
    """``|a & b| / |a | b|`` (1 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def set_stability(
    sets: Sequence[frozenset], resampled: Sequence[Sequence[frozenset]]
) -> list[float]:
    """Per set, its best Jaccard index with the sets of each resample, averaged.

    The sets are sets of class ids; all their intersections with one resample's sets come from
    one product of membership matrices (a hundred blocks against a hundred, twenty times, was
    0.6 s of Python set operations at 2,622 classes).
    """
    if not resampled:
        return [math.nan] * len(sets)
    if not sets:
        return []
    m = 1 + max(max(s, default=-1) for group in (sets, *resampled) for s in group)
    members = _membership(sets, m)
    sizes = members.sum(axis=1)
    best = np.zeros((len(sets), len(resampled)))
    for k, found in enumerate(resampled):
        if not found:
            continue
        other = _membership(found, m)
        common = members @ other.T
        union = sizes[:, None] + other.sum(axis=1)[None, :] - common
        scores = np.divide(common, union, out=np.ones_like(common), where=union > 0)
        best[:, k] = scores.max(axis=1)
    return [float(np.mean(row)) for row in best]


def _membership(sets: Sequence[frozenset], m: int) -> np.ndarray:
    """``(len(sets), m)`` float64 0/1 matrix: row i marks the members of ``sets[i]``."""
    out = np.zeros((len(sets), m))
    for i, s in enumerate(sets):
        out[i, list(s)] = 1.0
    return out


def split_stability(
    splits: Sequence[tuple[frozenset, frozenset]],
    resampled: Sequence[Sequence[tuple[frozenset, frozenset]]],
) -> list[float]:
    """Per pair of sets, the best match in each resample, averaged: a match scores the smaller
    of the two sides' Jaccard indices, in the better of the two orientations."""

    def match(a: tuple[frozenset, frozenset], b: tuple[frozenset, frozenset]) -> float:
        return max(
            min(jaccard(a[0], b[0]), jaccard(a[1], b[1])),
            min(jaccard(a[0], b[1]), jaccard(a[1], b[0])),
        )

    if not resampled:
        return [math.nan] * len(splits)
    return [
        float(np.mean([max((match(s, c) for c in r), default=0.0) for r in resampled]))
        for s in splits
    ]


def item_stability(items: Sequence, resampled: Sequence[set]) -> list[float]:
    """Per item, the share of resamples whose set of items holds it."""
    if not resampled:
        return [math.nan] * len(items)
    return [sum(item in r for r in resampled) / len(resampled) for item in items]


def cophenetic(Z: np.ndarray) -> np.ndarray:
    """The condensed cophenetic distances (merge heights) of a tree: what
    :func:`tree_agreement` compares resampled trees with."""
    return hierarchy.cophenet(np.asarray(Z, dtype=np.float64))


def tree_agreement(reference: np.ndarray, Z: np.ndarray) -> float:
    """Pearson correlation between a tree's cophenetic distances ``reference``
    (:func:`cophenetic`) and those of the tree ``Z`` over the same classes. The tree's
    stability is its mean over the resamples, each computed where its resample is.

    Examples
    --------
    >>> Z = hierarchy.linkage([[0.0], [1.0], [5.0]], "average")
    >>> tree_agreement(cophenetic(Z), Z)
    1.0
    """
    return float(np.corrcoef(reference, cophenetic(Z))[0, 1])
