"""Seriation: a deterministic order of the classes of a similarity matrix (pure numpy/scipy).

A class-similarity matrix ``M`` (Pearson correlations between class-score columns) shows its
structure only when its rows and columns are ordered so that similar classes sit together: blocks
along the diagonal are groups, nested blocks are a hierarchy. This module computes such orders:

* :func:`hclust` -- hierarchical clustering (R's ``hclust``; the paper uses complete linkage on
  ``1 - M``), leaves ordered by optimal leaf ordering or a fast greedy alternative;
* :func:`spectral` -- the Fiedler vector of the graph Laplacian of the similarity (Atkins et al.);
* :func:`taxonomy_order` -- classes sorted by a taxonomy path, clustered within each group;
* :func:`given_order` -- an order supplied by the user (from a file:
  :mod:`classsim_spark.io.order_file`);
* :func:`choose` -- the (transform, distance, linkage) combination that an unsupervised criterion
  scores best, for ``--transform/--distance/--linkage auto``.

Every ordering function returns a :class:`Seriation`: the order, the tree when there is one,
and the parameters that produced it, so that a figure can be reproduced exactly. Orders are
deterministic: the same matrix gives bit-identical orders; each function documents how it breaks
ties.

Examples
--------
>>> M = np.array([[1.0, 0.9, 0.0, 0.0],
...               [0.9, 1.0, 0.0, 0.1],
...               [0.0, 0.0, 1.0, 0.8],
...               [0.0, 0.1, 0.8, 1.0]])
>>> hclust(M).order.tolist()   # pairs {0, 1}, {2, 3}; 1 and 3 (r = 0.1) meet at the seam
[0, 1, 3, 2]
>>> p = np.array([2, 0, 3, 1])  # the same classes shuffled: the same order comes back
>>> p[hclust(M[np.ix_(p, p)]).order].tolist()
[0, 1, 3, 2]
"""

from __future__ import annotations

import math
import numbers
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster import hierarchy
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist, squareform

from classsim_spark.core.symmetric import average_with_transpose

LINKAGES: tuple[str, ...] = ("complete", "average", "single", "weighted", "ward", "centroid")
DISTANCES: tuple[str, ...] = ("1-r", "profile")
METHODS: tuple[str, ...] = ("hclust", "spectral", "taxonomy", "given")
EUCLIDEAN_LINKAGES: tuple[str, ...] = ("ward", "centroid")
"""Linkages whose Lance-Williams updates assume Euclidean distances (see :func:`distances`)."""

OLO_MAX_LEAVES = 2000
"""``optimal_ordering="auto"`` runs the exact optimal leaf ordering up to this many classes.

Measured on one core (complete / average linkage on ``1 - M``, 128-factor random model; see
``docs/seriation.md``): 0.1 s at m = 500, 0.3-0.5 s at 1000, 3-4 s at 2000, 13 s at 3000,
75 s at 4000. Above the threshold the linear-time Gruvaeus-Wainer orientation
(:func:`greedy_leaf_ordering`, 0.03 s at m = 4000) is used instead.
"""

PDIST_MAX = 1000
"""Up to this many classes the profile distance is ``scipy.spatial.distance.pdist`` (exact);
above, the BLAS form ``sqrt(|a|^2 + |b|^2 - 2 a.b)`` (absolute error ~1e-16 * m in the square)."""

SPECTRAL_DENSE_MAX = 3000
"""Components up to this size get a dense eigensolver; larger ones use Lanczos (``eigsh``)."""

SYMMETRY_ATOL = 1e-9
_ROWS = 512  # rows per block when a pass over an m x m matrix must not copy it whole


@dataclass(frozen=True)
class Seriation:
    """An order of the classes and how it was obtained.

    Attributes
    ----------
    order : ndarray of int64, shape (m,)
        A permutation of ``range(m)``: the class shown at each position, left to right.
    Z : ndarray of float64, shape (m - 1, 4), or None
        A scipy linkage matrix whose ``scipy.cluster.hierarchy.leaves_list`` equals ``order``,
        when the order comes from one tree; else None.
    method : str
        One of :data:`METHODS`.
    params : dict
        JSON-serialisable parameters that reproduce the order (distance, linkage,
        clip_negative, the leaf ordering actually applied, timings, ...).
    """

    order: np.ndarray
    Z: np.ndarray | None
    method: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The order and parameters as a JSON-serialisable dict (the tree ``Z`` is saved apart).

        Examples
        --------
        >>> given_order([1, 0], ["a", "b"]).to_json()
        {'method': 'given', 'order': [1, 0], 'params': {'source': 'indices'}}
        """
        return {"method": self.method, "order": self.order.tolist(), "params": self.params}


# --------------------------------------------------------------------------------------------
# Validation and distances
# --------------------------------------------------------------------------------------------


_VALIDATED: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()
"""The matrices :func:`validate_similarity` returned and that are still alive, by ``id``."""


def is_validated_similarity(M) -> bool:
    """Whether ``M`` is a matrix :func:`validate_similarity` returned (read-only, so unchanged
    since): functions handed one skip their own checks and copies."""
    return isinstance(M, np.ndarray) and _VALIDATED.get(id(M)) is M


def validate_similarity(M, name: str = "M") -> np.ndarray:
    """Return ``M`` as a clean float64 similarity matrix, or raise ``ValueError`` saying why.

    A similarity matrix is square (at least 2 x 2), finite, symmetric within 1e-9, with a unit
    diagonal and entries in [-1, 1] (within 1e-9), as a correlation matrix is. The returned copy
    is exactly symmetric (``(M + M.T) / 2``), clipped to [-1, 1], with an exact unit diagonal, so
    that rounding never makes a distance negative or asymmetric. It is read-only, and given
    again it is returned as it is: the analysis checks and copies each m x m matrix once, then
    hands it to every function (at m = 5,000 it was checked nine times, 2.7 s).

    Parameters
    ----------
    M : array_like, shape (m, m)
    name : str
        Used in error messages.

    Returns
    -------
    ndarray of float64, shape (m, m)

    Examples
    --------
    >>> validate_similarity([[1.0, 0.5], [0.4, 1.0]])
    Traceback (most recent call last):
    ...
    ValueError: M is not symmetric: |M[0, 1] - M[1, 0]| = 0.1 > 1e-09
    """
    if is_validated_similarity(M):
        return M
    a = np.array(M, dtype=np.float64)  # a private copy, symmetrised in place below
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {a.shape}")
    m = a.shape[0]
    if m < 2:
        raise ValueError(f"{name} must have at least 2 classes, got {m}")
    # checked and averaged in one pass; the first failing tile pair sends us to the checks
    # below, which name the problem (the pairs averaged before it all passed them)
    if not average_with_transpose(a, tol=SYMMETRY_ATOL):
        _raise_invalid(a, name)
    _check_unit_diagonal(a, name)
    np.fill_diagonal(a, 1.0)
    a.flags.writeable = False
    _VALIDATED[id(a)] = a
    return a


def _check_unit_diagonal(a: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` unless every diagonal entry of ``a`` is 1 within the tolerance."""
    diag = np.abs(np.diagonal(a) - 1.0)
    if diag.max() > SYMMETRY_ATOL:
        i = int(np.argmax(diag))
        raise ValueError(
            f"{name} must have a unit diagonal (a correlation matrix): {name}[{i}, {i}] = "
            f"{float(a[i, i])!r}"
        )


