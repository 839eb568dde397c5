"""Fuzzy c-means clustering (Bezdek 1981) and the choice of the number of clusters (pure numpy).

Fuzzy c-means splits ``n`` points ``x_i`` into ``c`` overlapping clusters: point ``i`` belongs
to cluster ``k`` with membership ``u_ik`` in [0, 1], each row of ``U`` summing to 1. With
fuzziness ``m > 1`` it minimises the objective

    J(U, V) = sum_i sum_k u_ik**m * ||x_i - v_k||**2

by alternating the two closed-form updates (each step cannot increase ``J``):

    v_k  = sum_i u_ik**m x_i / sum_i u_ik**m                       (centres)
    u_ik = 1 / sum_l (d_ik / d_il) ** (1 / (m - 1)),  d = ||x - v||**2   (memberships)

A point that coincides with one or more centres (``d = 0``) shares its membership equally among
them. classsim runs it on the rows of a class-similarity matrix: a class's row is its similarity
profile, and a fuzzy cluster is a set of classes with alike profiles, possibly overlapping groups
that hierarchical clustering has to cut apart (see
:func:`classsim_spark.core.structure.failed_groups`).

Results are deterministic for a seed: initial centres come from k-means++ seeding with
``numpy.random.default_rng([seed, restart])``; of ``n_init`` restarts the lowest objective wins
(earliest restart on ties); clusters are then numbered in a canonical order (by the first point,
in input order, whose largest membership is in the cluster).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(3, 0.1, (20, 2))])
>>> res = fuzzy_cmeans(x, 2)
>>> res.memberships.argmax(axis=1).tolist() == [0] * 20 + [1] * 20
True
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

CRITERIA: tuple[str, ...] = ("xie_beni", "partition_coefficient", "partition_entropy")


@dataclass(frozen=True)
class FuzzyResult:
    """Outcome of :func:`fuzzy_cmeans`.

    Attributes
    ----------
    centers : ndarray, shape (c, d)
        Cluster centres ``v_k``, in the canonical cluster order.
    memberships : ndarray, shape (n, c)
        ``u_ik`` in [0, 1]; every row sums to 1.
    objective : float
        ``J(U, V)`` of the returned memberships and centres.
    iterations : int
        Update rounds of the winning restart.
    history : list of float
        ``J`` after every round of the winning restart (non-increasing up to round-off).
    """

    centers: np.ndarray
    memberships: np.ndarray
    objective: float
    iterations: int
    history: list[float] = field(default_factory=list, repr=False)


def _check_points(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-d array of points, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"X holds {int((~np.isfinite(X)).sum())} NaN or infinite values")
    return X


def _check_fuzziness(m) -> float:
    if not isinstance(m, numbers.Real) or not math.isfinite(m) or m <= 1:
        raise ValueError(f"fuzziness m={m!r}: must be a finite number > 1")
    return float(m)


def _sq_distances(X: np.ndarray, V: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (n, c), clipped at 0 against round-off."""
    d = x_sq[:, None] + (V * V).sum(axis=1)[None, :] - 2.0 * (X @ V.T)
    return np.maximum(d, 0.0)


def _memberships(d: np.ndarray, m: float) -> np.ndarray:
    """The membership update for squared distances ``d`` (n, c); exact zeros share equally."""
    zero = d <= 1e-12 * (1.0 + d.max(axis=1, keepdims=True))
    hit = zero.any(axis=1)
    u = np.empty_like(d)
    if (~hit).any():
        # u_ik = d_ik**(-p) / sum_l d_il**(-p), p = 1/(m-1); scaled by the row minimum so the
        # powers stay in range for any m.
        dd = d[~hit]
        w = (dd.min(axis=1, keepdims=True) / dd) ** (1.0 / (m - 1.0))
        u[~hit] = w / w.sum(axis=1, keepdims=True)
    if hit.any():
        z = zero[hit].astype(np.float64)
        u[hit] = z / z.sum(axis=1, keepdims=True)
    return u


def _centers(X: np.ndarray, u: np.ndarray, m: float) -> np.ndarray:
    w = u**m
    return (w.T @ X) / np.maximum(w.sum(axis=0), np.finfo(float).tiny)[:, None]


