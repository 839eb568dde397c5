"""Fuzzy c-means (pure numpy): update equations, recovery, determinism, choice of c."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from classsim_spark.core.fuzzy import (
    FuzzyResult,
    _centers,
    _memberships,
    choose_c,
    fuzzy_cmeans,
    validity,
)


def blobs(k=3, per=25, spread=0.3, seed=0, dim=2):
    rng = np.random.default_rng(seed)
    centres = np.array([[4.0 * i, 4.0 * (i % 2)] + [0.0] * (dim - 2) for i in range(k)])
    X = np.concatenate([rng.normal(c, spread, (per, dim)) for c in centres])
    return X, np.repeat(np.arange(k), per)


def reference_fcm(X, U, m, iterations):
    """Straightforward loops over the textbook update equations (Bezdek 1981)."""
    n, c = U.shape
    for _ in range(iterations):
        V = np.zeros((c, X.shape[1]))
        for k in range(c):
            num = sum(U[i, k] ** m * X[i] for i in range(n))
            V[k] = num / sum(U[i, k] ** m for i in range(n))
        U = np.zeros((n, c))
        for i in range(n):
            d = [float(np.sum((X[i] - V[k]) ** 2)) for k in range(c)]
            for k in range(c):
                U[i, k] = 1.0 / sum((d[k] / d[j]) ** (1.0 / (m - 1.0)) for j in range(c))
    return U, V


def same_partition(a, b) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_membership_update_hand_checked():
    # squared distances 1 and 4, m = 2: u = (1/1) / (1/1 + 1/4) = 0.8 and 0.2
    u = _memberships(np.array([[1.0, 4.0]]), 2.0)
    assert np.allclose(u, [[0.8, 0.2]])
    # m = 3: exponent 1/2, u = 1 / (1 + sqrt(1/4)) = 2/3
    assert np.allclose(_memberships(np.array([[1.0, 4.0]]), 3.0), [[2 / 3, 1 / 3]])
    # a point on one centre belongs to it; on two centres it shares equally
    assert np.allclose(_memberships(np.array([[0.0, 4.0], [0.0, 0.0]]), 2.0), [[1, 0], [0.5, 0.5]])
    # centre update: weighted mean with weights u**m
    X = np.array([[0.0], [2.0]])
    V = _centers(X, np.array([[0.75, 0.25], [0.25, 0.75]]), 2.0)
    assert np.allclose(V, [[0.0625 * 2 / 0.625], [0.5625 * 2 / 0.625]])  # 0.2 and 1.8


def test_tiny_symmetric_case():
    # 0, 1, 2 on a line, c = 2: by symmetry the middle point is shared equally and the
    # centres are symmetric around 1.
    res = fuzzy_cmeans([[0.0], [1.0], [2.0]], 2, seed=3)
    assert np.allclose(res.memberships[1], [0.5, 0.5], atol=1e-6)
    assert np.isclose(res.centers.sum(), 2.0, atol=1e-6)
    assert res.centers[0, 0] < 1 < res.centers[1, 0]  # canonical order: point 0's cluster first


def test_recovers_separated_gaussians():
    X, truth = blobs(k=4, per=20)
    res = fuzzy_cmeans(X, 4, seed=1)
    assert same_partition(res.memberships.argmax(axis=1), truth)
    assert res.memberships.max(axis=1).min() > 0.9
    assert isinstance(res, FuzzyResult) and res.centers.shape == (4, 2)


def test_memberships_are_a_fuzzy_partition():
    X, _ = blobs(k=3, per=15, spread=2.0, seed=2)
    u = fuzzy_cmeans(X, 5, m=1.7, seed=0).memberships
    assert u.shape == (45, 5)
    assert np.all(u >= 0) and np.all(u <= 1)
    assert np.allclose(u.sum(axis=1), 1.0)


def test_deterministic_for_a_seed_and_canonical_order():
    X, _ = blobs(k=3, per=15, spread=1.5, seed=4)
    a, b = fuzzy_cmeans(X, 3, seed=7), fuzzy_cmeans(X, 3, seed=7)
    assert np.array_equal(a.memberships, b.memberships) and np.array_equal(a.centers, b.centers)
    assert a.objective == b.objective and a.iterations == b.iterations
    # canonical numbering: cluster k is first reached (in point order) before cluster k + 1
    firsts = [np.flatnonzero(a.memberships.argmax(axis=1) == k)[0] for k in range(3)]
    assert firsts == sorted(firsts)


def test_objective_never_increases():
    X, _ = blobs(k=3, per=20, spread=1.8, seed=5)
    res = fuzzy_cmeans(X, 4, seed=0, n_init=1, tol=0)
    h = np.array(res.history)
    assert len(h) >= 2
    assert np.all(np.diff(h) <= 1e-9 * h[:-1])
    assert np.isclose(res.objective, h[-1], rtol=1e-9)


def test_matches_independent_implementation():
    X, _ = blobs(k=3, per=6, spread=1.2, seed=6)
    res = fuzzy_cmeans(X, 3, m=2.0, seed=0, tol=1e-12, max_iter=1000)
    # the result is a fixed point of the textbook equations
    U, V = reference_fcm(X, res.memberships, 2.0, 1)
    assert np.allclose(U, res.memberships, atol=1e-8)
    assert np.allclose(V, res.centers, atol=1e-8)
    # and the textbook iteration from an arbitrary start reaches the same partition
    rng = np.random.default_rng(0)
    U0 = rng.dirichlet(np.ones(3), size=len(X))
    U_ref, V_ref = reference_fcm(X, U0, 2.0, 200)
    perm = min(
        itertools.permutations(range(3)),
        key=lambda p: np.abs(V_ref[list(p)] - res.centers).sum(),
    )
    assert np.allclose(V_ref[list(perm)], res.centers, atol=1e-6)
    assert np.allclose(U_ref[:, list(perm)], res.memberships, atol=1e-6)


def test_fixed_centre_stays_and_comes_first():
    X, _ = blobs(k=2, per=10, spread=0.2)
    res = fuzzy_cmeans(X, 1, fixed=[[0.0, 0.0]], seed=0)
    assert res.memberships.shape == (20, 2)
    assert np.array_equal(res.centers[0], [0.0, 0.0])
    assert np.allclose(res.centers[1], X[10:].mean(axis=0), atol=0.05)
    assert np.all(res.memberships[:10, 0] > 0.9)


def test_choose_c_xie_beni_and_others():
    X, _ = blobs(k=3, per=20, spread=0.3)
    c, scores = choose_c(X, [2, 3, 4, 5, 6])
    assert c == 3
    assert sorted(scores) == [2, 3, 4, 5, 6]
    assert set(scores[3]) == {"xie_beni", "partition_coefficient", "partition_entropy", "objective"}
    assert choose_c(X, [2, 3, 4, 5], criterion="partition_coefficient")[0] == 3
    assert choose_c(X, [2, 3, 4, 5], criterion="partition_entropy")[0] == 3
    assert all(isinstance(v, float) for s in scores.values() for v in s.values())


def test_validity_bounds():
    X, _ = blobs(k=3, per=10)
    res = fuzzy_cmeans(X, 3)
    v = validity(X, res)
    assert 1 / 3 <= v["partition_coefficient"] <= 1
    assert 0 <= v["partition_entropy"] <= np.log(3)
    assert v["xie_beni"] > 0


def test_degenerate_inputs():
    # all points equal: every cluster centre lands on them, memberships shared equally
    res = fuzzy_cmeans(np.ones((5, 2)), 2)
    assert np.allclose(res.memberships, 0.5)
    assert fuzzy_cmeans([[1.0, 2.0]], 1).memberships.tolist() == [[1.0]]
    # high dimension, fuzziness 2: memberships flatten towards 1/c (the known FCM effect)
    rng = np.random.default_rng(0)
    u = fuzzy_cmeans(rng.normal(size=(60, 300)), 3, seed=0).memberships
    assert np.abs(u - 1 / 3).max() < 0.1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"c": 0}, "c=0"),
        ({"c": 9}, "c=9"),
        ({"c": 2, "m": 1.0}, "fuzziness"),
        ({"c": 2, "max_iter": 0}, "max_iter"),
        ({"c": 2, "n_init": 0}, "n_init"),
        ({"c": 2, "fixed": [[0.0]]}, "fixed"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fuzzy_cmeans(np.zeros((8, 2)), **kwargs)


def test_bad_points_and_candidates():
    with pytest.raises(ValueError, match="NaN"):
        fuzzy_cmeans([[0.0], [np.nan]], 1)
    with pytest.raises(ValueError, match="2-d"):
        fuzzy_cmeans([0.0, 1.0], 1)
    with pytest.raises(ValueError, match="candidates"):
        choose_c(np.zeros((4, 2)), [1, 2])
    with pytest.raises(ValueError, match="criterion"):
        choose_c(np.zeros((4, 2)), [2], criterion="silhouette")