def _raise_invalid(a: np.ndarray, name: str) -> None:
    """Raise the ``ValueError`` that says why ``a`` is not a similarity matrix."""
    m = a.shape[0]
    # in blocks of rows, so that m ~ 20k needs no m x m temporaries
    for i0 in range(0, m, _ROWS):
        blk = a[i0 : i0 + _ROWS]
        bad = ~np.isfinite(blk)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            total = int(np.sum(~np.isfinite(a)))
            raise ValueError(f"{name} has {total} non-finite entries, e.g. {name}[{i0 + i}, {j}]")
    _check_unit_diagonal(a, name)
    for i0 in range(0, m, _ROWS):
        blk, cols = a[i0 : i0 + _ROWS], a[:, i0 : i0 + _ROWS].T
        asym = np.abs(blk - cols)
        if asym.max() > SYMMETRY_ATOL:
            i, j = np.unravel_index(np.argmax(asym), asym.shape)
            i = i0 + int(i)
            raise ValueError(
                f"{name} is not symmetric: |{name}[{i}, {j}] - {name}[{j}, {i}]| = "
                f"{asym[i - i0, j]:.3g} > {SYMMETRY_ATOL:g}"
            )
        out = np.abs(blk).max(axis=1) - 1.0
        if out.max() > SYMMETRY_ATOL:
            i = int(np.argmax(out))
            j = int(np.argmax(np.abs(blk[i])))
            raise ValueError(
                f"{name} entries must lie in [-1, 1]: {name}[{i0 + i}, {j}] = {float(blk[i, j])!r}"
            )
    raise AssertionError(f"{name}: a tile pair failed the checks but no entry does")


