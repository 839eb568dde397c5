"""How much two class-similarity matrices (and their trees) agree, and where they differ.

Two models on the same data, two time windows, two transforms: given their matrices over the
same classes (in the same order) and their trees, these functions measure

- :func:`mantel`: the Pearson correlation of the off-diagonal upper triangles, with a
  permutation p-value (Mantel's test: the classes of one matrix relabelled at random);
- :func:`tree_agreement`: the cophenetic correlation of the two trees;
- :func:`cut_agreement`: the adjusted Rand index of the two trees cut into the same number of
  clusters;
- :func:`row_changes`: per class, how much its row changed (mean absolute difference, and the
  correlation of the two rows);
- :func:`group_changes`, :func:`moved_groups`: which groups of one partition split, merged with
  others, were kept, or moved to another parent in the other.

Pure numpy/scipy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.cluster.hierarchy import cophenet
from scipy.spatial.distance import squareform

from classsim_spark.core.taxonomy import adjusted_rand, tree_cut

SHARE = 0.2
"""A group takes part in a split or merge with at least this share of its classes (and 2)."""
MATCH = 0.5
"""Two groups are the same group when their Jaccard index is above this (so each group has at
most one such match on the other side)."""


def _square_pair(A, B) -> tuple[np.ndarray, np.ndarray]:
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape != B.shape:
        raise ValueError(f"two square matrices of the same shape needed, got {A.shape}, {B.shape}")
    if A.shape[0] < 3:
        raise ValueError(f"at least 3 classes needed, got {A.shape[0]}")
    return A, B


def mantel(A, B, permutations: int = 999, seed: int = 0) -> tuple[float, float]:
    """Correlation of two similarity matrices and its permutation p-value.

    Parameters
    ----------
    A, B : array_like, shape (m, m)
        Symmetric matrices over the same classes, in the same order.
    permutations : int
        Random relabellings of ``B``'s classes (rows and columns together).
    seed : int

    Returns
    -------
    r : float
        Pearson correlation of the off-diagonal upper triangles.
    p : float
        One-sided permutation p-value, ``(1 + #{r_perm >= r}) / (1 + permutations)``; 1.0
        without permutations.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 12))
    >>> A = np.corrcoef(X, rowvar=False)
    >>> r, p = mantel(A, A + 0.01 * np.eye(12), permutations=99)
    >>> round(r, 6), p
    (1.0, 0.01)
    """
    A, B = _square_pair(A, B)
    rows, cols = np.triu_indices(A.shape[0], k=1)
    a = A[rows, cols]
    a = (a - a.mean()) / np.linalg.norm(a - a.mean())

    def r_of(perm: np.ndarray | None) -> float:
        b = B[rows, cols] if perm is None else B[perm[rows], perm[cols]]
        b = b - b.mean()
        return float(a @ b / np.linalg.norm(b))

    r = r_of(None)
    rng = np.random.default_rng(seed)
    hits = sum(r_of(rng.permutation(A.shape[0])) >= r - 1e-12 for _ in range(permutations))
    return r, (1 + hits) / (1 + permutations)


def tree_agreement(ZA, ZB, leaves_a=None, leaves_b=None) -> float:
    """Cophenetic correlation of two trees: the Pearson correlation, over pairs of classes, of
    the heights at which the two classes first join in one tree and in the other.

    ``leaves_a``, ``leaves_b``: the common classes' leaves in each tree, in the same order
    (default: all leaves, the same classes in both).
    """
    ca, cb = squareform(cophenet(np.asarray(ZA))), squareform(cophenet(np.asarray(ZB)))
    if leaves_a is not None:
        ca, cb = ca[np.ix_(leaves_a, leaves_a)], cb[np.ix_(leaves_b, leaves_b)]
    rows, cols = np.triu_indices(ca.shape[0], k=1)
    return float(np.corrcoef(ca[rows, cols], cb[rows, cols])[0, 1])


def cut_agreement(
    ZA, ZB, k: int, leaves_a=None, leaves_b=None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Adjusted Rand index of two trees each cut into ``k`` clusters, over the common classes
    (``leaves_a``, ``leaves_b`` as for :func:`tree_agreement`), and the two cuts there."""
    a, b = tree_cut(ZA, k), tree_cut(ZB, k)
    if leaves_a is not None:
        a, b = a[leaves_a], b[leaves_b]
    return adjusted_rand(a, b), a, b


