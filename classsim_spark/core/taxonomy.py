"""Agreement between a class tree and a given taxonomy, and label-based baseline trees.

A *taxonomy* assigns every class a path of groups, one group per level, coarse to fine (e.g.
20news: ``level1`` = Usenet prefix, ``level2``, ``topic6``; read from a file by
:mod:`classsim_spark.io.taxonomy_file`). This module scores how well a hierarchical clustering of
the classes (a scipy linkage matrix ``Z`` over the m classes, leaves in the results' class order)
recovers it:

- per level, the *adjusted Rand index* and *normalised mutual information* between the taxonomy
  groups and the flat cut of the tree with the same number of groups (:func:`tree_cut`);
- per level, the *dendrogram purity* of the taxonomy groups in the tree;
- the correlation between the tree's cophenetic distances and the taxonomy tree distance
  (:func:`taxonomy_distance`).

:func:`linkage_from_matrix` turns a confusion or co-occurrence matrix into a tree, so the same
numbers can be computed for the label baselines.

Definitions
-----------
Groups at a level
    A group at a level is identified by its value in that level's column: the same name under two
    different parents is one group (write ``vehicle/other`` and ``animal/other`` to keep them
    apart). Levels need not nest: 20news's ``topic6`` is an alternative grouping, not a
    refinement of ``level2``, and is scored as its 6 groups.
Taxonomy tree distance
    Paths are read as a tree by prefix: the group of a class at depth ``l`` (1-based) is its path
    up to level ``l``, below an implicit root at depth 0. The distance between two classes is
    ``L - depth of their deepest common group``, with L the number of levels: 0 for identical
    paths, L for classes in different top-level groups (common ancestor: the root).
Cophenetic correlation
    Pearson correlation (Sokal & Rohlf's cophenetic correlation, as ``scipy.cluster.hierarchy
    .cophenet`` computes it) between the condensed cophenetic distances of the tree and the
    taxonomy tree distance. :func:`agreement` also reports the Spearman (rank) correlation, since
    the taxonomy distance takes only L + 1 distinct values.
NMI
    Mutual information divided by the *arithmetic mean* of the two entropies (scikit-learn's
    default, ``average_method="arithmetic"``), natural logarithms; the same special cases as
    scikit-learn (1.0 when both labelings are a single group, 0.0 when only one is).

Undefined numbers (a dendrogram purity without any pair of classes in a common group, a
correlation against a constant distance) are ``nan`` from the scoring functions and ``None`` in
:func:`agreement`, whose result is JSON-serialisable as is.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from classsim_spark.core.tree import Tree
from classsim_spark.errors import ClasssimError

__all__ = [
    "Taxonomy",
    "TaxonomyError",
    "adjusted_rand",
    "agreement",
    "cophenetic_agreement",
    "dendrogram_purity",
    "linkage_from_matrix",
    "nmi",
    "taxonomy_distance",
    "tree_cut",
]

_EXAMPLES = 5
_BASELINE_KINDS = ("confusion", "cooccurrence")
_BASELINE_METHODS = ("average", "complete", "single", "weighted")


class TaxonomyError(ClasssimError, ValueError):
    """A taxonomy file or level selection that cannot be used."""


@dataclass(frozen=True)
class Taxonomy:
    """Groups of each class at each taxonomy level.

    Attributes
    ----------
    levels : tuple of str
        Level names, coarse to fine.
    paths : list of tuple of str
        Per class, in the results' class order: its group at each level.
    matched_by : str or None
        The file column that matched its rows to the classes (``name``, ``class_id`` or
        ``index``), when read from a file.
    """

    levels: tuple[str, ...]
    paths: list[tuple[str, ...]]
    matched_by: str | None = None

    def __post_init__(self):
        levels = tuple(self.levels)
        paths = [tuple(path) for path in self.paths]
        if not levels:
            raise TaxonomyError("a taxonomy needs at least one level")
        if len(set(levels)) != len(levels):
            raise TaxonomyError(f"duplicate taxonomy levels: {list(levels)}")
        if not paths:
            raise TaxonomyError("a taxonomy needs at least one class")
        bad = [i for i, path in enumerate(paths) if len(path) != len(levels)]
        if bad:
            raise TaxonomyError(
                f"{len(bad)} taxonomy paths do not have one group per level "
                f"({len(levels)}), e.g. classes {bad[:_EXAMPLES]}"
            )
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "paths", paths)

    @property
    def n_classes(self) -> int:
        """Number of classes m."""
        return len(self.paths)

    def level_index(self, level: str | int) -> int:
        """Position of ``level`` (a name or a position) in :attr:`levels`."""
        if isinstance(level, str):
            if level not in self.levels:
                raise TaxonomyError(f"unknown taxonomy level {level!r}; levels: {self.levels}")
            return self.levels.index(level)
        index = operator.index(level)
        if not -len(self.levels) <= index < len(self.levels):
            raise TaxonomyError(f"level {index} out of range for {len(self.levels)} levels")
        return index % len(self.levels)

    def groups(self, level: str | int) -> np.ndarray:
        """Group of every class at ``level`` as integer codes 0..k-1 (in order of appearance).

        Parameters
        ----------
        level : str or int
            Level name or position (0 = coarsest).

        Returns
        -------
        codes : ndarray of int64, shape (m,)
        """
        index = self.level_index(level)
        return _factorize([path[index] for path in self.paths])

    def n_groups(self, level: str | int) -> int:
        """Number of distinct groups at ``level``."""
        index = self.level_index(level)
        return len({path[index] for path in self.paths})


# --------------------------------------------------------------------------- helpers


def _as_linkage(Z) -> np.ndarray:
    """``Z`` as a float64 linkage matrix, validated by scipy."""
    Z = np.asarray(Z, dtype=np.float64)
    hierarchy.is_valid_linkage(Z, throw=True, name="Z")
    return Z


def _factorize(values: list) -> np.ndarray:
    """Integer codes 0..k-1 of ``values`` in order of first appearance; -1 for a missing value
    (None or NaN)."""
    first: dict = {}
    codes = [
        -1 if value is None or value != value else first.setdefault(value, len(first))
        for value in values
    ]
    return np.array(codes, dtype=np.int64)


def _codes(labels, name: str) -> np.ndarray:
    """Integer codes 0..k-1 of a one-dimensional labeling (any hashable values)."""
    values = np.asarray(labels)
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {values.shape}")
    codes = _factorize(values.tolist())
    if (codes < 0).any():
        raise ValueError(f"{name} contains {int((codes < 0).sum())} missing values")
    return codes


def _pair_codes(a, b) -> tuple[np.ndarray, np.ndarray]:
    ca, cb = _codes(a, "a"), _codes(b, "b")
    if ca.shape != cb.shape:
        raise ValueError(f"labelings differ in length: {ca.size} and {cb.size}")
    return ca, cb


def _contingency(ca: np.ndarray, cb: np.ndarray):
    """Non-zero cells of the contingency table: row and column codes, counts; and the row and
    column sums (all int64)."""
    kb = int(cb.max()) + 1
    keys, cells = np.unique(ca * kb + cb, return_counts=True)
    return keys // kb, keys % kb, cells, np.bincount(ca), np.bincount(cb)


def _pairs(counts: np.ndarray) -> int:
    """Sum of ``count choose 2``, exactly."""
    return sum(int(c) * (int(c) - 1) // 2 for c in counts)


def _undefined_to_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


# --------------------------------------------------------------------------- flat comparisons


def tree_cut(Z, k: int) -> np.ndarray:
    """Cut a tree into exactly ``k`` clusters.

    The clusters are those present after the first ``m - k`` merges of ``Z`` (its first rows):
    every cluster is a node of the tree, and there are always exactly ``k``. For a monotone
    linkage without tied heights this is ``fcluster(Z, k, criterion="maxclust")``. Where merge
    heights tie, no height threshold may give exactly ``k`` clusters (``fcluster`` then returns
    fewer); the tie is broken by the row order of ``Z``, i.e. the order in which the linkage
    algorithm merged. For non-monotone linkages (centroid, median) this is the state of the
    agglomeration after ``m - k`` merges.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        Linkage matrix.
    k : int
        Number of clusters, 1 <= k <= m.

    Returns
    -------
    labels : ndarray of int64, shape (m,)
        Cluster numbers 1..k, numbered in order of first appearance in the tree's leaf order
        (``leaves_list(Z)``), so that they run left to right along the dendrogram.
    """
    Z = _as_linkage(Z)
    m = Z.shape[0] + 1
    if isinstance(k, bool | np.bool_):
        raise TypeError("k must be an integer")
    k = operator.index(k)
    if not 1 <= k <= m:
        raise ValueError(f"k must be between 1 and the number of leaves {m}, got {k}")
    return Tree(Z).labels(k)


def adjusted_rand(a, b) -> float:
    """Adjusted Rand index of two labelings (Hubert & Arabie 1985).

    Computed from the contingency table with exact integer pair counts and one final division;
    equals ``sklearn.metrics.adjusted_rand_score``, including its special case of 1.0 when the
    labelings agree on every pair (e.g. both a single group, or fewer than two items).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Labelings (any hashable values; only equality matters).

    Returns
    -------
    float
        1 for identical partitions, about 0 for independent ones, negative below chance.
    """
    ca, cb = _pair_codes(a, b)
    n = ca.size
    if n < 2:
        return 1.0
    _, _, cells, rows, cols = _contingency(ca, cb)
    index, sum_a, sum_b = _pairs(cells), _pairs(rows), _pairs(cols)
    total = n * (n - 1) // 2
    # ARI = (index - sa*sb/total) / ((sa+sb)/2 - sa*sb/total), multiplied through by 2*total.
    numerator = 2 * (index * total - sum_a * sum_b)
    denominator = (sum_a + sum_b) * total - 2 * sum_a * sum_b
    if denominator == 0:  # both all singletons or both a single group: identical
        return 1.0
    return numerator / denominator


def nmi(a, b) -> float:
    """Normalised mutual information of two labelings, arithmetic-mean normalisation.

    ``NMI = I(a; b) / ((H(a) + H(b)) / 2)`` with natural logarithms: scikit-learn's
    ``normalized_mutual_info_score`` with its default ``average_method="arithmetic"``, including
    its special cases (1.0 when both labelings are a single group or empty, 0.0 when the mutual
    information is 0, e.g. when exactly one labeling is a single group).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Labelings (any hashable values).

    Returns
    -------
    float
        In [0, 1].
    """
    ca, cb = _pair_codes(a, b)
    n = ca.size
    if n == 0:
        return 1.0
    i, j, cells, rows, cols = _contingency(ca, cb)
    if rows.size == cols.size == 1:
        return 1.0
    if rows.size == 1 or cols.size == 1:
        return 0.0
    ai, bj = rows[i].astype(np.float64), cols[j].astype(np.float64)
    nij = cells.astype(np.float64)
    terms = nij / n * (np.log(nij) + math.log(n) - np.log(ai) - np.log(bj))
    mi = max(math.fsum(terms), 0.0)
    if mi == 0.0:
        return 0.0
    h_a, h_b = _entropy(rows, n), _entropy(cols, n)
    return min(mi / ((h_a + h_b) / 2.0), 1.0)


def _entropy(counts: np.ndarray, n: int) -> float:
    p = counts[counts > 0] / n
    return -math.fsum(p * np.log(p))


# --------------------------------------------------------------------------- tree scores


def dendrogram_purity(Z, labels) -> float:
    """Dendrogram purity of a labeling in a tree (Heller & Ghahramani 2005).

    The average, over all pairs of leaves with the same label, of the purity of their lowest
    common ancestor: the fraction of that node's leaves that carry the pair's label. Exact (no
    sampling of pairs): each merge of clusters A and B is the lowest common ancestor of exactly
    the pairs (i in A, j in B), so it contributes ``sum_c a_c b_c (a_c + b_c) / (|A| + |B|)``,
    with ``a_c``, ``b_c`` the leaves of label c in A and B. Label counts are merged small into
    large: O(m log m) dictionary operations, O(m) memory.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        Linkage matrix.
    labels : array_like, shape (m,)
        Label of each leaf (any hashable values).

    Returns
    -------
    float
        In (0, 1]; 1 when every label's leaves form subtrees of their own. ``nan`` when no two
        leaves share a label (no pairs to average over).
    """
    Z = _as_linkage(Z)
    m = Z.shape[0] + 1
    codes = _codes(labels, "labels")
    if codes.size != m:
        raise ValueError(f"labels has {codes.size} entries but the tree has {m} leaves")
    n_pairs = _pairs(np.bincount(codes))
    if n_pairs == 0:
        return float("nan")
    counts: list[dict[int, int] | None] = [{int(c): 1} for c in codes] + [None] * (m - 1)
    sizes = np.concatenate([np.ones(m, dtype=np.int64), Z[:, 3].astype(np.int64)])
    parts = []
    for i, (a, b) in enumerate(Z[:, :2].astype(np.int64)):
        big, small = counts[a], counts[b]
        counts[a] = counts[b] = None
        if len(big) < len(small):  # type: ignore[arg-type]
            big, small = small, big
        joined = 0
        for label, nb in small.items():  # type: ignore[union-attr]
            na = big.get(label, 0)  # type: ignore[union-attr]
            joined += na * nb * (na + nb)
            big[label] = na + nb  # type: ignore[index]
        if joined:
            parts.append(joined / int(sizes[a] + sizes[b]))
        counts[m + i] = big
    return math.fsum(parts) / n_pairs


def taxonomy_distance(tax: Taxonomy) -> np.ndarray:
    """Condensed tree distance between the classes of a taxonomy.

    ``d(i, j) = L - depth of the deepest common group``, where L is the number of levels and the
    group of a class at depth ``l`` is its path prefix of length ``l`` (an implicit root at depth
    0 holds every class). So d = 0 for identical paths, d = L for classes whose top-level groups
    differ, and d counts the levels, from the finest, up to the first shared ancestor.

    Parameters
    ----------
    tax : Taxonomy

    Returns
    -------
    d : ndarray of float64, shape (m * (m - 1) / 2,)
        In the condensed order of ``scipy.spatial.distance.pdist``.
    """
    if not isinstance(tax, Taxonomy):
        raise TypeError(f"tax must be a Taxonomy, got {type(tax).__name__}")
    m, depth = tax.n_classes, len(tax.levels)
    prefix = np.empty((depth, m), dtype=np.int64)
    for level in range(depth):
        codes: dict[tuple[str, ...], int] = {}
        prefix[level] = [codes.setdefault(path[: level + 1], len(codes)) for path in tax.paths]
    out = np.empty(m * (m - 1) // 2, dtype=np.float64)
    start = 0
    for i in range(m - 1):
        # Prefixes nest: sharing the group at depth l means sharing every coarser one, so the
        # number of equal prefixes is the depth of the deepest common group.
        shared = (prefix[:, i + 1 :] == prefix[:, i : i + 1]).sum(axis=0)
        out[start : start + m - 1 - i] = depth - shared
        start += m - 1 - i
    return out


def cophenetic_agreement(
    Z, tax: Taxonomy, method: str = "pearson", distance: np.ndarray | None = None
) -> float:
    """Correlation between a tree's cophenetic distances and the taxonomy tree distance.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        Linkage matrix over the taxonomy's classes (leaf i = ``tax.paths[i]``).
    tax : Taxonomy
    method : {"pearson", "spearman"}
        Pearson (default): the classic cophenetic correlation. Spearman: rank correlation
        (ties averaged), insensitive to the tree's height scale.
    distance : ndarray, optional
        :func:`taxonomy_distance` of ``tax``, when the caller has it (it is the same for
        every tree).

    Returns
    -------
    float
        ``nan`` when either distance is constant (e.g. fewer than 3 classes, or one level with a
        single group).
    """
    Z = _as_linkage(Z)
    _check_tree_matches(Z, tax)
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    coph = hierarchy.cophenet(Z)
    dist = taxonomy_distance(tax) if distance is None else distance.copy()
    if coph.size < 2 or np.ptp(coph) == 0 or np.ptp(dist) == 0:
        return float("nan")
    if method == "spearman":  # both take few distinct values: ranked by counting, not sorting
        coph = tie_ranks(coph, np.unique(Z[:, 2]))
        dist = tie_ranks(dist, np.arange(len(tax.levels) + 1, dtype=np.float64))
    coph -= coph.mean()
    dist -= dist.mean()
    r = float(coph @ dist / math.sqrt(float(coph @ coph) * float(dist @ dist)))
    return min(max(r, -1.0), 1.0)


def tie_ranks(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Ranks of ``x`` from 1, ties averaged (``scipy.stats.rankdata``), when every entry of
    ``x`` is one of the sorted ``values``: counted per value in O(len(x) log len(values)),
    where sorting 50 million cophenetic distances (m = 10,000) takes seconds. Falls back to
    ``rankdata`` when some entry is not among ``values``.

    >>> tie_ranks(np.array([2.0, 0.5, 2.0, 1.0]), np.array([0.5, 1.0, 2.0])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    where = np.minimum(np.searchsorted(values, x), len(values) - 1)
    if not np.array_equal(values[where], x):
        return stats.rankdata(x)
    counts = np.bincount(where, minlength=len(values))
    return (np.cumsum(counts) - (counts - 1) / 2.0)[where]


def agreement(Z, tax: Taxonomy, distance: np.ndarray | None = None) -> dict:
    """All agreement numbers between a tree and a taxonomy, JSON-serialisable.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        Linkage matrix over the taxonomy's classes.
    tax : Taxonomy
    distance : ndarray, optional
        :func:`taxonomy_distance` of ``tax``, computed once for several trees.

    Returns
    -------
    dict
        ``{"levels": [{"level", "groups", "ari", "nmi", "dendrogram_purity"}, ...],
        "cophenetic_correlation", "cophenetic_spearman"}``. Per level (coarse to fine), ``ari``
        and ``nmi`` compare the taxonomy groups with ``tree_cut(Z, groups)``;
        ``dendrogram_purity`` scores the taxonomy groups in the whole tree. The cophenetic
        numbers correlate the tree with :func:`taxonomy_distance` (Pearson, Spearman).
        Undefined numbers are ``None``.
    """
    Z = _as_linkage(Z)
    _check_tree_matches(Z, tax)
    levels = []
    for level in tax.levels:
        groups = tax.groups(level)
        k = int(groups.max()) + 1
        cut = tree_cut(Z, k)
        levels.append(
            {
                "level": level,
                "groups": k,
                "ari": float(adjusted_rand(groups, cut)),
                "nmi": float(nmi(groups, cut)),
                "dendrogram_purity": _undefined_to_none(dendrogram_purity(Z, groups)),
            }
        )
    distance = taxonomy_distance(tax) if distance is None else distance
    return {
        "levels": levels,
        "cophenetic_correlation": _undefined_to_none(
            cophenetic_agreement(Z, tax, "pearson", distance)
        ),
        "cophenetic_spearman": _undefined_to_none(
            cophenetic_agreement(Z, tax, "spearman", distance)
        ),
    }


def _check_tree_matches(Z: np.ndarray, tax: Taxonomy) -> None:
    if not isinstance(tax, Taxonomy):
        raise TypeError(f"tax must be a Taxonomy, got {type(tax).__name__}")
    if Z.shape[0] + 1 != tax.n_classes:
        raise ValueError(
            f"the tree has {Z.shape[0] + 1} leaves but the taxonomy {tax.n_classes} classes"
        )


# --------------------------------------------------------------------------- baselines


def linkage_from_matrix(S, kind: str, method: str = "average") -> np.ndarray:
    """A class tree from a label-based matrix, for the baselines.

    ``kind="confusion"``: ``S[i, j]`` = number of samples of true class i predicted as j (rows:
    labels, columns: predictions, as ``sklearn.metrics.confusion_matrix``). Each row is divided
    by its class frequency (the row sum; a class without samples gets a zero row), giving
    confusion rates ``R``; the similarity is the mean rate in both directions,
    ``s_ij = (R_ij + R_ji) / 2`` for i != j, in [0, 1]. The diagonal (correct predictions) is
    not used.

    ``kind="cooccurrence"``: ``S[i, j]`` = number of samples carrying both labels i and j, with
    ``S[i, i]`` the frequency of class i (the Gram matrix of the label indicator vectors). The
    similarity is the cosine of the indicator vectors (Ochiai coefficient),
    ``s_ij = S_ij / sqrt(S_ii S_jj)``, 0 where a class never occurs, clipped to [0, 1].

    The distance ``1 - s`` (0 on the diagonal) is clustered with ``method`` linkage
    (``scipy.cluster.hierarchy.linkage``), average by default. The result is a deterministic
    function of ``S``; ties (e.g. the many pairs never confused, all at distance 1) are broken by
    scipy's algorithm, which depends only on the class order.

    Parameters
    ----------
    S : array_like, shape (m, m)
        Non-negative finite counts (or rates); m >= 2. Co-occurrence matrices must be symmetric.
    kind : {"confusion", "cooccurrence"}
    method : {"average", "complete", "single", "weighted"}
        Linkage method (methods that need Euclidean distances are not offered).

    Returns
    -------
    Z : ndarray, shape (m - 1, 4)
        Linkage matrix, leaves in the class order of ``S``.
    """
    if kind not in _BASELINE_KINDS:
        raise ValueError(f"kind must be one of {_BASELINE_KINDS}, got {kind!r}")
    if method not in _BASELINE_METHODS:
        raise ValueError(f"method must be one of {_BASELINE_METHODS}, got {method!r}")
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 2:
        raise ValueError(f"S must be a square matrix with at least 2 classes, got {S.shape}")
    if not np.isfinite(S).all():
        raise ValueError("S contains NaN or infinite values")
    if (S < 0).any():
        raise ValueError(f"S contains {int((S < 0).sum())} negative values")
    if kind == "confusion":
        freq = S.sum(axis=1)
        rates = S / np.where(freq > 0, freq, 1.0)[:, None]
        sim = (rates + rates.T) / 2.0
    else:
        if not np.allclose(S, S.T, rtol=1e-12, atol=0.0):
            raise ValueError("a co-occurrence matrix must be symmetric")
        norm = np.sqrt(np.outer(np.diag(S), np.diag(S)))
        sim = np.divide(S, norm, out=np.zeros_like(S), where=norm > 0)
        sim = np.clip((sim + sim.T) / 2.0, 0.0, 1.0)
    dist = 1.0 - sim
    np.fill_diagonal(dist, 0.0)
    return hierarchy.linkage(squareform(dist, checks=False), method=method)