def _kmeanspp(
    X: np.ndarray, c: int, rng: np.random.Generator, x_sq: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """k-means++ seeding: first centre uniform (or, with fixed centres, by squared distance to
    them), then each with probability proportional to the squared distance to the nearest."""
    n = len(X)
    if len(fixed):
        d = _sq_distances(X, fixed, x_sq).min(axis=1)
        idx: list[int] = []
    else:
        idx = [int(rng.integers(n))]
        d = _sq_distances(X, X[idx], x_sq)[:, 0]
    while len(idx) < c:
        total = d.sum()
        nxt = int(rng.choice(n, p=d / total)) if total > 0 else int(rng.integers(n))
        idx.append(nxt)
        d = np.minimum(d, _sq_distances(X, X[[nxt]], x_sq)[:, 0])
    return X[idx].copy()


def _canonical(u: np.ndarray) -> np.ndarray:
    """Cluster permutation: by first point whose argmax is the cluster; empty ones last."""
    c = u.shape[1]
    hard = u.argmax(axis=1)
    first = np.full(c, len(u), dtype=np.int64)
    for k in range(c):
        hits = np.flatnonzero(hard == k)
        if len(hits):
            first[k] = hits[0]
    # empty clusters: by their largest membership's point, then by index (stable)
    return np.lexsort((np.arange(c), u.argmax(axis=0), first))


def fuzzy_cmeans(
    X,
    c: int,
    m: float = 2.0,
    seed: int = 0,
    max_iter: int = 300,
    tol: float = 1e-6,
    n_init: int = 3,
    fixed=None,
) -> FuzzyResult:
    """Fuzzy c-means clustering of the rows of ``X``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points, one per row (classsim: the rows of the similarity matrix M). Finite.
    c : int
        Number of clusters, ``1 <= c <= n``.
    m : float
        Fuzziness, ``> 1``; 2 is the usual choice, values near 1 approach hard k-means.
    seed : int
        Seed of the k-means++ initialisation (restart ``r`` uses ``default_rng([seed, r])``).
    max_iter : int
        Most update rounds per restart.
    tol : float
        Stop when no membership changes by more than ``tol`` in a round.
    n_init : int
        Restarts; the lowest final objective wins (the earliest on ties).
    fixed : array_like, shape (f, d), optional
        Extra centres that stay where they are (e.g. a "background" centre at the origin, in
        the spirit of Dave's noise clustering); their memberships are updated like any other.
        They come first in the result, in the given order, followed by the ``c`` free
        clusters.

    Returns
    -------
    FuzzyResult
        Centres, memberships, objective, rounds and objective history; fixed clusters first,
        then the free ones in canonical order (see the module docstring). Identical for
        identical inputs and seed.

    Examples
    --------
    >>> res = fuzzy_cmeans([[0.0], [1.0], [2.0], [6.0]], 2)
    >>> np.round(res.memberships[:, 0], 2).tolist(), np.round(res.centers[:, 0], 2).tolist()
    ([0.97, 1.0, 0.94, 0.0], [0.98, 5.98])
    """
    X = _check_points(X)
    m = _check_fuzziness(m)
    n = len(X)
    if not isinstance(c, numbers.Integral) or not 1 <= c <= n:
        raise ValueError(f"c={c!r}: must be an integer between 1 and the number of points ({n})")
    if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r}: must be an integer >= 1")
    if not isinstance(n_init, numbers.Integral) or n_init < 1:
        raise ValueError(f"n_init={n_init!r}: must be an integer >= 1")
    if not (isinstance(tol, numbers.Real) and tol >= 0):
        raise ValueError(f"tol={tol!r}: must be a number >= 0")
    F = np.zeros((0, X.shape[1])) if fixed is None else np.asarray(fixed, dtype=np.float64)
    if F.ndim != 2 or F.shape[1] != X.shape[1] or not np.isfinite(F).all():
        raise ValueError(f"fixed must be finite centres of shape (f, {X.shape[1]}), got {F.shape}")
    f = len(F)
    x_sq = (X * X).sum(axis=1)
    best = None
    for restart in range(int(n_init)):
        rng = np.random.default_rng([int(seed), restart])
        V = np.vstack([F, _kmeanspp(X, int(c), rng, x_sq, F)])
        u = _memberships(_sq_distances(X, V, x_sq), m)
        history: list[float] = []
        while len(history) < max_iter:
            V = np.vstack([F, _centers(X, u[:, f:], m)])
            d = _sq_distances(X, V, x_sq)
            u_new = _memberships(d, m)
            history.append(float(((u_new**m) * d).sum()))
            delta = np.abs(u_new - u).max()
            u = u_new
            if delta <= tol:
                break
        it = len(history)
        V = np.vstack([F, _centers(X, u[:, f:], m)])
        obj = float(((u**m) * _sq_distances(X, V, x_sq)).sum())
        if best is None or obj < best[0] - 1e-12 * max(1.0, abs(best[0])):
            best = (obj, u, V, it, history)
    obj, u, V, it, history = best
    perm = np.concatenate([np.arange(f), f + _canonical(u[:, f:])])
    return FuzzyResult(V[perm], u[:, perm], obj, it, history)


