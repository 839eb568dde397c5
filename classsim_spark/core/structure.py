"""Structure of a class-similarity matrix: blocks, flames, split and failed groups, near-duplicates
and star classes (pure numpy/scipy).

Inputs are the similarity matrix ``M`` (m x m, symmetric; the diagonal is ignored), a scipy
linkage matrix ``Z`` of the classes (any method; clusters are taken in *merge order*, the order
of the rows of ``Z``, so non-monotone linkages such as centroid work too), the display ``order``
(a permutation of the classes, normally ``leaves_list(Z)``) and the class names. Every function
returns records of :mod:`classsim_spark.core.findings` (plain Python values; ``to_json()`` gives
their ``groups.json`` entries), in a documented deterministic order. The rules, with their
thresholds, are:

* :func:`blocks` -- nested blocks along the diagonal. Level 1 is the cut of the tree (into its
  first ``k`` clusters in merge order) that maximises the Newman modularity of the graph with
  weights ``max(M, 0)``; every block is then split the same way inside its own subtree while the
  best split reaches ``min_modularity``, up to ``max_depth`` levels. Or explicit cuts into ``k``
  clusters per level. Blocks have at least two classes.
* :func:`flames` -- for each major block, the outside classes whose mean similarity to
  the block is a robust outlier (robust z >= ``z_min`` among all outside classes or among the
  outside classes of their own top-level block) and reaches at least half-way from the
  background to the block's own within-similarity.
* :func:`split_groups` -- pairs of blocks under different top-level blocks whose mean
  cross-similarity is a robust outlier among all such pairs at the same depth of the block tree.
* :func:`failed_groups` -- fuzzy c-means (:mod:`classsim_spark.core.fuzzy`) on the (denoised) rows
  of the similarity that the tree's blocks leave unexplained; a cohesive fuzzy group whose core
  members the tree puts in two or more top-level blocks is a failed group.
* :func:`near_duplicates` -- pairs above a far-out fence of the nearest-neighbour similarities,
  ranked by the smaller of their similarity and the correlation of their similarity profiles.
* :func:`stars` -- classes whose number of strong similarities (or co-occurring classes) is a
  robust outlier among all classes.

"Robust z" is ``(x - median) / (1.4826 * MAD)`` over the stated reference set (the standard
deviation replaces a zero MAD; a zero spread gives no outliers).

Examples
--------
>>> from scipy.cluster.hierarchy import leaves_list, linkage
>>> from scipy.spatial.distance import squareform
>>> M = np.array([[1.0, 0.9, 0.1, 0.0],
...               [0.9, 1.0, 0.0, 0.1],
...               [0.1, 0.0, 1.0, 0.8],
...               [0.0, 0.1, 0.8, 1.0]])
>>> Z = linkage(squareform(1 - M, checks=False), "complete")
>>> [b.members for b in blocks(M, Z, leaves_list(Z), list("abcd"))]
[['a', 'b'], ['c', 'd']]
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import is_valid_linkage
from scipy.linalg import eigh
from scipy.sparse.linalg import eigsh
from scipy.stats import norm

from classsim_spark.core.findings import (
    Block,
    FailedGroup,
    FlameRow,
    Flames,
    NearDuplicate,
    SplitGroup,
    Star,
)
from classsim_spark.core.fuzzy import choose_c, fuzzy_cmeans
from classsim_spark.core.seriation import is_validated_similarity
from classsim_spark.core.tree import Tree

MAD_SCALE = 1.4826
"""Makes the median absolute deviation a consistent estimate of a normal standard deviation."""

_CHUNK = 1 << 22  # elements of M touched at once when summing big rectangles

FAILED_FEATURES: tuple[str, ...] = ("residual", "rows")

_DENSE_EIGEN = 64  # dense eigensolver up to this size; ARPACK on the sparse matrix above

_R_MAX = 1.0 - 1e-9  # correlations are clipped to +-this before arctanh

DUPLICATE_SIMILARITY = 0.95
"""Cap of the default near-duplicate threshold (see :func:`near_duplicates`)."""


# --------------------------------------------------------------------------- validation


def _check_matrix(M) -> np.ndarray:
    if is_validated_similarity(M):  # checked once for all functions (the analysis's matrices)
        return M
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2:
        raise ValueError(f"M must be a square matrix with at least 2 classes, got {M.shape}")
    bad = ~np.isfinite(M)
    if bad.any():
        raise ValueError(f"M holds {int(bad.sum())} NaN or infinite values")
    asym = float(np.abs(M - M.T).max())
    if asym > 1e-8:
        raise ValueError(f"M must be symmetric; largest |M - M.T| is {asym:.3g}")
    return M


def _check_order(order, m: int) -> np.ndarray:
    order = np.asarray(order)
    if (
        order.ndim != 1
        or len(order) != m
        or not np.issubdtype(order.dtype, np.integer)
        or not np.array_equal(np.sort(order), np.arange(m))
    ):
        raise ValueError(f"order must be a permutation of 0..{m - 1} (integers), got {order!r}")
    return order.astype(np.int64)


def _check_names(names, m: int) -> list[str]:
    names = [str(n) for n in names]
    if len(names) != m:
        raise ValueError(f"names has {len(names)} entries, M has {m} classes")
    return names


def _check_linkage(Z, m: int) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape != (m - 1, 4):
        raise ValueError(f"Z must be a linkage matrix of shape ({m - 1}, 4), got {Z.shape}")
    is_valid_linkage(Z, throw=True, name="Z")
    return Z


def _check_blocks(block_list, m: int) -> list[Block]:
    if not isinstance(block_list, Sequence):
        raise ValueError("block_list must be the list returned by blocks()")
    for b in block_list:
        if not isinstance(b, Block) or not all(0 <= i < m for i in b.member_ids):
            raise ValueError("block_list must be the list returned by blocks() for this M")
    return list(block_list)


def _positive_number(name: str, value, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">=" if allow_zero else ">"
        raise ValueError(f"{name}={value!r}: must be a finite number {bound} 0")
    return float(value)


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}={value!r}: must be an integer >= {minimum}")
    return int(value)


# --------------------------------------------------------------------------- small helpers


def robust_center_scale(x) -> tuple[float, float]:
    """Median and robust spread ``1.4826 * MAD`` of ``x`` (standard deviation if the MAD is 0).

    Parameters
    ----------
    x : array_like
        Values; empty gives ``(nan, 0.0)``.

    Returns
    -------
    center, scale : float
        ``scale`` is 0 only when all values are equal.

    Examples
    --------
    >>> robust_center_scale([1.0, 2.0, 3.0, 4.0, 100.0])
    (3.0, 1.4826)
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if len(x) == 0:
        return float("nan"), 0.0
    center = float(np.median(x))
    scale = MAD_SCALE * float(np.median(np.abs(x - center)))
    if scale <= 1e-12 * max(1.0, abs(center)):
        scale = float(x.std())
        if scale <= 1e-12 * max(1.0, abs(center)):
            scale = 0.0
    return center, scale


def _robust_z(x: np.ndarray, center: float, scale: float) -> np.ndarray:
    if scale <= 0:
        return np.zeros_like(x, dtype=np.float64)
    return (x - center) / scale