def _check_choice(value, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {allowed}, got {value!r}")
    return value


def _check_combination(distance: str, linkage: str, clip_negative: bool) -> None:
    _check_choice(distance, DISTANCES, "distance")
    _check_choice(linkage, LINKAGES, "linkage")
    if linkage in EUCLIDEAN_LINKAGES and distance == "1-r" and clip_negative:
        raise ValueError(
            f"linkage={linkage!r} needs Euclidean distances; with distance='1-r' they are "
            "sqrt(2 (1 - r)), which is Euclidean only for a true correlation matrix, and "
            "clip_negative=True makes it none. Use distance='profile' (rows of the clipped "
            "matrix are points in R^m) or clip_negative=False."
        )


def _prepared(M: np.ndarray, clip_negative: bool) -> np.ndarray:
    return np.maximum(M, 0.0) if clip_negative else M


def _profile_condensed(S: np.ndarray) -> np.ndarray:
    m = S.shape[0]
    if m <= PDIST_MAX:
        return pdist(S)
    sq = np.einsum("ij,ij->i", S, S)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (S @ S)  # S is symmetric: S @ S == S @ S.T
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    d2 = (d2 + d2.T) / 2.0
    return np.sqrt(squareform(d2, checks=False))


def _condensed(M: np.ndarray, distance: str, clip_negative: bool, euclidean: bool) -> np.ndarray:
    """Condensed distances of an already validated matrix (see :func:`distances`)."""
    if distance == "profile":
        return _profile_condensed(_prepared(M, clip_negative))
    m = M.shape[0]
    d = np.empty(m * (m - 1) // 2)
    start = 0
    for i in range(m - 1):  # row by row: no m x m temporary
        row = M[i, i + 1 :]
        d[start : start + len(row)] = 1.0 - (np.maximum(row, 0.0) if clip_negative else row)
        start += len(row)
    np.maximum(d, 0.0, out=d)
    if euclidean:
        d *= 2.0
        np.sqrt(d, out=d)
    return d


def distances(M, distance: str = "1-r", clip_negative: bool = False, *, euclidean=False):
    """Condensed pairwise distances between classes, as ``scipy.cluster.hierarchy`` takes them.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix, validated by :func:`validate_similarity`.
    distance : {"1-r", "profile"}
        ``"1-r"``: ``1 - M[i, j]`` (R's ``hclust(as.dist(1 - M))``, the paper's choice), in
        [0, 2]. ``"profile"``: the Euclidean distance between rows ``i`` and ``j`` of ``M``
        (R's ``hclust(dist(M))``, the authors' notebook): two classes are close when they
        resemble the *same other* classes, even if their own correlation is moderate.
    clip_negative : bool
        Replace negative similarities by 0 first (``max(M, 0)``): anti-correlated classes then
        count as merely unrelated, which sharpens blocks when many small negative correlations
        (e.g. from softmax competition) blur them. With ``"1-r"`` every negative pair gets
        distance exactly 1; with ``"profile"`` the rows of the clipped matrix are compared.
    euclidean : bool
        Ask for distances that are Euclidean, as ward and centroid linkage assume. ``"profile"``
        already is. For ``"1-r"`` this returns ``sqrt(2 (1 - r))``: the Euclidean distance
        between the two score columns standardised to mean 0 and unit norm (``|z_i - z_j|^2 =
        2 - 2 r``). It is a monotone map of ``1 - r``, so it changes only linkages that add or
        average distances. Not allowed with ``clip_negative`` (the result is not Euclidean).

    Returns
    -------
    ndarray of float64, shape (m (m - 1) / 2,)
        Non-negative; ordered as :func:`scipy.spatial.distance.squareform` expects.

    Examples
    --------
    >>> M = np.array([[1.0, 0.5, -0.2], [0.5, 1.0, 0.0], [-0.2, 0.0, 1.0]])
    >>> distances(M).tolist()
    [0.5, 1.2, 1.0]
    >>> distances(M, clip_negative=True).tolist()
    [0.5, 1.0, 1.0]
    >>> np.allclose(distances(M, "profile"), pdist(M))
    True
    """
    M = validate_similarity(M)
    _check_choice(distance, DISTANCES, "distance")
    if euclidean and distance == "1-r" and clip_negative:
        _check_combination(distance, "ward", clip_negative)
    return _condensed(M, distance, bool(clip_negative), bool(euclidean))


# --------------------------------------------------------------------------------------------
# Hierarchical clustering and leaf ordering
# --------------------------------------------------------------------------------------------


def _pair_distance(d: np.ndarray, m: int, i: int, j: int) -> float:
    """``squareform(d)[i, j]`` without building the square matrix."""
    if i == j:
        return 0.0
    if i > j:
        i, j = j, i
    return float(d[m * i - i * (i + 1) // 2 + j - i - 1])


def _row_sum(d: np.ndarray, m: int, i: int) -> float:
    """``squareform(d)[i].sum()`` in O(m) without building the square matrix."""
    j = np.arange(i)
    before = d[m * j - j * (j + 1) // 2 + i - j - 1].sum() if i else 0.0
    start = m * i - i * (i + 1) // 2
    return float(before + d[start : start + m - 1 - i].sum())


def _left_end_first(d: np.ndarray, m: int, first: int, last: int) -> bool:
    """Orientation rule: True when ``first`` should stay the left end of the order.

    The end class with the smaller total distance to all classes (the more central one) goes
    left; on a tie (relative 1e-12), the smaller class index. Unlike an index rule alone, this
    makes the order follow the classes when the input is permuted.
    """
    a, b = _row_sum(d, m, first), _row_sum(d, m, last)
    if abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300):
        return first < last
    return a < b


def _tree_and_distances(Z, d) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate a linkage matrix against its condensed distances; return them and m."""
    Z = np.asarray(Z, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    m = Z.shape[0] + 1
    if d.shape != (m * (m - 1) // 2,):
        raise ValueError(f"linkage has {m} leaves but the distances have {d.shape[0]} pairs")
    return Z, d, m


def greedy_leaf_ordering(Z, d) -> np.ndarray:
    """Orient every merge of a tree so that the two leaves meeting at its seam are close.

    The Gruvaeus-Wainer (1972) heuristic, a linear-time stand-in for optimal leaf ordering on
    large trees: bottom-up, each merge of clusters ``A`` and ``B`` is laid out as one of ``A B``,
    ``A B'``, ``A' B``, ``A' B'`` (``'`` = reversed), whichever puts the closest pair of end
    leaves next to each other. Ties go to the first of those four, and the whole order is
    oriented as in :func:`optimal_leaf_ordering`, so the result is a deterministic function of
    ``Z`` and ``d``. The tree (merges and heights) is unchanged.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        A scipy linkage matrix.
    d : ndarray, shape (m (m - 1) / 2,)
        The condensed distances the tree was built from.

    Returns
    -------
    ndarray, shape (m - 1, 4)
        ``Z`` with the two children of some merges swapped; its ``leaves_list`` is the new
        order.

    Examples
    --------
    >>> d = pdist(np.array([[0.0], [10.0], [1.0], [11.0]]))
    >>> Z = hierarchy.linkage(d, "single")
    >>> hierarchy.leaves_list(greedy_leaf_ordering(Z, d)).tolist()  # points 0, 1, 10, 11
    [0, 2, 1, 3]
    """
    Z, d, m = _tree_and_distances(Z, d)
    first = np.arange(2 * m - 1)
    last = np.arange(2 * m - 1)
    flips = np.zeros((m - 1, 2), dtype=bool)
    children = Z[:, :2].astype(np.int64)
    for k, (a, b) in enumerate(children):
        best, best_cost = (False, False), math.inf
        for ra, rb in ((False, False), (False, True), (True, False), (True, True)):
            seam_a = first[a] if ra else last[a]
            seam_b = last[b] if rb else first[b]
            cost = _pair_distance(d, m, int(seam_a), int(seam_b))
            if cost < best_cost:
                best, best_cost = (ra, rb), cost
        ra, rb = best
        flips[k] = best
        first[m + k] = last[a] if ra else first[a]
        last[m + k] = first[b] if rb else last[b]
    # Top-down: a reversed node lists its children swapped and each of them reversed once more.
    reversed_ = np.zeros(2 * m - 1, dtype=bool)
    reversed_[2 * m - 2] = not _left_end_first(d, m, int(first[-1]), int(last[-1]))
    out = Z.copy()
    for k in range(m - 2, -1, -1):
        a, b = children[k]
        ra, rb = flips[k]
        if reversed_[m + k]:
            out[k, 0], out[k, 1] = b, a
            reversed_[a], reversed_[b] = not ra, not rb
        else:
            reversed_[a], reversed_[b] = ra, rb
    return out


_MINPLUS_CHUNK = 1 << 22  # elements of the (rows, inner, cols) temporary of a min-plus product


def _minplus(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Min-plus matrix product ``out[i, j] = min_k X[i, k] + Y[k, j]``, in bounded memory."""
    a, b = X.shape
    c = Y.shape[1]
    out = np.empty((a, c))
    rows = max(1, _MINPLUS_CHUNK // max(1, b * c))
    for s in range(0, a, rows):
        out[s : s + rows] = (X[s : s + rows, :, None] + Y[None, :, :]).min(axis=1)
    return out


def optimal_leaf_ordering(Z, d) -> np.ndarray:
    """Flip the branches of a tree so that the sum of distances between neighbours is minimal.

    Exact dynamic programme of Bar-Joseph, Gifford & Jaakkola (2001): for every merge ``v`` of
    clusters ``A`` and ``B`` and every pair of end leaves ``i`` in ``A``, ``j`` in ``B``, the
    cheapest layout of ``v`` that starts at ``i`` and ends at ``j`` is
    ``min over h in A, h' in B of cost_A(i, h) + d(h, h') + cost_B(h', j)``, two min-plus
    matrix products; a backward pass reads off the flips. Time about O(m^3) with numpy's
    vectorised inner loops; memory O(m^2) (each leaf pair is stored at its lowest common merge).

    This replaces ``scipy.cluster.hierarchy.optimal_leaf_ordering``, which (scipy 1.17) can
    return a non-optimal order (scipy issue #11227) and is slower. Ties between equally cheap
    layouts go to the first pair in the tree's leaf order, and the left end of the whole order
    is the smaller class index of the two ends, so the result is deterministic.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        A scipy linkage matrix.
    d : ndarray, shape (m (m - 1) / 2,)
        The condensed distances whose neighbour sum is minimised (usually those of the tree).

    Returns
    -------
    ndarray, shape (m - 1, 4)
        ``Z`` with the children of some merges swapped; its ``leaves_list`` is the order.

    Examples
    --------
    >>> D = np.array([[0.0, 0.467, 0.775, 0.799], [0.467, 0.0, 0.286, 0.684],
    ...               [0.775, 0.286, 0.0, 0.747], [0.799, 0.684, 0.747, 0.0]])
    >>> d = squareform(D)
    >>> Z = hierarchy.linkage(d, "complete")
    >>> hierarchy.leaves_list(optimal_leaf_ordering(Z, d)).tolist()  # neighbour sum 1.500
    [0, 1, 2, 3]
    """
    Z, d, m = _tree_and_distances(Z, d)
    if m <= 2:
        return Z.copy()
    D = squareform(d, checks=False)
    children = Z[:, :2].astype(np.int64)
    leaves: list = [np.array([i]) for i in range(m)] + [None] * (m - 1)
    # block[v][p, q]: cheapest layout of merge v starting at leaves[a][p], ending at leaves[b][q]
    block: list = [None] * (2 * m - 1)

    def cost_from(x: int, T: np.ndarray) -> np.ndarray:
        """``min_h cost_x(i, h) + T[h, :]`` for every leaf i of x (T rows: leaves of x)."""
        if x < m:
            return T
        a, _ = children[x - m]
        na = len(leaves[a])
        B = block[x]
        return np.concatenate([_minplus(B, T[na:]), _minplus(B.T, T[:na])])

    for k, (a, b) in enumerate(children):
        Dab = D[np.ix_(leaves[a], leaves[b])]
        # T[h, j] = min_h' d(h, h') + cost_b(h', j), then block = min_h cost_a(i, h) + T[h, j]
        T = cost_from(b, Dab.T).T
        block[m + k] = cost_from(a, T)
        leaves[m + k] = np.concatenate([leaves[a], leaves[b]])

    def cost_row(x: int, i: int) -> np.ndarray:
        """cost_x(i, h) for every leaf h of x, in leaves[x] order (inf: not a valid end)."""
        if x < m:
            return np.zeros(1)
        a, _ = children[x - m]
        na = len(leaves[a])
        B = block[x]
        row = np.full(len(leaves[x]), np.inf)
        p = np.flatnonzero(leaves[x] == i)[0]
        if p < na:
            row[na:] = B[p]
        else:
            row[:na] = B[:, p - na]
        return row

    root = 2 * m - 2
    p, q = np.unravel_index(np.argmin(block[root]), block[root].shape)
    a, b = children[root - m]
    i, j = int(leaves[a][p]), int(leaves[b][q])
    if not _left_end_first(d, m, i, j):
        i, j = j, i
    swap = np.zeros(m - 1, dtype=bool)
    stack = [(root, i, j)]
    while stack:
        v, i, j = stack.pop()
        if v < m:
            continue
        a, b = children[v - m]
        if not np.any(leaves[a] == i):
            swap[v - m] = True
            a, b = b, a
        total = cost_row(a, i)[:, None] + D[np.ix_(leaves[a], leaves[b])] + cost_row(b, j)[None, :]
        p, q = np.unravel_index(np.argmin(total), total.shape)
        stack.append((a, i, int(leaves[a][p])))
        stack.append((b, int(leaves[b][q]), j))
    out = Z.copy()
    out[swap, 0], out[swap, 1] = Z[swap, 1], Z[swap, 0]
    return out


def _leaf_ordering(Z, d, m: int, optimal_ordering) -> tuple[np.ndarray, str]:
    if isinstance(optimal_ordering, str):
        choice = _check_choice(
            optimal_ordering, ("auto", "optimal", "greedy", "none"), "optimal_ordering"
        )
    elif isinstance(optimal_ordering, bool | np.bool_):
        choice = "optimal" if optimal_ordering else "none"
    else:
        raise ValueError(
            "optimal_ordering must be True, False, 'auto', 'optimal', 'greedy' or 'none', got "
            f"{optimal_ordering!r}"
        )
    if choice == "auto":
        choice = "optimal" if m <= OLO_MAX_LEAVES else "greedy"
    if choice == "optimal" and m > 2:
        return optimal_leaf_ordering(Z, d), choice
    if choice == "greedy":
        return greedy_leaf_ordering(Z, d), choice
    return Z, choice


def _linkage(M: np.ndarray, distance: str, linkage: str, clip_negative: bool):
    d = _condensed(M, distance, clip_negative, euclidean=linkage in EUCLIDEAN_LINKAGES)
    return hierarchy.linkage(d, method=linkage), d


def hclust(
    M,
    distance: str = "1-r",
    linkage: str = "complete",
    clip_negative: bool = False,
    optimal_ordering="auto",
) -> Seriation:
    """Order classes by the leaves of a hierarchical clustering tree.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix (see :func:`validate_similarity`).
    distance : {"1-r", "profile"}
        See :func:`distances`.
    linkage : {"complete", "average", "single", "weighted", "ward", "centroid"}
        As ``scipy.cluster.hierarchy.linkage`` (R's ``hclust`` methods; ``ward`` is R's
        ``ward.D2``). ``ward`` and ``centroid`` assume Euclidean distances: with ``"1-r"`` they
        run on ``sqrt(2 (1 - r))`` (the distance between standardised columns), with
        ``"profile"`` on the profile distance as it is. Centroid trees can have inversions
        (a merge lower than an earlier one); their cuts follow the merge order.
    clip_negative : bool
        See :func:`distances`. Not allowed for ward/centroid with ``"1-r"``.
    optimal_ordering : {"auto", "optimal", "greedy", "none"} or bool
        How to flip the tree's branches, which the tree itself leaves free. ``"optimal"``
        (True): optimal leaf ordering (Bar-Joseph et al. 2001), minimising the sum of
        distances between neighbours exactly (:func:`optimal_leaf_ordering`; scipy's own
        version is not always optimal, scipy issue #11227); it makes the order a canonical
        function of the tree and the distances, but costs about O(m^3). ``"greedy"``:
        :func:`greedy_leaf_ordering`, linear. ``"none"`` (False): scipy's own child order.
        ``"auto"``: optimal up to :data:`OLO_MAX_LEAVES` classes, greedy above.
        ``params["leaf_ordering"]`` records which ran.

    Returns
    -------
    Seriation
        ``method="hclust"``, the linkage matrix (its ``leaves_list`` is ``order``), and params
        ``distance, linkage, clip_negative, optimal_ordering, leaf_ordering, distance_used``
        (no timings, so equal inputs give byte-identical exported orders).

    Notes
    -----
    Deterministic: scipy's linkage is a deterministic function of the condensed distances (ties
    between equal distances go to the pair met first in input order), and the leaf orderings
    are too (see :func:`greedy_leaf_ordering` for its ties). Permuting the input classes can
    change which of several *equally* close pairs merges first, but nothing else.

    Centroid linkage here is scipy's: the Lance-Williams update on squared Euclidean distances,
    i.e. true cluster centroids. R's ``hclust(dist(M), "centroid")`` (the authors' notebook)
    applies the update to the unsquared distances it is given; its merges equal scipy's
    centroid linkage on ``sqrt(profile distance)`` (heights squared), not this tree.

    Examples
    --------
    >>> M = np.array([[1.0, 0.1, 0.8], [0.1, 1.0, 0.2], [0.8, 0.2, 1.0]])
    >>> s = hclust(M)
    >>> s.order.tolist(), s.params["leaf_ordering"]
    ([0, 2, 1], 'optimal')
    """
    M = validate_similarity(M)
    clip_negative = bool(clip_negative)
    _check_combination(distance, linkage, clip_negative)
    Z, d = _linkage(M, distance, linkage, clip_negative)
    Z, leaf_ordering = _leaf_ordering(Z, d, M.shape[0], optimal_ordering)
    used = "sqrt(2(1-r))" if distance == "1-r" and linkage in EUCLIDEAN_LINKAGES else distance
    params = {
        "distance": distance,
        "linkage": linkage,
        "clip_negative": clip_negative,
        "optimal_ordering": optimal_ordering
        if isinstance(optimal_ordering, str)
        else bool(optimal_ordering),
        "leaf_ordering": leaf_ordering,
        "distance_used": used,
    }
    return Seriation(hierarchy.leaves_list(Z).astype(np.int64), Z, "hclust", params)


# --------------------------------------------------------------------------------------------
# Spectral seriation
# --------------------------------------------------------------------------------------------


def _fiedler(W: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Fiedler vector of the Laplacian of a connected weighted graph, with lambda_2, lambda_3."""
    n = W.shape[0]
    if n <= SPECTRAL_DENSE_MAX:
        from scipy.linalg import eigh

        L = np.diag(W.sum(axis=1)) - W

        top = min(2, n - 1)
        vals, vecs = eigh(L, subset_by_index=[0, top], driver="evx")
    else:
        from scipy.sparse.linalg import LinearOperator, eigsh

        # Lanczos on P (c I - L) P, P the projector orthogonal to the constant vector (L's null
        # vector): its largest eigenvalues are c - lambda_2, c - lambda_3 (c >= lambda_max by
        # Gershgorin). A fixed start vector makes the result deterministic.
        deg = W.sum(axis=1)
        c = 2.0 * float(deg.max())

        def matvec(x: np.ndarray) -> np.ndarray:
            x = np.ravel(x) - np.mean(x)
            y = c * x - (deg * x - W @ x)
            return y - y.mean()

        op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal((n,))
        mu, vecs = eigsh(op, k=2, which="LA", v0=v0 - v0.mean(), tol=1e-10)
        idx = np.argsort(-mu, kind="stable")
        vals = np.concatenate([[0.0], c - mu[idx]])
        vecs = np.column_stack([np.full(n, 1 / math.sqrt(n)), vecs[:, idx]])
    v = vecs[:, 1]
    lam3 = float(vals[2]) if len(vals) > 2 else math.inf
    return v, float(vals[1]), lam3


def _orient(v: np.ndarray) -> np.ndarray:
    """Sign of an eigenvector fixed so that its entry of largest magnitude is positive."""
    big = np.abs(v)
    k = int(np.flatnonzero(big >= big.max() * (1 - 1e-9))[0])
    return -v if v[k] < 0 else v


def spectral(M, clip_negative: bool = True) -> Seriation:
    """Order classes by the Fiedler vector of the similarity graph's Laplacian.

    Spectral seriation (Atkins, Boman & Hendrickson 1998): with non-negative weights ``W``, the
    eigenvector of the second-smallest eigenvalue of ``L = diag(W 1) - W`` minimises
    ``sum W_ij (x_i - x_j)^2`` over unit vectors orthogonal to the constant; sorting it
    recovers the order of a Robinson matrix (similarities that decrease away from the
    diagonal) exactly. It sees the whole matrix at once, not pairs of clusters as a tree does.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix (see :func:`validate_similarity`).
    clip_negative : bool
        True: weights ``max(M, 0)``, negative similarities ignored. False: weights
        ``(1 + M) / 2``, an affine map into [0, 1] that keeps every pair (the Laplacian needs
        non-negative weights either way).

    Returns
    -------
    Seriation
        ``method="spectral"``, no linkage; params ``clip_negative, weights, components``
        (sizes, in output order) and ``fiedler_gaps`` (``lambda_3 - lambda_2`` per component
        of 3+ classes: a gap near 0 means the order within that component is ill-determined).

    Notes
    -----
    Deterministic rules: classes in different connected components of the weight graph (after
    clipping) have no relation, so each component is ordered on its own and the components are
    laid out largest first, ties by their smallest class index. Within a component, the
    Fiedler vector's sign is fixed so that its entry of largest magnitude (first such index) is
    positive, and classes are sorted by it with a stable sort (equal entries keep index order).

    Examples
    --------
    >>> idx = np.arange(5)
    >>> chain = 0.5 ** np.abs(idx[:, None] - idx[None, :])   # a Robinson matrix
    >>> p = np.array([3, 0, 4, 1, 2])
    >>> order = spectral(chain[np.ix_(p, p)]).order
    >>> p[order].tolist() in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0])
    True
    """
    M = validate_similarity(M)
    clip_negative = bool(clip_negative)
    W = np.maximum(M, 0.0) if clip_negative else (1.0 + M) / 2.0
    np.fill_diagonal(W, 0.0)
    n_comp, labels = connected_components(W > 0, directed=False)
    comps = [np.flatnonzero(labels == c) for c in range(n_comp)]
    comps.sort(key=lambda c: (-len(c), int(c[0])))
    parts, gaps = [], []
    for members in comps:
        if len(members) <= 2:
            parts.append(members)
            continue
        v, lam2, lam3 = _fiedler(W[np.ix_(members, members)])
        v = _orient(v)
        parts.append(members[np.argsort(v, kind="stable")])
        gaps.append(round(lam3 - lam2, 12) if math.isfinite(lam3) else None)
    params = {
        "clip_negative": clip_negative,
        "weights": "max(M, 0)" if clip_negative else "(1 + M) / 2",
        "laplacian": "unnormalised",
        "components": [len(c) for c in comps],
        "fiedler_gaps": gaps,
    }
    return Seriation(np.concatenate(parts).astype(np.int64), None, "spectral", params)


# --------------------------------------------------------------------------------------------
# Taxonomy and given orders
# --------------------------------------------------------------------------------------------


def taxonomy_order(M, groups: Sequence[Sequence[str]], **hclust_kwargs) -> Seriation:
    """Sort classes by their taxonomy path, and cluster the classes within each finest group.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix (see :func:`validate_similarity`).
    groups : sequence of m sequences of str
        ``groups[j]`` is class ``j``'s path from the coarsest level to the finest, e.g.
        ``("vehicle", "road")``. Paths may differ in length; entries are compared as strings.
    **hclust_kwargs
        Passed to :func:`hclust` for the classes within one finest group (distance, linkage,
        clip_negative, optimal_ordering).

    Returns
    -------
    Seriation
        ``method="taxonomy"``, no linkage; params ``levels`` (longest path), ``within`` (the
        hclust parameters) and ``spans``: one ``{"path": [...], "start": s, "stop": e}`` per
        finest group, in order (positions ``s <= k < e``).

    Notes
    -----
    Groups are ordered lexicographically by path (Python's tuple order of strings, so a path
    that is a prefix of another sorts first), which keeps every group of every level
    contiguous. Within a group of three or more classes the order is that of :func:`hclust` on
    the group's sub-matrix; groups of one or two keep class-index order.

    Examples
    --------
    >>> M = np.eye(4)
    >>> taxonomy_order(M, [("b",), ("a",), ("b",), ("a",)]).order.tolist()
    [1, 3, 0, 2]
    """
    M = validate_similarity(M)
    m = M.shape[0]
    unknown = sorted(
        set(hclust_kwargs) - {"distance", "linkage", "clip_negative", "optimal_ordering"}
    )
    if unknown:
        raise TypeError(f"taxonomy_order got unexpected hclust options {unknown}")
    if isinstance(groups, str | bytes) or len(groups) != m:
        raise ValueError(
            f"groups must hold one taxonomy path per class ({m}), got "
            f"{len(groups) if not isinstance(groups, str | bytes) else 'a string'}"
        )
    paths = []
    for j, path in enumerate(groups):
        if isinstance(path, str | bytes) or not isinstance(path, Sequence) or len(path) == 0:
            raise ValueError(f"groups[{j}] must be a non-empty tuple of group names, got {path!r}")
        paths.append(tuple(str(p) for p in path))
    unique = sorted(set(paths))
    within = None
    order: list[int] = []
    spans: list[dict[str, Any]] = []
    for path in unique:
        members = np.array([j for j in range(m) if paths[j] == path], dtype=np.int64)
        if len(members) >= 3:
            sub = hclust(M[np.ix_(members, members)], **hclust_kwargs)
            within = dict(sub.params)
            members = members[sub.order]
        spans.append({"path": list(path), "start": len(order), "stop": len(order) + len(members)})
        order.extend(members.tolist())
    if within is None:  # validate the options even when no group needed clustering
        _check_combination(
            hclust_kwargs.get("distance", "1-r"),
            hclust_kwargs.get("linkage", "complete"),
            bool(hclust_kwargs.get("clip_negative", False)),
        )
        within = dict(hclust_kwargs)
    params = {"levels": max(len(p) for p in paths), "within": within, "spans": spans}
    return Seriation(np.array(order, dtype=np.int64), None, "taxonomy", params)


def _preview(items: list, k: int = 5) -> str:
    shown = ", ".join(repr(x) for x in items[:k])
    return shown + (f", ... ({len(items)} in all)" if len(items) > k else "")


def given_order(order_or_names, class_names: Sequence[str]) -> Seriation:
    """Use an order given as class indices or class names; it must be a permutation.

    Parameters
    ----------
    order_or_names : sequence of int or sequence of str
        All integers (class indices, 0-based) or all strings (class names).
    class_names : sequence of str
        The m class names, in class-index order.

    Returns
    -------
    Seriation
        ``method="given"``, no linkage; params ``source`` (``"indices"`` or ``"names"``).

    Raises
    ------
    ValueError
        Naming the unknown, duplicate and missing entries (a few of each, with counts).

    Examples
    --------
    >>> given_order(["b", "c", "a"], ["a", "b", "c"]).order.tolist()
    [1, 2, 0]
    >>> given_order(["b", "b", "x"], ["a", "b", "c"])
    Traceback (most recent call last):
    ...
    ValueError: given order is not a permutation of the 3 classes: unknown: 'x'; duplicate: \
'b'; missing: 'a', 'c'
    """
    names = [str(n) for n in class_names]
    m = len(names)
    if len(set(names)) != m:
        raise ValueError("class_names contain duplicates")
    items = list(order_or_names)
    if not items:
        raise ValueError(f"given order is empty; expected a permutation of the {m} classes")
    if all(isinstance(x, str) for x in items):
        index = {n: j for j, n in enumerate(names)}
        label: Callable[[Any], object]
        source, label = "names", (lambda j: names[j])
        unknown = [x for x in items if x not in index]
        idx = [index[x] for x in items if x in index]
    elif all(isinstance(x, numbers.Integral) and not isinstance(x, bool | np.bool_) for x in items):
        source, label = "indices", int
        unknown = [int(x) for x in items if not 0 <= x < m]
        idx = [int(x) for x in items if 0 <= x < m]
    else:
        kinds = sorted({type(x).__name__ for x in items})
        raise ValueError(f"given order must be all class indices or all class names, got {kinds}")
    counts = np.bincount(np.array(idx, dtype=np.int64), minlength=m)
    duplicate = [label(j) for j in np.flatnonzero(counts > 1)]
    missing = [label(j) for j in np.flatnonzero(counts == 0)]
    problems = [
        f"{what}: {_preview(xs)}"
        for what, xs in (("unknown", unknown), ("duplicate", duplicate), ("missing", missing))
        if xs
    ]
    if problems:
        raise ValueError(
            f"given order is not a permutation of the {m} classes: " + "; ".join(problems)
        )
    return Seriation(np.array(idx, dtype=np.int64), None, "given", {"source": source})


# --------------------------------------------------------------------------------------------
# Automatic choice of transform, distance and linkage
# --------------------------------------------------------------------------------------------

CHOOSE_MAX_CLASSES = 2000
"""Above this many classes :func:`choose` fits its candidate trees on a fixed random subset of
this many classes (the normality of the similarity values still uses every pair)."""

CRITERIA: tuple[str, ...] = ("fixed", "normality>cophenetic")
"""Rules :func:`choose` knows. ``"fixed"`` (the default) takes :data:`FIXED_CHOICE`;
``"normality>cophenetic"`` picks the most normal transform, then the tree that preserves its
similarities best. docs/seriation.md compares them on real classifiers."""

FIXED_CHOICE: dict[str, str] = {"transform": "logit", "distance": "1-r", "linkage": "average"}
"""The combination of the ``"fixed"`` criterion: the one whose trees recovered the taxonomies of
real classifiers best, leave-one-data-set-out (benchmarks/fidelity.py, docs/seriation.md)."""

_TRANSFORM_ORDER = ("logit", "probability", "rank")


def normality(M) -> dict:
    """How far the off-diagonal similarity values are from a normal distribution.

    The method's paper recommends the transform whose similarity values look most normal: a
    near-normal spread of similarities shows both small and large groups, whereas a skewed,
    heavy-tailed one (typical of raw softmax probabilities) is dominated by a few large pairs.
    The departure is the Jarque-Bera statistic per value, ``skewness^2 + excess_kurtosis^2 /
    4`` (0 for a normal distribution), which is cheap for millions of pairs.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix (see :func:`validate_similarity`).

    Returns
    -------
    dict
        ``skewness``, ``excess_kurtosis`` and ``departure`` (floats; all 0 when the values are
        constant).

    Examples
    --------
    >>> M = np.array([[1.0, 0.2, 0.1], [0.2, 1.0, 0.3], [0.1, 0.3, 1.0]])
    >>> n = normality(M)  # values 0.1, 0.2, 0.3: not skewed, flat (excess kurtosis -1.5)
    >>> round(n["excess_kurtosis"], 4), round(n["departure"], 4)
    (-1.5, 0.5625)
    """
    return _normality(validate_similarity(M))


def _normality(M: np.ndarray) -> dict:
    """Moments of the upper-triangle values, two passes over rows (no copy of the triangle)."""
    m = M.shape[0]
    count = m * (m - 1) / 2
    mean = sum(float(M[i, i + 1 :].sum()) for i in range(m - 1)) / count
    c2 = c3 = c4 = 0.0
    for i in range(m - 1):
        z = M[i, i + 1 :] - mean
        z2 = z * z
        c2 += float(z2.sum())
        c3 += float((z2 * z).sum())
        c4 += float((z2 * z2).sum())
    var = c2 / count
    if var <= 1e-30 * max(1.0, mean * mean):
        skewness = kurt = 0.0
    else:
        skewness = c3 / count / var**1.5
        kurt = c4 / count / var**2 - 3.0
    return {"skewness": skewness, "excess_kurtosis": kurt, "departure": skewness**2 + kurt**2 / 4.0}


def _options(values, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    vals = (values,) if isinstance(values, str) else tuple(values)
    if not vals:
        raise ValueError(f"{what} must name at least one option or 'auto'")
    if "auto" in vals:
        return allowed
    for v in vals:
        _check_choice(v, allowed, what)
    return tuple(dict.fromkeys(vals))


def _inversions(Z: np.ndarray) -> int:
    """Merges lower than one of their children's (centroid trees can have them)."""
    m = Z.shape[0] + 1
    height = np.concatenate([np.zeros(m), Z[:, 2]])
    kids = Z[:, :2].astype(np.int64)
    return int(np.sum(Z[:, 2] < np.maximum(height[kids[:, 0]], height[kids[:, 1]]) - 1e-12))


def choose(
    matrices: dict,
    transforms=("auto",),
    distances=("auto",),
    linkages=("auto",),
    *,
    criterion: str = "fixed",
    clip_negative: bool = False,
    max_classes: int = CHOOSE_MAX_CLASSES,
    seed: int = 0,
) -> tuple[dict, list[dict]]:
    """Pick a (transform, distance, linkage) combination without taxonomy or labels.

    Every candidate combination is scored (normality of its transform's similarities, the
    cophenetic correlation of its tree), then ``criterion`` picks one:

    ``"fixed"`` (default)
        :data:`FIXED_CHOICE`, ``logit`` (log-probabilities for softmax models), ``1-r``,
        ``average`` linkage (UPGMA): on real classifiers it recovered the known taxonomies
        better than the method paper's complete linkage and than choosing by normality, judged
        leave-one-data-set-out (``benchmarks/fidelity.py``, ``docs/seriation.md``). A dimension
        the caller fixed takes the caller's value; when ``logit`` is not among the matrices,
        the transform falls back to the most normal one.
    ``"normality>cophenetic"``
        1. **transform**: the one whose off-diagonal similarity values are closest to normal
           (smallest :func:`normality` departure), the method paper's recommendation;
        2. **distance and linkage**: on that transform's matrix, the tree whose cophenetic
           distances (merge heights) correlate best (Pearson) with ``1 - M`` -- Sokal &
           Rohlf's cophenetic correlation against one common reference, so that trees built on
           different distances compare fairly.

    Parameters
    ----------
    matrices : dict of str to array_like
        One similarity matrix per transform (``"logit"``, ``"probability"``, ``"rank"``; other
        names are allowed), all over the same m classes.
    transforms, distances, linkages : str or sequence of str
        Candidates; ``"auto"`` (the default) means all: every key of ``matrices``, every
        :data:`DISTANCES`, every :data:`LINKAGES`. A single fixed value restricts that
        dimension, e.g. ``transforms=("rank",)`` chooses only the distance and linkage.
    criterion : {"fixed", "normality>cophenetic"}
        The rule (:data:`CRITERIA`).
    clip_negative : bool
        Used for every candidate tree (and the reference ``1 - max(M, 0)``); ward and centroid
        with ``"1-r"`` are then skipped (see :func:`distances`).
    max_classes : int
        Above this many classes, the trees are fitted on a fixed random subset of
        ``max_classes`` classes (``numpy.random.default_rng(seed)``, the same for every
        candidate), keeping ``choose`` to seconds at m ~ 4000.
    seed : int
        Seed of that subset.

    Returns
    -------
    chosen : dict
        ``transform, distance, linkage, criterion, score`` (the cophenetic correlation),
        ``normality`` (the transform's departure), ``clip_negative``, ``classes_used``.
    candidates : list of dict
        One dict per combination, in the order transforms x distances x linkages:
        ``transform, distance, linkage, skewness, excess_kurtosis, normality, cophenetic``
        (against ``1 - M``), ``cophenetic_own`` (against the distance the tree was built
        on), ``inversions``, ``classes_used``, ``skipped`` (a reason, or None). Deterministic:
        equal inputs give equal lists (no timings); ties go to the earlier candidate.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 6)) + np.repeat(rng.normal(size=(500, 2)), 3, axis=1)
    >>> M = np.corrcoef(x, rowvar=False)
    >>> chosen, candidates = choose({"logit": M, "rank": M ** 3})
    >>> chosen["transform"], chosen["linkage"], len(candidates)
    ('logit', 'average', 24)
    """
    if not isinstance(matrices, dict) or not matrices:
        raise ValueError("matrices must be a non-empty dict: transform name -> similarity matrix")
    criterion = _check_choice(criterion, CRITERIA, "criterion")
    names = tuple(
        sorted(
            matrices,
            key=lambda t: (
                _TRANSFORM_ORDER.index(t) if t in _TRANSFORM_ORDER else len(_TRANSFORM_ORDER),
                t,
            ),
        )
    )
    t_opts = _options(transforms, names, "transform")
    d_opts = _options(distances, DISTANCES, "distance")
    l_opts = _options(linkages, LINKAGES, "linkage")
    clip_negative = bool(clip_negative)
    if int(max_classes) < 3:
        raise ValueError(f"max_classes must be >= 3, got {max_classes!r}")
    mats = {t: validate_similarity(matrices[t], name=f"matrices[{t!r}]") for t in t_opts}
    sizes = {t: M.shape[0] for t, M in mats.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"matrices must all have the same number of classes, got {sizes}")
    m = next(iter(sizes.values()))
    subset = None
    if m > max_classes:
        subset = np.sort(np.random.default_rng(seed).choice(m, int(max_classes), replace=False))
    candidates = [
        row
        for t in t_opts
        for row in _score_candidates(t, mats[t], d_opts, l_opts, clip_negative, subset)
    ]
    scored = [c for c in candidates if c["skipped"] is None and c["cophenetic"] is not None]
    if not scored:
        raise ValueError(
            "no candidate combination could be scored: "
            + "; ".join(sorted({c["skipped"] or "constant distances" for c in candidates}))
        )
    best = _fixed_pick(scored) if criterion == "fixed" else _normality_cophenetic_pick(scored)
    chosen = {
        "transform": best["transform"],
        "distance": best["distance"],
        "linkage": best["linkage"],
        "criterion": criterion,
        "score": best["cophenetic"],
        "normality": best["normality"],
        "clip_negative": clip_negative,
        "classes_used": best["classes_used"],
    }
    return chosen, candidates


def _score_candidates(
    t: str, M: np.ndarray, d_opts, l_opts, clip_negative: bool, subset: np.ndarray | None
) -> list[dict]:
    """One candidate dict per (distance, linkage) on transform ``t``'s matrix."""
    norm = _normality(M)
    if subset is not None:
        M = M[np.ix_(subset, subset)]
    reference = _condensed(M, "1-r", clip_negative, euclidean=False)
    cache: dict = {("1-r", False): reference}
    rows = []
    for d in d_opts:
        for link in l_opts:
            row = {
                "transform": t,
                "distance": d,
                "linkage": link,
                "skewness": norm["skewness"],
                "excess_kurtosis": norm["excess_kurtosis"],
                "normality": norm["departure"],
                "cophenetic": None,
                "cophenetic_own": None,
                "inversions": None,
                "classes_used": M.shape[0],
                "skipped": None,
            }
            rows.append(row)
            try:
                _check_combination(d, link, clip_negative)
            except ValueError as e:
                row["skipped"] = str(e)
                continue
            key = (d, d == "1-r" and link in EUCLIDEAN_LINKAGES)
            if key not in cache:  # each distance once per transform, not once per linkage
                cache[key] = _condensed(M, d, clip_negative, euclidean=key[1])
            own = cache[key]
            Z = hierarchy.linkage(own, method=link)
            coph = hierarchy.cophenet(Z)
            row["cophenetic"] = _pearson(coph, reference)
            row["cophenetic_own"] = _pearson(coph, own)
            row["inversions"] = _inversions(Z)
    return rows


def _most_normal_transform(scored: list[dict]) -> str:
    return min(scored, key=lambda c: c["normality"])["transform"]  # min: first on ties


def _normality_cophenetic_pick(scored: list[dict]) -> dict:
    best_t = _most_normal_transform(scored)
    return max((c for c in scored if c["transform"] == best_t), key=lambda c: c["cophenetic"])


def _fixed_pick(scored: list[dict]) -> dict:
    """:data:`FIXED_CHOICE` in every dimension where a scored candidate has it.

    A dimension the caller restricted to other values keeps the caller's (first) value; the
    transform falls back to the most normal one when ``logit`` was not computed.
    """
    transforms = {c["transform"] for c in scored}
    t = (
        FIXED_CHOICE["transform"]
        if FIXED_CHOICE["transform"] in transforms
        else _most_normal_transform(scored)
    )
    pool = [c for c in scored if c["transform"] == t]
    for key in ("distance", "linkage"):
        preferred = [c for c in pool if c[key] == FIXED_CHOICE[key]]
        pool = preferred or [c for c in pool if c[key] == pool[0][key]]
    return pool[0]


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation, or None when either side is constant (no information)."""
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return None if den <= 1e-300 else float(a @ b) / den