def row_changes(A, B) -> tuple[np.ndarray, np.ndarray]:
    """How much each class's similarities changed from ``A`` to ``B``.

    Returns
    -------
    mean_abs : ndarray, shape (m,)
        Mean absolute difference of its off-diagonal similarities.
    correlation : ndarray, shape (m,)
        Pearson correlation of its two rows (off-diagonal); NaN for a constant row.
    """
    A, B = _square_pair(A, B)
    m = A.shape[0]
    off = ~np.eye(m, dtype=bool)
    a, b = A[off].reshape(m, m - 1), B[off].reshape(m, m - 1)
    mean_abs = np.abs(a - b).mean(axis=1)
    ac, bc = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (ac * bc).sum(axis=1) / np.sqrt((ac**2).sum(axis=1) * (bc**2).sum(axis=1))
    return mean_abs, correlation


def group_changes(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> dict[str, list[dict]]:
    """How the groups of partition ``a`` (lists of class ids) reappear in ``b``.

    Parameters
    ----------
    a, b : sequence of sequences of int
        Groups of classes (each side's groups disjoint, over the same classes).

    Returns
    -------
    dict
        ``split``: a group of ``a`` whose classes lie in two or more groups of ``b``, each
        holding at least :data:`SHARE` of them (and two) — ``{"group", "into"}``;
        ``merged``: a group of ``b`` holding two or more groups of ``a`` likewise —
        ``{"group", "from"}``; ``kept``: each group of ``a`` whose best match in ``b`` has a
        Jaccard index above :data:`MATCH` — ``{"group", "as", "jaccard"}``. Indices refer to
        ``a`` and ``b``.

    Examples
    --------
    >>> group_changes([[0, 1, 2, 3], [4, 5]], [[0, 1], [2, 3, 4, 5]])["split"]
    [{'group': 0, 'into': [0, 1]}]
    """
    sets_a, sets_b = [set(g) for g in a], [set(g) for g in b]
    overlap = np.array([[len(x & y) for y in sets_b] for x in sets_a], dtype=float)
    overlap = overlap.reshape(len(sets_a), len(sets_b))
    split = [
        {"group": i, "into": _takers(overlap[i], len(x))}
        for i, x in enumerate(sets_a)
        if len(_takers(overlap[i], len(x))) >= 2
    ]
    merged = [
        {"group": j, "from": _takers(overlap[:, j], len(y))}
        for j, y in enumerate(sets_b)
        if len(_takers(overlap[:, j], len(y))) >= 2
    ]
    kept = []
    for i, x in enumerate(sets_a):
        if not sets_b:
            break
        j = int(np.argmax(overlap[i]))
        jaccard = overlap[i, j] / len(x | sets_b[j])
        if jaccard > MATCH:
            kept.append({"group": i, "as": j, "jaccard": round(float(jaccard), 4)})
    return {"split": split, "merged": merged, "kept": kept}


def moved_groups(
    kept: Sequence[Mapping],
    parents_a: Mapping[int, int],
    parents_b: Mapping[int, int],
    kept_parents: Mapping[int, int],
) -> list[dict]:
    """Groups kept from one side to the other (``group_changes(...)["kept"]``) whose parent
    group is not kept as their new parent: they moved to another branch.

    ``parents_a``/``parents_b`` map a group to its parent (an index at the level above);
    ``kept_parents`` maps the parents of ``a`` to those of ``b`` they were kept as.

    Examples
    --------
    >>> moved_groups([{"group": 0, "as": 1}], {0: 0}, {1: 1}, {0: 0, 1: 1})
    [{'group': 0, 'as': 1, 'parent': 0, 'new_parent': 1}]
    """
    moved = []
    for k in kept:
        before, after = parents_a.get(k["group"]), parents_b.get(k["as"])
        if before is not None and after is not None and kept_parents.get(before) != after:
            moved.append({**k, "parent": before, "new_parent": after})
    return moved


def _takers(row: np.ndarray, size: int) -> list[int]:
    """Indices of the groups holding at least SHARE of a group of ``size`` classes (and 2)."""
    return [int(j) for j in np.flatnonzero(row >= max(2, SHARE * size))]