def _upper(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs above the diagonal, row after row (``M[np.triu_indices(m, 1)]``, gathered
    row by row at an eighth of the cost), and where each row's pairs start in them."""
    m = len(M)
    starts = np.concatenate([[0], np.cumsum(np.arange(m - 1, 0, -1))])
    return np.concatenate([M[i, i + 1 :] for i in range(m - 1)]), starts


def _slice_sums(M: np.ndarray, rows: slice, cols: slice) -> tuple[float, float]:
    """Sum of ``M`` and of ``max(M, 0)`` over ``M[rows, cols]``, in bounded memory."""
    block = M[rows, cols]
    step = max(1, _CHUNK // max(1, block.shape[1]))
    total = positive = 0.0
    for s in range(0, len(block), step):
        sub = block[s : s + step]
        total += float(sub.sum())
        positive += float(np.maximum(sub, 0.0).sum())
    return total, positive


def _f(x) -> float | None:
    """Plain float for JSON; None for NaN and infinities."""
    x = float(x)
    return x if math.isfinite(x) else None


# --------------------------------------------------------------------------- the tree


class _Tree(Tree):
    """A :class:`~classsim_spark.core.tree.Tree` with the similarity sums of every node.

    Sums over a node's pairs come from its children's: ``within(n) = within(a) + within(b) +
    2 cross(n)`` with ``cross(n)`` the sum over ``a x b`` -- O(m^2) for all nodes together. They
    are taken from one copy of ``M`` in leaf order (:attr:`ordered`), where every node's classes
    are a contiguous run and ``a x b`` a rectangle of it: at 2,622 classes gathering each
    rectangle by class ids cost 0.2 s per tree, slicing it a tenth of that.
    """

    def __init__(self, M: np.ndarray, Z: np.ndarray):
        super().__init__(Z)
        n_nodes = 2 * self.m - 1
        self.ordered = M[self.leaves][:, self.leaves]
        # similarity sums (ordered pairs, diagonal excluded)
        self.cross = np.zeros(n_nodes)  # sum of M over a x b (one direction)
        self.cross_pos = np.zeros(n_nodes)  # same for max(M, 0)
        self.within = np.zeros(n_nodes)  # sum of M over ordered pairs inside the node
        for node in range(self.m, n_nodes):
            a, b = self.children[node]
            c, cp = _slice_sums(self.ordered, self.run(a), self.run(b))
            self.cross[node], self.cross_pos[node] = c, cp
            self.within[node] = self.within[a] + self.within[b] + 2.0 * c
        self.row_sum = M.sum(axis=1) - np.diag(M)  # sum_{j != i} M_ij

    def run(self, node: int) -> slice:
        """Where ``node``'s classes are in leaf order (rows and columns of :attr:`ordered`)."""
        return slice(int(self.start[node]), int(self.start[node] + self.size[node]))

    def best_modularity_cut(self, node: int) -> tuple[list[int], float]:
        """Cut of ``node``'s subtree maximising modularity of ``max(M, 0)`` among its classes.

        Modularity of a partition of the node's classes ``P`` into clusters ``c`` is
        ``Q = sum_c [W(c, c) / T - (d_c / T)**2]`` with ``W = max(M, 0)`` (diagonal excluded),
        ``W(c, c)`` the sum over ordered pairs in ``c``, ``d_c`` the sum of the degrees (within
        ``P``) of the classes in ``c`` and ``T`` the total weight in ``P``. Splitting a cluster
        into children ``a, b`` adds ``2 (d_a d_b / T**2 - W(a, b) / T)``. Returns the clusters
        (nodes) of the best cut with ``k >= 2`` and its ``Q`` (ties: fewest clusters), or
        ``([node], 0.0)`` for a leaf or a node without positive weight.
        """
        if node < self.m:
            return [int(node)], 0.0
        run = self.run(node)
        block = self.ordered[run, run]
        n = len(block)
        deg = np.zeros(n)
        step = max(1, _CHUNK // n)
        for s in range(0, n, step):
            deg[s : s + step] = np.maximum(block[s : s + step], 0.0).sum(axis=1)
        deg -= np.maximum(np.diagonal(block), 0.0)
        total = float(deg.sum())
        if total <= 0:
            return [int(node)], 0.0
        cum = np.concatenate([[0.0], np.cumsum(deg)])
        base = self.start[node]

        def degree(n: int) -> float:
            s = self.start[n] - base
            return float(cum[s + self.size[n]] - cum[s])

        q, best_q, best_k, k = 0.0, -np.inf, 1, 1
        for split, _ in self.splits(node, n):
            a, b = self.children[split]
            q += 2.0 * (degree(a) * degree(b) / total**2 - self.cross_pos[split] / total)
            k += 1
            if q > best_q + 1e-12:
                best_q, best_k = q, k
        return self.cut(node, best_k), float(best_q)


# --------------------------------------------------------------------------- blocks


def _taxonomy_labels(taxonomy, idx: np.ndarray) -> list[dict]:
    out = []
    n_levels = len(taxonomy[0])
    for level in range(n_levels):
        counts = Counter(str(taxonomy[i][level]) for i in idx)
        label, count = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out.append({"level": level, "label": label, "purity": count / len(idx)})
    return out


_Cluster = tuple[int, int, int | None, float]
"""A cluster of the tree found for a level: (level, node, parent node, modularity)."""


def _modularity_levels(tree: _Tree, min_modularity: float, max_depth: int) -> list[_Cluster]:
    """Clusters of ``levels="auto"``: the best modularity cut of the root, then of each cluster
    of 4 or more classes whose cut reaches ``min_modularity``, down to ``max_depth`` levels."""
    clusters, q = tree.best_modularity_cut(tree.root)
    if q < min_modularity:
        clusters, q = [tree.root], q
    found: list[_Cluster] = [(1, c, None, q) for c in clusters]
    current = [c for c in clusters if tree.size[c] >= 2]
    for level in range(2, max_depth + 1):
        nxt = []
        for above in current:
            if tree.size[above] < 4:
                continue
            clusters, q = tree.best_modularity_cut(above)
            if len(clusters) < 2 or q < min_modularity:
                continue
            found += [(level, c, above, q) for c in clusters]
            nxt += [c for c in clusters if tree.size[c] >= 2]
        current = nxt
        if not current:
            break
    return found


def _fixed_levels(tree: _Tree, levels) -> list[_Cluster]:
    """Clusters of given cluster counts per level (increasing): the tree cut into k clusters,
    each under the cluster of the level above that holds it."""
    ks = [_positive_int("levels[i]", k) for k in levels]
    if not ks or any(b <= a for a, b in zip(ks, ks[1:], strict=False)):
        raise ValueError(f"levels={levels!r}: must be increasing positive integers")
    found: list[_Cluster] = []
    prev: list[int] = []
    for level, k in enumerate(ks, start=1):
        clusters = tree.cut(tree.root, k)
        for c in clusters:
            anc = set(tree.ancestors(c))
            parent = next((p for p in prev if p in anc), None)
            if level > 1 and parent is None:
                continue  # its parent cluster was a singleton (never happens for size >= 2)
            found.append((level, c, parent, float("nan")))
        prev = clusters
    return found


def blocks(
    M,
    Z,
    order,
    names,
    levels="auto",
    taxonomy=None,
    min_modularity: float = 0.05,
    max_depth: int = 3,
) -> list[Block]:
    """Nested blocks along the diagonal of the ordered matrix, from cuts of the tree.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Symmetric similarity matrix; the diagonal is ignored.
    Z : array_like, shape (m - 1, 4)
        Linkage matrix of the classes (scipy format).
    order : array_like of int
        Display order (permutation of the classes); spans are positions in it.
    names : sequence of str
        Class names.
    levels : "auto" or sequence of int
        ``"auto"``: level 1 is the cut of the whole tree (its first ``k`` clusters in merge
        order, any ``k >= 2``) with the highest modularity of ``max(M, 0)``; level ``l + 1``
        splits each level-``l`` block by the best-modularity cut of its own subtree, when that
        modularity (computed inside the block) is at least ``min_modularity``; at most
        ``max_depth`` levels. If even level 1 stays below ``min_modularity`` the whole set is
        the single level-1 block. A sequence ``(k1, k2, ...)`` (increasing) instead cuts the
        whole tree into ``k_l`` clusters at level ``l``.
    taxonomy : sequence of tuples, optional
        Per class, its taxonomy path coarse to fine (e.g. ``("animal", "animal_bird")``).
    min_modularity : float
        Smallest modularity that makes a split (``"auto"`` only). 0.05: the parts keep 5% more
        of the block's positive similarity inside than a random split with the same degrees.
    max_depth : int
        Most levels (``"auto"`` only).

    Returns
    -------
    list of Block
        One per block of two or more classes, sorted by ``(level, start)``, ids ``0, 1, ...``
        in that order. Fields: ``id``, ``level`` (1 = top), ``parent`` (id or None), ``node``
        (tree node id, ``m + row of Z``), ``height`` (merge height), ``start``, ``end`` (span
        ``[start, end)`` of its members' positions in ``order``), ``contiguous`` (the members
        fill the span; true when ``order`` is a leaf order of ``Z``), ``size``, ``members`` and
        ``member_ids`` (in display order), ``within_mean`` (mean ``M`` over pairs of members),
        ``outside_mean`` (mean ``M`` between members and all other classes; None if there are
        none), ``contrast`` (``within_mean - outside_mean``), ``modularity`` (of the cut that
        made the level inside the parent, or of level 1), ``central`` (three members with the
        highest mean similarity to the other members; ties by position), ``taxonomy`` (per
        taxonomy level ``{level, label, purity}``, majority label and its share; None without
        a taxonomy) and ``label``: the majority label of the taxonomy level matching the block
        level (level-1 blocks: the coarsest taxonomy level; deeper blocks than the taxonomy: the
        finest), or without a taxonomy the central members joined by ", ".

    Examples
    --------
    >>> from scipy.cluster.hierarchy import leaves_list, linkage
    >>> from scipy.spatial.distance import squareform
    >>> M = np.kron(np.eye(2), np.full((3, 3), 0.6)) + 0.4 * np.eye(6)
    >>> Z = linkage(squareform(1 - M, checks=False), "average")
    >>> [(b.level, b.size, round(b.contrast, 2)) for b in blocks(M, Z, leaves_list(Z),
    ...                                                                 list("abcdef"))]
    [(1, 3, 0.6), (1, 3, 0.6)]
    """
    M = _check_matrix(M)
    m = len(M)
    Z = _check_linkage(Z, m)
    order = _check_order(order, m)
    names = _check_names(names, m)
    if taxonomy is not None:
        taxonomy = [tuple(t) if isinstance(t, list | tuple) else (t,) for t in taxonomy]
        if len(taxonomy) != m or len({len(t) for t in taxonomy}) != 1 or not taxonomy[0]:
            raise ValueError("taxonomy must hold one path (tuple, same length) per class")
    min_modularity = _positive_number("min_modularity", min_modularity, allow_zero=True)
    max_depth = _positive_int("max_depth", max_depth)
    tree = _Tree(M, Z)

    if isinstance(levels, str):
        if levels != "auto":
            raise ValueError(f"levels={levels!r}: must be 'auto' or a sequence of ints")
        found = _modularity_levels(tree, min_modularity, max_depth)
    else:
        found = _fixed_levels(tree, levels)

    pos = np.empty(m, dtype=np.int64)
    pos[order] = np.arange(m)
    records: list[dict[str, Any]] = []
    for level, node, parent, q in found:
        n = int(tree.size[node])
        if n < 2:
            continue
        idx = tree.members(node)
        by_position = np.argsort(pos[idx])
        idx = idx[by_position]
        p = pos[idx]
        within = tree.within[node] / (n * (n - 1))
        outside = (tree.row_sum[idx].sum() - tree.within[node]) / (n * (m - n)) if n < m else None
        sub = tree.ordered[tree.run(node), tree.run(node)]
        centrality = ((sub.sum(axis=1) - np.diagonal(sub)) / (n - 1))[by_position]
        central = [names[i] for i in idx[np.lexsort((p, -centrality))][:3]]
        tax = _taxonomy_labels(taxonomy, idx) if taxonomy is not None else None
        label = ", ".join(central) if tax is None else tax[min(level, len(tax)) - 1]["label"]
        records.append(
            {
                "level": level,
                "node": int(node),
                "parent_node": None if parent is None else int(parent),
                "height": float(tree.height[node]),
                "start": int(p.min()),
                "end": int(p.max()) + 1,
                "contiguous": bool(p.max() - p.min() + 1 == n),
                "size": n,
                "members": [names[i] for i in idx],
                "member_ids": [int(i) for i in idx],
                "within_mean": float(within),
                "outside_mean": None if outside is None else float(outside),
                "contrast": None if outside is None else float(within - outside),
                "modularity": _f(q),
                "central": central,
                "taxonomy": tax,
                "label": label,
            }
        )
    records.sort(key=lambda r: (r["level"], r["start"], r["node"]))
    id_of = {(r["level"], r["node"]): i for i, r in enumerate(records)}
    out = []
    for i, r in enumerate(records):
        parent_node = r.pop("parent_node")
        parent = None if parent_node is None else id_of.get((r["level"] - 1, parent_node))
        out.append(Block(id=i, parent=parent, **r))
    return out


def _top_of(block_list: list[Block], m: int) -> np.ndarray:
    """Top-level block id of every class; classes in no level-1 block get ``-1 - class``."""
    top = -1 - np.arange(m)
    for b in block_list:
        if b.level == 1:
            top[b.member_ids] = b.id
    return top


# --------------------------------------------------------------------------- flames


def flames(
    M,
    order,
    block_list,
    levels: Sequence[int] = (1,),
    min_size: int = 3,
    z_min: float = 3.0,
    coverage_quantile: float = 0.75,
    names=None,
    min_lift: float = 0.5,
    min_reference: int = 8,
) -> list[Flames]:
    """Flames: classes outside a major block whose similarity to the block stays elevated.

    For a block ``B`` and every class ``r`` outside it, ``s_r`` is the mean of ``M[r, B]``.
    Two robust z of ``s_r``, ``(s_r - median) / (1.4826 MAD)``: ``z_all`` against all outside
    classes, ``z_top`` against the outside classes of ``r``'s own top-level block (when it has
    at least ``min_reference`` of them; else ``z_all``) -- a class that stands out from its own
    block, even where the whole block leans towards ``B``. ``r`` is a flame of ``B`` when
    ``z = max(z_all, z_top) >= z_min`` and its ``lift``, ``(s_r - median) / (within_mean(B) -
    median)`` with the median over all outside classes, is at least ``min_lift``: the row
    reaches at least that fraction of the way from the background to the block's own
    similarity (so that a faint but unusual row is not a flame). Its ``coverage`` is the
    share of the block's members ``j`` with ``M[r, j]`` above the ``coverage_quantile`` of all
    outside-by-block values: near 1 when the similarity stays up along the whole block, not
    only on a few members.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix.
    order : array_like of int
        Display order; flame positions are positions in it.
    block_list : list of Block
        Output of :func:`blocks`.
    levels : sequence of int
        Block levels that count as major.
    min_size : int
        Smallest major block.
    z_min : float
        Robust-z threshold.
    coverage_quantile : float
        Quantile of the background entries for ``coverage``.
    names : sequence of str, optional
        Class names for the flame rows (default: the class ids as strings).
    min_lift : float
        Smallest ``lift``.
    min_reference : int
        Smallest top-level block used as a reference set for ``z_top``.

    Returns
    -------
    list of Flames
        One per major block with at least three outside classes, in block-id order: ``block``
        (id), ``level``, ``label``, ``start``, ``end``, ``background`` (``{median, scale}`` of
        ``s``) and ``rows``: the flames sorted by ``(-z, position)``, each a :class:`FlameRow`
        (``name, class_id, position, offset`` (signed distance in positions from the block's
        span: negative before it, positive after), ``mean_similarity, z, z_all, z_top, lift,
        coverage``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> E = rng.normal(0, 0.02, (20, 20)); M = (E + E.T) / 2
    >>> M[:5, :5] += 0.5; M[12, :5] = M[:5, 12] = 0.4; np.fill_diagonal(M, 1)
    >>> block = Block(id=0, level=1, parent=None, node=38, height=0.5, start=0, end=5,
    ...               contiguous=True, size=5, members=list("abcde"), member_ids=[0, 1, 2, 3, 4],
    ...               within_mean=0.5, outside_mean=0.0, contrast=0.5, modularity=None,
    ...               central=["a", "b", "c"], taxonomy=None, label="a")
    >>> [r.class_id for r in flames(M, np.arange(20), [block])[0].rows]
    [12]
    """
    M = _check_matrix(M)
    m = len(M)
    order = _check_order(order, m)
    block_list = _check_blocks(block_list, m)
    names = _check_names(range(m) if names is None else names, m)
    z_min = _positive_number("z_min", z_min)
    min_size = _positive_int("min_size", min_size, 1)
    min_reference = _positive_int("min_reference", min_reference, 3)
    min_lift = _positive_number("min_lift", min_lift, allow_zero=True)
    top = _top_of(block_list, m)
    if not 0 < coverage_quantile < 1:
        raise ValueError(f"coverage_quantile={coverage_quantile!r}: must be in (0, 1)")
    pos = np.empty(m, dtype=np.int64)
    pos[order] = np.arange(m)
    thresholds = {"z_min": z_min, "min_lift": min_lift, "coverage_quantile": coverage_quantile}
    return [
        _block_flames(M, b, pos, top, names, min_reference, **thresholds)
        for b in block_list
        if b.level in levels and b.size >= min_size and m - b.size >= 3
    ]


def _outlier_z(s: np.ndarray, top: np.ndarray, min_reference: int):
    """Robust z of every outside class's mean similarity ``s`` to a block: against all outside
    classes, and against those of its own top-level block (``top``: each one's) where that has
    at least ``min_reference``; with the centre and scale of all."""
    center, scale = robust_center_scale(s)
    z_all = _robust_z(s, center, scale)
    z_top = z_all.copy()
    for t in np.unique(top):
        group = top == t
        if group.sum() >= min_reference:
            c_t, s_t = robust_center_scale(s[group])
            z_top[group] = _robust_z(s[group], c_t, s_t)
    return z_all, z_top, center, scale


def _block_flames(
    M: np.ndarray,
    b: Block,
    pos: np.ndarray,
    top: np.ndarray,
    names: list[str],
    min_reference: int,
    z_min: float,
    min_lift: float,
    coverage_quantile: float,
) -> Flames:
    """The flames record of one major block (see :func:`flames`)."""
    m = len(M)
    inside = np.asarray(b.member_ids, dtype=np.int64)
    mask = np.ones(m, dtype=bool)
    mask[inside] = False
    outside = np.flatnonzero(mask)
    sub = M[np.ix_(outside, inside)]
    s = sub.mean(axis=1)
    z_all, z_top, center, scale = _outlier_z(s, top[outside], min_reference)
    z = np.maximum(z_all, z_top)
    within = float(b.within_mean) if b.within_mean is not None else np.inf
    lift = (s - center) / (within - center) if within > center else np.zeros_like(s)
    q = np.quantile(sub, coverage_quantile)
    rows = []
    start, end = int(pos[inside].min()), int(pos[inside].max()) + 1
    for k in np.flatnonzero((z >= z_min) & (lift >= min_lift)):
        r = int(outside[k])
        p = int(pos[r])
        offset = p - start if p < start else p - end + 1 if p >= end else 0
        rows.append(
            FlameRow(
                name=names[r],
                class_id=r,
                position=p,
                offset=int(offset),
                mean_similarity=float(s[k]),
                z=float(z[k]),
                z_all=float(z_all[k]),
                z_top=float(z_top[k]),
                lift=float(lift[k]),
                coverage=float((sub[k] > q).mean()),
            )
        )
    rows.sort(key=lambda r: (-r.z, r.position))
    return Flames(
        block=b.id,
        level=b.level,
        label=b.label,
        start=start,
        end=end,
        background={"median": center, "scale": scale},
        rows=rows,
    )


# --------------------------------------------------------------------------- split groups


def split_groups(
    M,
    Z,
    order,
    block_list,
    z_min: float = 3.0,
    min_background: int = 10,
) -> list[SplitGroup]:
    """Dense off-diagonal blocks: pairs of blocks in different top-level branches.

    Candidates at depth ``l >= 2`` of the block tree are pairs of blocks from the frontier at
    that depth (the level-``l`` blocks and the blocks of lower levels that were not split)
    that lie in *different* top-level blocks and are not both top-level blocks themselves
    (those are siblings under the root). The statistic is the mean of ``M`` over ``A x B``; the
    background is every candidate pair of the same depth, and a pair is a split group when its
    robust z against that background is at least ``z_min``. ``p_empirical`` is
    ``(1 + #{other pairs with mean >= this one}) / #pairs`` and ``p_normal`` the upper normal
    tail of ``z`` (the "p-value-like" numbers). A pair found at several depths is reported at
    the first. Depths with fewer than ``min_background`` pairs are skipped.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix.
    Z : array_like, shape (m - 1, 4)
        The linkage the blocks came from (for the height at which the pair joins).
    order : array_like of int
        Display order.
    block_list : list of Block
        Output of :func:`blocks`.
    z_min : float
        Robust-z threshold.
    min_background : int
        Smallest number of candidate pairs to estimate a background.

    Returns
    -------
    list of SplitGroup
        Sorted by ``(-z, depth, blocks)``: ``blocks`` ([id, id], smaller position first),
        ``labels``, ``sizes``, ``spans`` ([[start, end], [start, end]]), ``depth``,
        ``mean_similarity``, ``background`` (``{median, scale, pairs}``), ``z``,
        ``p_empirical``, ``p_normal``, ``join_height`` (height of the tree node that joins the
        two blocks: how far apart the tree put them) and ``top_blocks`` ([id, id]).

    Examples
    --------
    >>> split_groups(np.eye(3), [[0, 1, 1, 2], [2, 3, 1, 3]], [0, 1, 2], [])
    []
    """
    M = _check_matrix(M)
    m = len(M)
    Z = _check_linkage(Z, m)
    order = _check_order(order, m)
    block_list = _check_blocks(block_list, m)
    z_min = _positive_number("z_min", z_min)
    min_background = _positive_int("min_background", min_background, 2)
    if not block_list:
        return []
    top = _top_of(block_list, m)
    join_height = _join_height(Z, m)
    has_child = {b.parent for b in block_list if b.parent is not None}
    max_level = max(b.level for b in block_list)
    seen: set[tuple[int, int]] = set()
    out: list[SplitGroup] = []
    for depth in range(2, max_level + 1):
        frontier = sorted(
            (
                b
                for b in block_list
                if b.level == depth or (b.level < depth and b.id not in has_child)
            ),
            key=lambda b: (b.start, b.id),
        )
        pairs, means = _cross_pairs(M, frontier, top)
        if len(pairs) < min_background:
            continue
        center, scale = robust_center_scale(means)
        z = _robust_z(means, center, scale)
        ranks = np.sort(means)
        for (a, b), x, zz in zip(pairs, means, z, strict=True):
            key = (a.id, b.id)
            if zz < z_min or key in seen:
                continue
            seen.add(key)
            n_ge = len(means) - np.searchsorted(ranks, x, side="left")
            out.append(
                SplitGroup(
                    blocks=[a.id, b.id],
                    labels=[a.label, b.label],
                    sizes=[a.size, b.size],
                    spans=[[a.start, a.end], [b.start, b.end]],
                    depth=depth,
                    mean_similarity=float(x),
                    background={"median": center, "scale": scale, "pairs": len(pairs)},
                    z=float(zz),
                    p_empirical=float(n_ge / len(means)),
                    p_normal=float(norm.sf(zz)),
                    join_height=join_height(int(a.node), int(b.node)),
                    top_blocks=[int(top[a.member_ids[0]]), int(top[b.member_ids[0]])],
                )
            )
    out.sort(key=lambda r: (-r.z, r.depth, r.blocks))
    return out


def _join_height(Z: np.ndarray, m: int):
    """A function giving the height at which the tree ``Z`` joins two of its nodes."""
    parent_of = np.full(2 * m - 1, -1, dtype=np.int64)
    children = Z[:, :2].astype(np.int64)
    parent_of[children[:, 0]] = parent_of[children[:, 1]] = np.arange(m, 2 * m - 1)
    heights = np.concatenate([np.zeros(m), Z[:, 2]])

    def join_height(a: int, b: int) -> float:
        anc = set()
        while a >= 0:
            anc.add(a)
            a = int(parent_of[a])
        while b not in anc and b >= 0:
            b = int(parent_of[b])
        return float(heights[b])

    return join_height


def _cross_pairs(
    M: np.ndarray, frontier: list[Block], top: np.ndarray
) -> tuple[list[tuple[Block, Block]], np.ndarray]:
    """The pairs of frontier blocks in different top-level blocks (two top-level blocks are no
    pair: the tree already separates them), with the mean similarity between each pair.

    The sums over every pair of frontier blocks come from :func:`_group_sums`, one pass over
    ``M``, where a rectangle per pair gathered ``M`` by class ids (at 2,622 classes 4,000
    rectangles, 0.13 s per call).
    """
    k = len(frontier)
    if k < 2:
        return [], np.empty(0)
    block_sums = _group_sums(M, [np.asarray(b.member_ids) for b in frontier])
    pairs, sums = [], []
    for i, a in enumerate(frontier):
        ta = top[a.member_ids[0]]
        for j in range(i + 1, k):
            b = frontier[j]
            if top[b.member_ids[0]] == ta or (a.level == 1 and b.level == 1):
                continue
            pairs.append((a, b))
            sums.append(block_sums[i, j] / (a.size * b.size))
    return pairs, np.asarray(sums)


# --------------------------------------------------------------------------- failed groups


def _group_sums(M: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Sums of ``M`` over every pair of disjoint groups of classes, ``(k, k)``: ``H M H^T``
    with ``H`` the groups' sparse indicator (one pass over ``M``)."""
    k, m = len(groups), len(M)
    H = sparse.csr_matrix(
        (
            np.ones(sum(len(g) for g in groups)),
            (np.repeat(np.arange(k), [len(g) for g in groups]), np.concatenate(groups)),
        ),
        shape=(k, m),
    )
    return np.asarray((H @ M) @ H.T)


def _block_fit(M: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Block model: every off-diagonal entry replaced by the mean over its pair of blocks."""
    _, inv = np.unique(label, return_inverse=True)
    sizes = np.bincount(inv).astype(np.float64)
    k = len(sizes)
    groups = np.split(np.argsort(inv, kind="stable"), np.cumsum(sizes[:-1]).astype(np.int64))
    sums = _group_sums(M, groups)
    sums[np.diag_indices(k)] -= np.bincount(inv, weights=np.diagonal(M), minlength=k)
    counts = np.outer(sizes, sizes) - np.diag(sizes)
    means = sums / np.maximum(counts, 1.0)
    return means[inv][:, inv]


def _top_eigen(S, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest ``k`` eigenpairs of symmetric ``S`` (dense or sparse), eigenvalues descending,
    eigenvector signs fixed (largest entry positive): deterministic."""
    m = S.shape[0]
    k = min(k, m - 1) if m > 1 else 1
    if m <= _DENSE_EIGEN or k >= m - 1:
        dense = S.toarray() if sparse.issparse(S) else S
        w, V = eigh(dense, subset_by_index=[m - k, m - 1])
    else:
        S = S if sparse.issparse(S) else sparse.csr_matrix(S)
        w, V = eigsh(S, k=k, which="LA", v0=np.ones(m) / math.sqrt(m))
    idx = np.argsort(-w, kind="stable")
    w, V = w[idx], V[:, idx]
    V = V * np.where(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])] < 0, -1.0, 1.0)
    return w, V


def _top_eigenvalue(S) -> float:
    """Largest eigenvalue of a symmetric sparse matrix."""
    m = S.shape[0]
    if m <= _DENSE_EIGEN:
        return float(eigh(S.toarray(), eigvals_only=True, subset_by_index=[m - 1, m - 1])[0])
    return float(
        eigsh(S, k=1, which="LA", v0=np.ones(m) / math.sqrt(m), return_eigenvectors=False)[0]
    )


def failed_groups(
    M,
    order,
    block_list,
    c: int | None = None,
    fuzziness: float = 2.0,
    core: float = 0.5,
    seed: int = 0,
    features: str = "residual",
    z0: float = 2.0,
    max_rank: int = 10,
    n_null: int = 20,
    min_members: int = 3,
    min_cohesion: float = 1.0,
    names=None,
) -> tuple[list[FailedGroup], np.ndarray, dict]:
    """Overlapping groups that the tree scatters: fuzzy c-means groups across top-level blocks.

    What the blocks explain is removed first: ``R = M - F`` with ``F`` the block model of the
    finest blocks (every entry replaced by the mean of ``M`` over its pair of finest blocks,
    each class in its deepest block). Only pairs in *different* top-level blocks are kept (the
    tree already groups the rest) and standardised by the robust centre and spread of those
    pairs, ``z = (R - median) / (1.4826 MAD)``.

    ``features="residual"`` (default): the rows of ``S = max(z - z0, 0)`` (elevated residuals
    only) are denoised to their rank-``r`` approximation, ``r`` = the number of eigenvalues of
    ``S`` above the largest eigenvalue of ``n_null`` null matrices (the same nonzero values
    at random cross-block positions), at most ``max_rank``. Fuzzy c-means with fuzziness
    ``fuzziness`` runs on those rows (coordinates ``V_r diag(w_r)``) with ``c`` free clusters
    plus one *background* cluster whose centre stays at the origin (a class with no elevated
    residual); ``r = 0`` means nothing beyond noise: no groups.
    ``features="rows"``: fuzzy c-means on the rows of ``M`` itself, the recipe of the paper,
    without a background cluster. Its clusters follow the blocks the tree already shows, and
    in m dimensions with fuzziness 2 the memberships flatten towards ``1/c``, so it rarely
    finds groups across blocks (it misses the planted cross-cutting group of the demo data,
    which the residual features recover).

    ``c`` defaults to the Xie-Beni choice (:func:`classsim_spark.core.fuzzy.choose_c`) among
    ``1 .. min(r + 1, 9)`` free clusters (``rows``: ``2 .. min(m - 1, 10)``). A fuzzy
    cluster's *core* is the classes with membership >= ``core``. It is a **failed group** when
    the core has at least ``min_members`` classes in at least two top-level blocks and its
    *cohesion*, the mean ``z`` over core pairs in different top-level blocks, is at least
    ``min_cohesion`` (a cluster of unrelated classes has cohesion near 0).

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix.
    order : array_like of int
        Display order; member positions are positions in it.
    block_list : list of Block
        Output of :func:`blocks` (level 1 = top-level blocks).
    c : int, optional
        Number of (free) fuzzy clusters, >= 1 (``rows``: >= 2); chosen by Xie-Beni if omitted.
    fuzziness : float
        Fuzzy c-means exponent ``m > 1``.
    core : float
        Membership threshold of core members, in (0, 1].
    seed : int
        Seed of fuzzy c-means and of the null shuffles.
    features : {"residual", "rows"}
        What fuzzy c-means clusters (see above).
    z0 : float
        Residual z below which entries of ``S`` are set to 0.
    max_rank : int
        Most dimensions kept.
    n_null : int
        Shuffles for the noise edge.
    min_members : int
        Smallest core of a failed group.
    min_cohesion : float
        Smallest cohesion of a failed group.
    names : sequence of str, optional
        Class names for ``members`` (default: the class ids as strings).

    Returns
    -------
    groups : list of FailedGroup
        Sorted by ``(-cohesion, -size, first position)``: ``cluster`` (fuzzy cluster index),
        ``members``, ``member_ids`` and ``positions`` (core members in display order),
        ``memberships``, ``size``, ``top_blocks`` (``{block id: count}`` as a list of ``[id,
        count]``, largest first; a class in no top-level block counts as its own block
        ``-1 - class id``), ``n_top_blocks``, ``dispersion`` (``1 -`` the largest share of one
        top-level block), ``entropy`` (of the top-block shares, bits), ``cohesion``,
        ``mean_similarity`` (mean ``M`` over core pairs in different top-level blocks).
    memberships : ndarray, shape (m, c + 1) or (m, c)
        Fuzzy memberships of every class; with residual features column 0 is the background
        cluster and ``cluster`` in ``groups`` indexes these columns. ``(m, 0)`` when no
        clustering ran.
    info : dict
        ``features``, ``c`` (free clusters), ``c_scores`` (per candidate, string keys; None
        for an infinite index), ``criterion``, ``background`` (whether column 0 is the
        background cluster), ``rank``, ``eigenvalues`` (the top ``rank + 1``), ``noise_edge``,
        ``residual_median``, ``residual_scale``, ``fuzziness``, ``core``, ``z0``,
        ``top_blocks`` (count), ``objective``.

    Examples
    --------
    >>> M = np.eye(4)
    >>> failed_groups(M, range(4), [])[0]
    []
    """
    M = _check_matrix(M)
    m = len(M)
    order = _check_order(order, m)
    block_list = _check_blocks(block_list, m)
    names = _check_names(range(m) if names is None else names, m)
    if features not in FAILED_FEATURES:
        raise ValueError(f"features={features!r}: must be one of {FAILED_FEATURES}")
    if c is not None:
        c = _positive_int("c", c, 1 if features == "residual" else 2)
    if not (isinstance(fuzziness, numbers.Real) and fuzziness > 1):
        raise ValueError(f"fuzziness={fuzziness!r}: must be a number > 1")
    if not (isinstance(core, numbers.Real) and 0 < core <= 1):
        raise ValueError(f"core={core!r}: must be in (0, 1]")
    z0 = _positive_number("z0", z0, allow_zero=True)
    max_rank = _positive_int("max_rank", max_rank)
    n_null = _positive_int("n_null", n_null)
    min_members = _positive_int("min_members", min_members, 2)
    min_cohesion = float(min_cohesion)

    top, cross, Rz, r_center, r_scale = _cross_block_residuals(M, block_list)
    info: dict = {
        "features": features,
        "criterion": "xie_beni",
        "fuzziness": float(fuzziness),
        "core": float(core),
        "z0": z0,
        "residual_median": _f(r_center),
        "residual_scale": float(r_scale),
        "top_blocks": int(len(np.unique(top))),
        "rank": None,
        "eigenvalues": [],
        "noise_edge": None,
        "c": None,
        "c_scores": {},
        "objective": None,
        "background": features == "residual",
    }
    empty = np.zeros((m, 0))
    if features == "residual":
        if r_scale <= 0 or not cross.any():
            info["rank"] = 0
            return [], empty, info
        X = _residual_features(Rz, cross, z0, max_rank, n_null, seed, info)
        if X is None:
            return [], empty, info
        rank = X.shape[1]
        fixed = np.zeros((1, rank))  # background: no elevated residual
        candidates = list(range(1, min(rank + 1, 9, m - 1) + 1))
    else:
        X = M
        fixed = None
        candidates = list(range(2, min(m - 1, 10) + 1))
    if c is None:
        if not candidates:
            return [], empty, info
        c, scores = choose_c(X, candidates, m=fuzziness, seed=seed, fixed=fixed)
        info["c_scores"] = {str(k): {n: _f(x) for n, x in v.items()} for k, v in scores.items()}
    if c > m:
        raise ValueError(f"c={c}: more clusters than classes ({m})")
    res = fuzzy_cmeans(X, c, m=fuzziness, seed=seed, fixed=fixed)
    info.update(c=int(c), objective=res.objective)
    u = res.memberships
    pos = np.empty(m, dtype=np.int64)
    pos[order] = np.arange(m)
    groups = []
    for k in range(0 if fixed is None else 1, u.shape[1]):
        group = _failed_group(k, u, M, Rz, top, cross, pos, names, core, min_members, min_cohesion)
        if group is not None:
            groups.append(group)
    groups.sort(key=lambda g: (-g.cohesion, -g.size, g.positions[0]))
    return groups, u, info


def _cross_block_residuals(M: np.ndarray, block_list: list[Block]):
    """What the finest blocks do not explain, between top-level blocks only: the top-level
    block of each class, the cross-block mask, the robust z of ``M`` minus its block model
    (0 within a top-level block), and the centre and spread of the raw residuals."""
    m = len(M)
    top = _top_of(block_list, m)
    finest = top.copy()
    for b in sorted(block_list, key=lambda b: b.level):
        finest[b.member_ids] = b.id
    cross = top[:, None] != top[None, :]
    R = M - _block_fit(M, finest)
    r_center, r_scale = robust_center_scale(R[np.triu(cross, 1)])
    Rz = np.where(cross, _robust_z(R, r_center, r_scale), 0.0)
    return top, cross, Rz, r_center, r_scale


def _residual_features(
    Rz: np.ndarray,
    cross: np.ndarray,
    z0: float,
    max_rank: int,
    n_null: int,
    seed: int,
    info: dict,
) -> np.ndarray | None:
    """The rows of the elevated residuals ``max(Rz - z0, 0)`` denoised to the rank above the
    noise edge (the largest eigenvalue of ``n_null`` shuffles of the same values to random
    cross-block positions), as coordinates ``V_r diag(w_r)``; None when nothing rises above
    the noise. Records ``rank``, ``eigenvalues`` and ``noise_edge`` in ``info``."""
    m = len(Rz)
    S = np.maximum(Rz - z0, 0.0)
    rng = np.random.default_rng([int(seed), 1])
    iu, ju = np.nonzero(np.triu(cross, 1))
    values = S[iu, ju]
    values = values[values > 0]
    edge = 0.0
    for _ in range(n_null):  # the same values at random cross-block positions
        at = rng.choice(len(iu), size=len(values), replace=False)
        N = sparse.coo_matrix((values, (iu[at], ju[at])), shape=(m, m)).tocsr()
        edge = max(edge, _top_eigenvalue(N + N.T))
    w, V = _top_eigen(S, max_rank + 1)
    rank = min(int((w > edge + 1e-12).sum()), max_rank)
    info.update(rank=rank, eigenvalues=[float(x) for x in w[: rank + 1]], noise_edge=edge)
    return V[:, :rank] * w[:rank] if rank else None


def _failed_group(
    k: int,
    u: np.ndarray,
    M: np.ndarray,
    Rz: np.ndarray,
    top: np.ndarray,
    cross: np.ndarray,
    pos: np.ndarray,
    names: list[str],
    core: float,
    min_members: int,
    min_cohesion: float,
) -> FailedGroup | None:
    """The record of fuzzy cluster ``k`` when its core is a failed group (enough members, in at
    least two top-level blocks, cohesive across them); else None."""
    members = np.flatnonzero(u[:, k] >= core)
    if len(members) < min_members:
        return None
    counts = Counter(int(t) for t in top[members])
    if len(counts) < 2:
        return None
    sub_cross = cross[np.ix_(members, members)]
    cohesion = float(Rz[np.ix_(members, members)][sub_cross].mean())
    if cohesion < min_cohesion:
        return None
    members = members[np.argsort(pos[members])]
    shares = np.array(sorted(counts.values(), reverse=True)) / len(members)
    return FailedGroup(
        cluster=int(k),
        members=[names[i] for i in members],
        member_ids=[int(i) for i in members],
        positions=[int(pos[i]) for i in members],
        memberships=[float(u[i, k]) for i in members],
        size=int(len(members)),
        top_blocks=[[b, n] for b, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        n_top_blocks=len(counts),
        dispersion=float(1.0 - shares[0]),
        entropy=float(-(shares * np.log2(shares)).sum()),
        cohesion=cohesion,
        mean_similarity=float(M[np.ix_(members, members)][sub_cross].mean()),
    )


# --------------------------------------------------------------------------- near-duplicates


def near_duplicates(
    M,
    names,
    min_similarity: float | None = None,
    min_profile: float = 0.5,
    top: int | None = 20,
    max_candidates: int = 5000,
) -> list[NearDuplicate]:
    """Class pairs with very high similarity and near-identical similarity profiles.

    Candidates are pairs with ``M[i, j] >= min_similarity``. By default: pairs strictly above
    the far-out fence (Tukey, ``Q3 + 3 IQR``) of the classes' *nearest-neighbour*
    similarities ``max_{j != i} M[i, j]``, computed on Fisher's ``arctanh`` scale and mapped
    back -- a duplicate is far closer to its twin than classes usually are to their closest
    relative -- with the fence capped at ``DUPLICATE_SIMILARITY`` (0.95: score columns that
    correlate that much are interchangeable whatever the rest of the matrix does). At most
    ``max_candidates`` candidates, the most similar, are examined. For each, the *profile
    correlation* is the Pearson correlation of rows ``i`` and ``j`` of ``M`` over
    the other classes (0 when a row is constant there) and ``max_abs_diff`` the largest
    difference between the two rows there. Pairs with profile correlation ``>= min_profile``
    are ranked by ``score = min(similarity, profile correlation)`` -- both must be high --
    descending, then by similarity, then by class ids.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix.
    names : sequence of str
        Class names.
    min_similarity : float, optional
        Candidate threshold; default the far-out fence.
    min_profile : float
        Smallest profile correlation reported (0.5: a pair whose profiles disagree is similar
        for another reason than duplication).
    top : int or None
        Most pairs returned (None: all).
    max_candidates : int
        Most candidate pairs examined.

    Returns
    -------
    list of NearDuplicate
        ``rank`` (1 = most suspect), ``class_ids`` ([i, j], i < j), ``names``,
        ``similarity``, ``similarity_z`` (robust z among all off-diagonal values),
        ``profile_correlation``, ``max_abs_diff``, ``score``, ``threshold``.

    Examples
    --------
    >>> M = np.eye(5); M[0, 1] = M[1, 0] = 0.95
    >>> M[0, 2] = M[2, 0] = M[1, 2] = M[2, 1] = 0.3
    >>> [d.names for d in near_duplicates(M, list("abcde"), min_similarity=0.5)]
    [['a', 'b']]
    """
    M = _check_matrix(M)
    m = len(M)
    names = _check_names(names, m)
    if top is not None:
        top = _positive_int("top", top)
    max_candidates = _positive_int("max_candidates", max_candidates)
    v, starts = _upper(M)
    if min_similarity is None:
        A = M.copy()
        np.fill_diagonal(A, -np.inf)
        nearest = np.arctanh(np.clip(A.max(axis=1), -_R_MAX, _R_MAX))
        q1, q3 = np.quantile(nearest, [0.25, 0.75])
        threshold = min(float(np.tanh(q3 + 3.0 * (q3 - q1))), DUPLICATE_SIMILARITY)
        hits = np.flatnonzero(v > threshold)
    else:
        threshold = float(min_similarity)
        hits = np.flatnonzero(v >= threshold)
    center, scale = robust_center_scale(v)
    if len(hits) > max_candidates:
        hits = hits[np.lexsort((hits, -v[hits]))][:max_candidates]
    out: list[dict[str, Any]] = []
    for h in hits:
        i = int(np.searchsorted(starts, h, side="right")) - 1
        j = int(h - starts[i]) + i + 1
        keep = np.ones(m, dtype=bool)
        keep[[i, j]] = False
        a, b = M[i, keep], M[j, keep]
        varies = len(a) >= 2 and a.std() > 0 and b.std() > 0
        rho = float(np.corrcoef(a, b)[0, 1]) if varies else 0.0
        if rho < min_profile:
            continue
        out.append(
            {
                "class_ids": [i, j],
                "names": [names[i], names[j]],
                "similarity": float(v[h]),
                "similarity_z": float(_robust_z(np.array([v[h]]), center, scale)[0]),
                "profile_correlation": rho,
                "max_abs_diff": float(np.abs(a - b).max()) if len(a) else 0.0,
                "score": min(float(v[h]), rho),
                "threshold": threshold,
            }
        )
    out.sort(key=lambda d: (-d["score"], -d["similarity"], d["class_ids"]))
    out = out[:top] if top is not None else out
    return [NearDuplicate(rank=k + 1, **d) for k, d in enumerate(out)]


# --------------------------------------------------------------------------- stars


def stars(
    M,
    names,
    cooccurrence=None,
    quantile: float = 0.95,
    z_min: float = 3.0,
    top: int | None = None,
    block_list=None,
) -> list[Star]:
    """Classes similar to, or co-occurring with, very many others.

    *Similarity degree*: the number of other classes ``j`` with ``M[i, j]`` at or above the
    ``quantile`` of all off-diagonal values (a strong similarity of this matrix; about
    ``(1 - quantile) (m - 1)`` per class when strong pairs are spread evenly). With
    ``block_list`` only partners in *other* top-level blocks count and the quantile is taken
    over those cross-block pairs: without it, every member of a large group has a large
    degree, which says more about the group than about the class.
    *Co-occurrence degree* (multi-label, when ``cooccurrence`` is given): the number of other
    classes that co-occur with ``i`` at least once; ``cooccurrence_share`` is
    ``sum_{j != i} C[i, j] / C[i, i]``, other labels per labelled sample of ``i``. A class is a
    **star** when either degree's robust z among all classes is at least ``z_min``.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Similarity matrix.
    names : sequence of str
        Class names.
    cooccurrence : array_like, shape (m, m), optional
        Co-occurrence counts (diagonal: label counts), non-negative and symmetric.
    quantile : float
        Quantile that defines a strong similarity, in (0, 1).
    z_min : float
        Robust-z threshold.
    top : int, optional
        Most stars returned.
    block_list : list of Block, optional
        Output of :func:`blocks`; counts cross-block partners only (recommended).

    Returns
    -------
    list of Star
        Sorted by ``(-z, class id)`` with ``z`` the larger of the two robust z: ``class_id``,
        ``name``, ``degree``, ``degree_z``, ``degree_scope`` (``"all"`` or
        ``"other_top_blocks"``), ``mean_similarity`` (mean ``M`` to the others),
        ``threshold`` (the strong-similarity value), ``cooccurrence_degree``,
        ``cooccurrence_z``, ``cooccurrence_share`` (None without co-occurrence), ``z``.

    Examples
    --------
    >>> M = np.eye(30); M[0, 1:] = M[1:, 0] = 0.5
    >>> [s.name for s in stars(M, [str(i) for i in range(30)])]
    ['0']
    """
    M = _check_matrix(M)
    m = len(M)
    names = _check_names(names, m)
    if not 0 < quantile < 1:
        raise ValueError(f"quantile={quantile!r}: must be in (0, 1)")
    z_min = _positive_number("z_min", z_min)
    if top is not None:
        top = _positive_int("top", top)
    off = ~np.eye(m, dtype=bool)
    scope = "all"
    if block_list is not None:
        top_of = _top_of(_check_blocks(block_list, m), m)
        off &= top_of[:, None] != top_of[None, :]
        scope = "other_top_blocks"
    if not off.any():
        return []
    threshold = float(np.quantile(M[np.triu(off, 1)], quantile))
    degree = (np.greater_equal(M, threshold) & off).sum(axis=1)
    center, scale = robust_center_scale(degree)
    dz = _robust_z(degree.astype(float), center, scale)
    mean_sim = (M.sum(axis=1) - np.diag(M)) / (m - 1)
    cdeg = cz = cshare = None
    off = ~np.eye(m, dtype=bool)
    if cooccurrence is not None:
        C = np.asarray(cooccurrence, dtype=np.float64)
        if C.shape != (m, m) or not np.isfinite(C).all() or (C < 0).any():
            raise ValueError(f"cooccurrence must be a non-negative finite {m}x{m} matrix")
        if not np.array_equal(C, C.T):
            raise ValueError("cooccurrence must be symmetric")
        cdeg = ((C > 0) & off).sum(axis=1)
        cc, cs = robust_center_scale(cdeg)
        cz = _robust_z(cdeg.astype(float), cc, cs)
        cshare = (C.sum(axis=1) - np.diag(C)) / np.maximum(np.diag(C), 1.0)
    out = []
    for i in range(m):
        z = max(dz[i], cz[i] if cz is not None else -np.inf)
        if z < z_min:
            continue
        out.append(
            Star(
                class_id=i,
                name=names[i],
                degree=int(degree[i]),
                degree_z=float(dz[i]),
                degree_scope=scope,
                mean_similarity=float(mean_sim[i]),
                threshold=threshold,
                cooccurrence_degree=None if cdeg is None else int(cdeg[i]),
                cooccurrence_z=None if cz is None else float(cz[i]),
                cooccurrence_share=None if cshare is None else float(cshare[i]),
                z=float(z),
            )
        )
    out.sort(key=lambda s: (-s.z, s.class_id))
    return out[:top] if top is not None else out
