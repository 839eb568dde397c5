"""Seriation (pure numpy/scipy): scipy as the oracle for trees and distances, brute force for
optimal leaf ordering, planted structure for every ordering method, and the automatic choice."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from scipy.cluster import hierarchy
from scipy.spatial.distance import pdist, squareform

from classsim_spark.core import seriation as S

VALID = list(itertools.product(S.DISTANCES, S.LINKAGES))  # all valid unless clip_negative


def corr_from_latent(rng, m, groups, strength=1.0, n=400):
    """A correlation matrix of m classes whose columns share one factor per group."""
    factors = rng.normal(size=(n, max(groups) + 1))
    x = strength * factors[:, groups] + rng.normal(size=(n, m))
    return np.corrcoef(x, rowvar=False)


def block_matrix(rng, sizes, within=0.6, between=0.05, noise=0.03):
    """Planted blocks (block diagonal + symmetric noise), rows/columns randomly permuted.

    Returns the permuted matrix and each class's block label.
    """
    labels = np.repeat(np.arange(len(sizes)), sizes)
    m = len(labels)
    M = np.where(labels[:, None] == labels[None, :], within, between)
    e = rng.normal(scale=noise, size=(m, m))
    M = M + (e + e.T) / 2
    np.fill_diagonal(M, 1.0)
    perm = rng.permutation(m)
    return M[np.ix_(perm, perm)], labels[perm]


def contiguous(order, labels) -> bool:
    """True when every label occupies one contiguous run of the order."""
    runs = [k for k, _ in itertools.groupby(labels[order])]
    return len(runs) == len(set(labels.tolist()))


def path_length(d, order):
    D = squareform(d)
    return float(D[order[:-1], order[1:]].sum())


@pytest.fixture(scope="module")
def generic():
    """A 40-class correlation matrix with nested structure and no ties."""
    rng = np.random.default_rng(11)
    return corr_from_latent(rng, 40, rng.integers(0, 6, 40))


# ---------------------------------------------------------------------------------------------
# Validation and distances
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("M", "message"),
    [
        (np.ones((2, 3)), "square"),
        (np.ones((1, 1)), "at least 2"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
        (np.array([[1.0, 0.5], [0.4, 1.0]]), "not symmetric"),
        (np.array([[2.0, 0.5], [0.5, 1.0]]), "unit diagonal"),
        (np.array([[1.0, 1.5], [1.5, 1.0]]), r"\[-1, 1\]"),
    ],
)
def test_validate_similarity_errors(M, message):
    with pytest.raises(ValueError, match=message):
        S.validate_similarity(M)


def test_validate_similarity_cleans_rounding():
    M = np.array([[1.0 + 1e-12, 0.3 + 1e-12], [0.3, 1.0]])
    out = S.validate_similarity(M)
    assert np.array_equal(out, out.T) and np.all(np.diag(out) == 1.0)


def test_validate_in_row_blocks(generic, monkeypatch):
    """Checked and averaged a tile pair at a time; the same bits as numpy's whole-matrix
    average, and the same messages when a later tile pair fails (pairs before it averaged)."""
    from classsim_spark.core import symmetric

    monkeypatch.setattr(S, "_ROWS", 7)  # 40 classes: six blocks, the last one short
    monkeypatch.setattr(symmetric, "TILE", 6)  # seven tiles a side, the last one short
    rng = np.random.default_rng(8)
    noisy = generic + rng.uniform(-1e-10, 1e-10, size=generic.shape)
    out = S.validate_similarity(noisy)
    expected = np.clip((noisy + noisy.T) / 2, -1, 1)
    np.fill_diagonal(expected, 1.0)
    assert np.array_equal(out, expected)
    bad = generic.copy()
    bad[30, 5] += 0.01
    with pytest.raises(ValueError, match=r"not symmetric: \|M\[5, 30\] - M\[30, 5\]\|"):
        S.validate_similarity(bad)
    bad = generic.copy()
    bad[33, 2] = np.inf
    with pytest.raises(ValueError, match=r"1 non-finite entries, e.g. M\[33, 2\]"):
        S.validate_similarity(bad)
    bad = generic.copy()
    bad[31, 32] = bad[32, 31] = 1.2
    with pytest.raises(ValueError, match=r"\[-1, 1\]: M\[31, 32\] = 1.2"):
        S.validate_similarity(bad)


def test_correlation_symmetrised_by_tiles_equals_numpy(monkeypatch):
    """Moments.correlation averages r with its transpose tile by tile: bit for bit numpy's
    whole-matrix (r + r.T) / 2 of the same products, clipped."""
    from classsim_spark.core import symmetric
    from classsim_spark.core.moments import Moments

    x = np.random.default_rng(3).normal(size=(60, 45)) @ np.random.default_rng(4).normal(
        size=(45, 45)
    )
    mo = Moments.from_block(x)
    inv = 1.0 / np.sqrt(np.diag(mo.comoment))
    r = mo.comoment * inv[:, None] * inv[None, :]
    expected = np.clip((r + r.T) / 2.0, -1.0, 1.0)
    np.fill_diagonal(expected, 1.0)
    for tile in (7, 45, 128):
        monkeypatch.setattr(symmetric, "TILE", tile)
        assert np.array_equal(mo.correlation().matrix, expected)


def test_normality_matches_scipy_moments(generic):
    from scipy.stats import kurtosis, skew

    off = generic[np.triu_indices(len(generic), 1)]
    n = S.normality(generic)
    assert n["skewness"] == pytest.approx(skew(off), abs=1e-10)
    assert n["excess_kurtosis"] == pytest.approx(kurtosis(off), abs=1e-10)
    assert n["departure"] == pytest.approx(skew(off) ** 2 + kurtosis(off) ** 2 / 4, abs=1e-10)


def test_one_minus_r_and_euclidean(generic):
    M = generic
    assert np.allclose(S.distances(M), squareform(1 - M, checks=False), atol=1e-15)
    # sqrt(2 (1 - r)) is the distance between standardised, unit-norm score columns
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5))
    z = (x - x.mean(0)) / np.linalg.norm(x - x.mean(0), axis=0)
    r = np.corrcoef(x, rowvar=False)
    assert np.allclose(S.distances(r, euclidean=True), pdist(z.T), atol=1e-12)


def test_profile_distance_equals_pdist(generic, monkeypatch):
    assert np.allclose(S.distances(generic, "profile"), pdist(generic), atol=1e-14)
    monkeypatch.setattr(S, "PDIST_MAX", 5)  # the BLAS form used for large m
    assert np.allclose(S.distances(generic, "profile"), pdist(generic), atol=1e-9)


def test_clip_negative(generic):
    M = generic
    assert (M < 0).any()
    clipped = squareform(S.distances(M, clip_negative=True))
    negative = M < 0
    assert np.all(clipped[negative] == 1.0)  # anti-correlated = unrelated
    keep = ~negative & ~np.eye(len(M), dtype=bool)
    assert np.allclose(clipped[keep], 1 - M[keep])
    assert np.allclose(S.distances(M, "profile", clip_negative=True), pdist(np.maximum(M, 0)))
    for link in S.EUCLIDEAN_LINKAGES:
        with pytest.raises(ValueError, match="Euclidean"):
            S.hclust(M, "1-r", link, clip_negative=True)
        S.hclust(M, "profile", link, clip_negative=True)  # rows of the clipped matrix: fine


def test_bad_options(generic):
    with pytest.raises(ValueError, match="distance must be one of"):
        S.hclust(generic, distance="cosine")
    with pytest.raises(ValueError, match="linkage must be one of"):
        S.hclust(generic, linkage="median")
    with pytest.raises(ValueError, match="optimal_ordering"):
        S.hclust(generic, optimal_ordering="fast")


# ---------------------------------------------------------------------------------------------
# Hierarchical clustering and leaf ordering
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("distance", "linkage"), VALID)
def test_linkage_equals_scipy(generic, distance, linkage):
    M = generic
    if distance == "profile":
        d = pdist(M)
    elif linkage in ("ward", "centroid"):
        d = np.sqrt(2 * squareform(1 - M, checks=False))
    else:
        d = squareform(1 - M, checks=False)
    expected = hierarchy.linkage(d, method=linkage)
    s = S.hclust(M, distance, linkage, optimal_ordering="none")
    assert np.allclose(s.Z, expected, atol=1e-12)
    assert s.method == "hclust" and s.params["distance"] == distance
    for how in ("optimal", "greedy"):
        o = S.hclust(M, distance, linkage, optimal_ordering=how)
        # the same tree, only branches flipped; its leaves are the order
        assert np.allclose(hierarchy.cophenet(o.Z), hierarchy.cophenet(expected))
        assert np.array_equal(hierarchy.leaves_list(o.Z), o.order)
        assert sorted(o.order.tolist()) == list(range(len(M)))


def test_hand_checked_four_classes():
    M = np.array(
        [
            [1.0, 0.9, 0.0, 0.05],
            [0.9, 1.0, 0.05, 0.2],
            [0.0, 0.05, 1.0, 0.8],
            [0.05, 0.2, 0.8, 1.0],
        ]
    )
    # 1 - r: d01 = 0.1, d23 = 0.2 merge first, then the two pairs. Of the tree's layouts, the
    # seam 1|3 (d13 = 0.8) is the shortest: 0,1,3,2 has neighbour sum 0.1 + 0.8 + 0.2 = 1.1.
    # Ends 0 and 2 have distance sums 2.05 and 2.15: the more central end, 0, goes left.
    s = S.hclust(M)
    assert s.order.tolist() == [0, 1, 3, 2]
    assert S.hclust(M, optimal_ordering="greedy").order.tolist() == [0, 1, 3, 2]
    assert s.Z[:, 2].tolist() == pytest.approx([0.1, 0.2, 1.0])  # complete: max d02
    cut = hierarchy.fcluster(s.Z, 2, "maxclust")
    assert cut[0] == cut[1] != cut[2] == cut[3]


def test_optimal_leaf_ordering_is_optimal_by_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(25):
        m = int(rng.integers(3, 8))
        d = pdist(rng.normal(size=(m, 3)))
        Z = hierarchy.linkage(d, str(rng.choice(["complete", "average", "single", "ward"])))
        best = np.inf
        for flips in itertools.product([False, True], repeat=m - 1):
            f = np.array(flips)
            Zf = Z.copy()
            Zf[f, 0], Zf[f, 1] = Z[f, 1], Z[f, 0]
            best = min(best, path_length(d, hierarchy.leaves_list(Zf)))
        Zo = S.optimal_leaf_ordering(Z, d)
        assert path_length(d, hierarchy.leaves_list(Zo)) == pytest.approx(best, abs=1e-12)
        Zg = S.greedy_leaf_ordering(Z, d)
        assert path_length(d, hierarchy.leaves_list(Zg)) >= best - 1e-12
        assert np.allclose(hierarchy.cophenet(Zg), hierarchy.cophenet(Z))


def test_leaf_orderings_shorten_the_path(generic):
    d = S.distances(generic)
    Z = hierarchy.linkage(d, "average")
    none = path_length(d, hierarchy.leaves_list(Z))
    greedy = path_length(d, hierarchy.leaves_list(S.greedy_leaf_ordering(Z, d)))
    optimal = path_length(d, hierarchy.leaves_list(S.optimal_leaf_ordering(Z, d)))
    assert optimal <= greedy <= none


def test_auto_leaf_ordering_threshold(generic, monkeypatch):
    assert S.hclust(generic).params["leaf_ordering"] == "optimal"
    monkeypatch.setattr(S, "OLO_MAX_LEAVES", 10)
    s = S.hclust(generic)
    assert s.params["leaf_ordering"] == "greedy" and s.params["optimal_ordering"] == "auto"
    assert S.hclust(generic, optimal_ordering=True).params["leaf_ordering"] == "optimal"
    assert S.hclust(generic, optimal_ordering=False).params["leaf_ordering"] == "none"


# ---------------------------------------------------------------------------------------------
# Every method recovers planted blocks
# ---------------------------------------------------------------------------------------------


def all_orders(M, labels):
    yield "spectral", S.spectral(M).order
    yield "spectral-unclipped", S.spectral(M, clip_negative=False).order
    groups = [(f"g{x}",) for x in labels]
    yield "taxonomy", S.taxonomy_order(M, groups).order
    for (d, link), how in itertools.product(VALID, ("optimal", "greedy", "none")):
        yield f"hclust-{d}-{link}-{how}", S.hclust(M, d, link, optimal_ordering=how).order
    chosen, _ = S.choose({"logit": M})
    yield "choose", S.hclust(M, chosen["distance"], chosen["linkage"]).order


def test_planted_blocks_are_contiguous():
    rng = np.random.default_rng(3)
    M, labels = block_matrix(rng, [5, 4, 7, 3])
    for name, order in all_orders(M, labels):
        assert sorted(order.tolist()) == list(range(len(M))), name
        assert contiguous(order, labels), name


# ---------------------------------------------------------------------------------------------
# Spectral
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("clip", [True, False])
def test_spectral_sorts_a_chain(clip):
    m = 30
    idx = np.arange(m)
    chain = 0.8 ** np.abs(idx[:, None] - idx[None, :]) - 0.05  # Robinson, some negatives
    np.fill_diagonal(chain, 1.0)
    perm = np.random.default_rng(0).permutation(m)
    s = S.spectral(chain[np.ix_(perm, perm)], clip_negative=clip)
    recovered = perm[s.order].tolist()
    assert recovered in (list(range(m)), list(range(m))[::-1])
    assert s.Z is None and s.method == "spectral"
    assert s.params["components"] == [m]


def test_spectral_lanczos_path_agrees_with_dense(monkeypatch):
    rng = np.random.default_rng(6)
    M, labels = block_matrix(rng, [6, 5, 8])
    dense = S.spectral(M)
    monkeypatch.setattr(S, "SPECTRAL_DENSE_MAX", 5)  # components above 5 classes: eigsh
    sparse = S.spectral(M)
    assert np.array_equal(dense.order, sparse.order)
    assert contiguous(sparse.order, labels)


def test_spectral_components_and_sign_rule():
    # Two blocks with zero similarity between them: two components, the larger one first.
    M = np.zeros((7, 7))
    M[:3, :3] = 0.5
    M[3:, 3:] = 0.4
    np.fill_diagonal(M, 1.0)
    s = S.spectral(M)
    assert s.params["components"] == [4, 3]
    assert sorted(s.order[:4].tolist()) == [3, 4, 5, 6]
    assert S.spectral(M, clip_negative=False).params["components"] == [7]
    assert np.array_equal(S._orient(np.array([0.1, -0.7, 0.3])), [-0.1, 0.7, -0.3])


# ---------------------------------------------------------------------------------------------
# Taxonomy and given orders
# ---------------------------------------------------------------------------------------------


def test_taxonomy_order_groups_contiguous_in_path_order(generic):
    rng = np.random.default_rng(2)
    m = len(generic)
    level1 = rng.choice(["vehicle", "animal", "plant"], m)
    level2 = np.array([f"{a}-{b}" for a, b in zip(level1, rng.integers(0, 3, m), strict=True)])
    groups = list(zip(level1, level2, strict=True))
    s = S.taxonomy_order(generic, groups, linkage="average")
    paths = [groups[j] for j in s.order]
    assert paths == sorted(paths)  # coarse -> fine, lexicographic: every level contiguous
    assert contiguous(s.order, level1) and contiguous(s.order, level2)
    for span in s.params["spans"]:
        members = s.order[span["start"] : span["stop"]]
        assert all(groups[j] == tuple(span["path"]) for j in members)
        if len(members) >= 3:  # hclust order within the group
            sub = np.sort(members)
            expected = sub[S.hclust(generic[np.ix_(sub, sub)], linkage="average").order]
            assert np.array_equal(members, expected)
    assert s.params["within"]["linkage"] == "average"
    with pytest.raises(ValueError, match="one taxonomy path per class"):
        S.taxonomy_order(generic, groups[:-1])
    with pytest.raises(ValueError, match="non-empty tuple"):
        S.taxonomy_order(generic, ["vehicle"] * m)
    with pytest.raises(TypeError, match="unexpected hclust options"):
        S.taxonomy_order(generic, groups, method="ward")


def test_given_order_by_names_and_indices():
    names = ["cat", "dog", "car", "bus"]
    assert S.given_order(["car", "bus", "cat", "dog"], names).order.tolist() == [2, 3, 0, 1]
    s = S.given_order(np.array([3, 2, 1, 0]), names)
    assert s.order.tolist() == [3, 2, 1, 0] and s.params == {"source": "indices"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["cat", "dog", "car"], "missing: 'bus'"),
        (["cat", "dog", "car", "bus", "cat"], "duplicate: 'cat'"),
        (["cat", "dog", "car", "bike"], "unknown: 'bike'.*missing: 'bus'"),
        ([0, 1, 2, 7], "unknown: 7.*missing: 3"),
        ([0, 1, 1, 2, 3], "duplicate: 1"),
        ([0, "dog", 2, 3], "all class indices or all class names"),
        ([True, False, 2, 3], "all class indices or all class names"),
        ([], "empty"),
    ],
)
def test_given_order_errors(given, message):
    with pytest.raises(ValueError, match=message):
        S.given_order(given, ["cat", "dog", "car", "bus"])


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


def methods(M):
    yield "hclust-optimal", S.hclust(M, linkage="average")
    yield "hclust-greedy", S.hclust(M, linkage="average", optimal_ordering="greedy")
    yield "hclust-profile-ward", S.hclust(M, "profile", "ward")
    yield "spectral", S.spectral(M)


def test_same_input_same_output(generic):
    for (name, a), (_, b) in zip(methods(generic), methods(generic.copy()), strict=True):
        assert np.array_equal(a.order, b.order), name
        if a.Z is not None:
            assert np.array_equal(a.Z, b.Z), name


def test_permuted_input_gives_the_same_grouping_and_order(generic):
    perm = np.random.default_rng(9).permutation(len(generic))
    P = generic[np.ix_(perm, perm)]
    for (name, a), (_, b) in zip(methods(generic), methods(P), strict=True):
        # the orientation rule (more central end first) makes even the order follow the classes
        assert np.array_equal(perm[b.order], a.order), name
        if a.Z is not None:
            for k in (2, 5, 9):
                ca = hierarchy.fcluster(a.Z, k, "maxclust")
                cb = np.empty_like(ca)
                cb[perm] = hierarchy.fcluster(b.Z, k, "maxclust")
                # the same partition, whatever the cluster numbers
                assert len(set(zip(ca, cb, strict=True))) == len(set(ca)), (name, k)


def test_to_json_round_trip(generic):
    s = S.hclust(generic)
    data = json.loads(json.dumps(s.to_json()))
    assert data["order"] == s.order.tolist() and data["params"]["linkage"] == "complete"


# ---------------------------------------------------------------------------------------------
# Automatic choice
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_choice():
    """Three 'transforms' of one nested structure: near-normal, skewed and heavy-tailed.

    'logit' is a noisy two-level hierarchy with near-normal similarities; 'probability' squashes
    it (most values near 0, a few large: skewed); 'rank' cubes it (heavy tails).
    """
    rng = np.random.default_rng(4)
    m = 36
    top = np.repeat(np.arange(3), 12)
    mid = np.repeat(np.arange(9), 4)
    n = 300
    x = (
        0.8 * rng.normal(size=(n, 3))[:, top]
        + 1.0 * rng.normal(size=(n, 9))[:, mid]
        + 1.2 * rng.normal(size=(n, m))
    )
    logit = np.corrcoef(x, rowvar=False)
    prob = np.where(np.eye(m, dtype=bool), 1.0, np.exp(4 * (logit - 1)))
    rank = logit**3
    return {"logit": logit, "probability": prob, "rank": rank}, mid


def test_choose_normality_cophenetic_picks_the_planted_best(planted_choice):
    matrices, mid = planted_choice
    chosen, candidates = S.choose(matrices, criterion="normality>cophenetic")
    assert len(candidates) == 3 * len(S.DISTANCES) * len(S.LINKAGES)
    assert [(c["transform"], c["distance"], c["linkage"]) for c in candidates] == list(
        itertools.product(("logit", "probability", "rank"), S.DISTANCES, S.LINKAGES)
    )
    norm = {c["transform"]: c["normality"] for c in candidates}
    assert norm["logit"] < min(norm["probability"], norm["rank"])
    assert chosen["transform"] == "logit"
    logit = [c for c in candidates if c["transform"] == "logit"]
    best = max(logit, key=lambda c: c["cophenetic"])
    assert (chosen["distance"], chosen["linkage"]) == (best["distance"], best["linkage"])
    assert chosen["score"] == best["cophenetic"]
    assert chosen["criterion"] == "normality>cophenetic"
    # UPGMA is the tree that best preserves the similarities; it also recovers the planted groups
    assert (chosen["distance"], chosen["linkage"]) == ("1-r", "average")
    s = S.hclust(matrices["logit"], chosen["distance"], chosen["linkage"])
    assert contiguous(s.order, mid)
    for c in candidates:
        assert set(c) >= {
            "skewness",
            "excess_kurtosis",
            "normality",
            "cophenetic",
            "cophenetic_own",
            "inversions",
            "classes_used",
            "skipped",
        }
    json.dumps([chosen, candidates])  # serialisable, for groups.json
    assert S.choose(matrices, criterion="normality>cophenetic") == (chosen, candidates)


def test_choose_fixed_is_the_default_and_yields_to_fixed_dimensions(planted_choice):
    matrices, _ = planted_choice
    chosen, candidates = S.choose(matrices)
    assert S.FIXED_CHOICE == {"transform": "logit", "distance": "1-r", "linkage": "average"}
    assert (chosen["transform"], chosen["distance"], chosen["linkage"]) == (
        "logit",
        "1-r",
        "average",
    )
    pick = next(
        c
        for c in candidates
        if (c["transform"], c["distance"], c["linkage"]) == ("logit", "1-r", "average")
    )
    assert chosen["criterion"] == "fixed" and chosen["score"] == pick["cophenetic"]
    assert chosen["normality"] == pick["normality"]
    # the same candidate table whatever the rule: only the pick differs
    assert candidates == S.choose(matrices, criterion="normality>cophenetic")[1]
    # a dimension the caller fixed keeps the caller's value
    chosen, _ = S.choose(matrices, linkages=("complete",))
    assert (chosen["transform"], chosen["distance"], chosen["linkage"]) == (
        "logit",
        "1-r",
        "complete",
    )
    chosen, _ = S.choose(matrices, transforms=("rank",), distances=("profile",))
    assert (chosen["transform"], chosen["distance"], chosen["linkage"]) == (
        "rank",
        "profile",
        "average",
    )
    # without a logit matrix, the most normal transform
    others = {t: matrices[t] for t in ("probability", "rank")}
    departure = {t: S.normality(M)["departure"] for t, M in others.items()}
    chosen, _ = S.choose(others)
    assert chosen["transform"] == min(departure, key=departure.get)
    assert (chosen["distance"], chosen["linkage"]) == ("1-r", "average")
    with pytest.raises(ValueError, match="criterion must be one of"):
        S.choose(matrices, criterion="best")


def test_choose_restrictions_and_skips(planted_choice):
    matrices, _ = planted_choice
    chosen, candidates = S.choose(matrices, transforms="rank", linkages=("complete", "ward"))
    assert chosen["transform"] == "rank" and chosen["linkage"] in ("complete", "ward")
    assert len(candidates) == 4
    chosen, candidates = S.choose(matrices, transforms=("logit",), clip_negative=True)
    skipped = [c for c in candidates if c["skipped"]]
    assert {(c["distance"], c["linkage"]) for c in skipped} == {
        ("1-r", "ward"),
        ("1-r", "centroid"),
    }
    assert (chosen["distance"], chosen["linkage"]) not in {("1-r", "ward"), ("1-r", "centroid")}
    chosen, candidates = S.choose(matrices, transforms=("logit",), max_classes=20)
    assert chosen["classes_used"] == 20 and all(c["classes_used"] == 20 for c in candidates)
    with pytest.raises(ValueError, match="transform must be one of"):
        S.choose(matrices, transforms=("softmax",))
    with pytest.raises(ValueError, match="same number of classes"):
        S.choose({"logit": matrices["logit"], "rank": matrices["rank"][:5, :5]})
    with pytest.raises(ValueError, match="non-empty dict"):
        S.choose({})


def test_a_validated_matrix_is_checked_once():
    """validate_similarity's result is read-only and passes through again without a copy; any
    other array, even an equal one, is checked and copied."""
    from classsim_spark.core.seriation import is_validated_similarity, validate_similarity
    from classsim_spark.core.structure import _check_matrix

    M = np.array([[1.0, 0.5], [0.5 + 1e-12, 1.0]])
    V = validate_similarity(M)
    assert V is not M and V[0, 1] == V[1, 0] and not V.flags.writeable
    assert validate_similarity(V) is V and _check_matrix(V) is V and is_validated_similarity(V)
    with pytest.raises(ValueError, match="read-only"):
        V[0, 1] = 0.9
    equal = V.copy()  # writeable, so it could change: checked again
    assert not is_validated_similarity(equal) and validate_similarity(equal) is not equal
    assert not is_validated_similarity(V[:1, :1]) and not is_validated_similarity(M)
    bad = V.copy()
    bad[0, 1] = 0.9
    with pytest.raises(ValueError, match="not symmetric"):
        validate_similarity(bad)