def validity(X, result: FuzzyResult, m: float = 2.0) -> dict[str, float]:
    """Cluster validity indices of a fuzzy partition.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The clustered points.
    result : FuzzyResult
        A partition of ``X``.
    m : float
        Fuzziness used for the Xie-Beni compactness term.

    Returns
    -------
    dict
        ``xie_beni``: ``sum u**m ||x - v||**2 / (n * min_{k != l} ||v_k - v_l||**2)`` (Xie &
        Beni 1991; lower is better; ``inf`` when two centres coincide, ``nan`` for c = 1).
        ``partition_coefficient``: ``sum u**2 / n`` in [1/c, 1] (higher is crisper).
        ``partition_entropy``: ``-sum u log u / n`` in [0, log c] (lower is crisper).

    Examples
    --------
    >>> x = [[0.0], [1.0], [2.0], [6.0]]
    >>> round(validity(x, fuzzy_cmeans(x, 2))["partition_coefficient"], 3)
    0.958
    """
    X = _check_points(X)
    m = _check_fuzziness(m)
    u, V = result.memberships, result.centers
    n, c = u.shape
    d = _sq_distances(X, V, (X * X).sum(axis=1))
    pc = float((u**2).sum() / n)
    pe = float(-(u * np.log(np.where(u > 0, u, 1.0))).sum() / n)
    if c < 2:
        xb = float("nan")
    else:
        sep = _sq_distances(V, V, (V * V).sum(axis=1))
        sep = sep[~np.eye(c, dtype=bool)].min()
        xb = float(((u**m) * d).sum() / (n * sep)) if sep > 0 else float("inf")
    return {"xie_beni": xb, "partition_coefficient": pc, "partition_entropy": pe}


def choose_c(
    X,
    candidates,
    m: float = 2.0,
    seed: int = 0,
    criterion: str = "xie_beni",
    **kwargs,
) -> tuple[int, dict[int, dict[str, float]]]:
    """Choose the number of fuzzy clusters by a validity index.

    Every candidate ``c`` is clustered with :func:`fuzzy_cmeans` (same ``m``, ``seed`` and
    ``kwargs``); the chosen ``c`` minimises the Xie-Beni index (default; compactness over
    separation, so it penalises both loose clusters and clusters split in two), maximises the
    partition coefficient or minimises the partition entropy. Ties go to the smallest ``c``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points.
    candidates : iterable of int
        Numbers of (free) clusters to try, each between 2 (1 with a ``fixed`` centre) and n.
    m : float
        Fuzziness.
    seed : int
        Seed for every run.
    criterion : {"xie_beni", "partition_coefficient", "partition_entropy"}
        The index that decides.
    **kwargs
        Passed to :func:`fuzzy_cmeans` (``max_iter``, ``tol``, ``n_init``, ``fixed``); the
        indices are computed over all clusters, fixed ones included.

    Returns
    -------
    c : int
        The chosen number of clusters.
    scores : dict
        ``{c: {"xie_beni": ..., "partition_coefficient": ..., "partition_entropy": ...,
        "objective": ...}}`` for every candidate, plain floats.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(k * 4, 0.2, (15, 2)) for k in range(3)])
    >>> choose_c(x, [2, 3, 4, 5])[0]
    3
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r}: must be one of {CRITERIA}")
    X = _check_points(X)
    cands = sorted({int(c) for c in candidates})
    n_fixed = 0 if kwargs.get("fixed") is None else len(kwargs["fixed"])
    low = max(1, 2 - n_fixed)
    if not cands or cands[0] < low or cands[-1] > len(X):
        raise ValueError(
            f"candidates={list(candidates)!r}: need at least one, each between {low} and n={len(X)}"
        )
    scores: dict[int, dict[str, float]] = {}
    for c in cands:
        res = fuzzy_cmeans(X, c, m=m, seed=seed, **kwargs)
        scores[c] = {**validity(X, res, m), "objective": res.objective}
    sign = -1.0 if criterion == "partition_coefficient" else 1.0

    def key(c: int) -> tuple[float, int]:
        v = sign * scores[c][criterion]
        return (v if np.isfinite(v) else np.inf, c)

    return min(cands, key=key), scores
