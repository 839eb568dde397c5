"""Structure of a similarity matrix (pure numpy): blocks, flames, split and failed groups,
near-duplicates and stars, on constructed matrices and on the planted demo data."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform
from scipy.stats import rankdata

from classsim_spark.core import structure as st
from classsim_spark.core.findings import Finding
from classsim_spark.demo.generator import DemoSpec, generate


def tree(M, method="complete"):
    Z = linkage(squareform(1 - M, checks=False), method)
    return Z, leaves_list(Z)


def as_json(obj):
    """``obj`` with every finding replaced by its ``to_json()``."""
    if isinstance(obj, Finding):
        return obj.to_json()
    if isinstance(obj, list | tuple):
        return [as_json(x) for x in obj]
    if isinstance(obj, dict):
        return {k: as_json(v) for k, v in obj.items()}
    return obj


def jsonable(obj) -> None:
    """The findings' JSON has no NaN and only plain Python types (no numpy scalars)."""
    obj = as_json(obj)
    json.dumps(obj, allow_nan=False)

    def walk(x):
        assert type(x) in (dict, list, tuple, str, int, float, bool, type(None)), type(x)
        if isinstance(x, dict):
            assert all(type(k) is str for k in x), list(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list | tuple):
            for v in x:
                walk(v)

    walk(obj)


def nested_matrix(tops=4, mids=3, per=4, within_mid=0.6, within_top=0.3, noise=0.03, seed=0):
    """Classes in ``tops`` top groups of ``mids`` middle groups of ``per`` classes, shuffled."""
    rng = np.random.default_rng(seed)
    m = tops * mids * per
    perm = rng.permutation(m)
    top = np.empty(m, dtype=int)
    mid = np.empty(m, dtype=int)
    top[perm] = np.arange(m) // (mids * per)
    mid[perm] = np.arange(m) // per
    M = np.where(top[:, None] == top[None, :], within_top, 0.0)
    M = np.where(mid[:, None] == mid[None, :], within_mid, M)
    E = rng.normal(0, noise, (m, m))
    M = M + (E + E.T) / 2
    np.fill_diagonal(M, 1.0)
    return M, top, mid


# --------------------------------------------------------------------------- blocks


def test_blocks_recover_a_two_level_hierarchy():
    M, top, mid = nested_matrix()
    Z, order = tree(M)
    names = [f"c{i}" for i in range(len(M))]
    bl = st.blocks(M, Z, order, names)
    jsonable(bl)
    level1 = [b for b in bl if b.level == 1]
    level2 = [b for b in bl if b.level == 2]
    assert sorted(len(set(top[b.member_ids])) for b in level1) == [1, 1, 1, 1]
    assert sorted(b.size for b in level1) == [12] * 4
    assert len(level2) == 12 and all(len(set(mid[b.member_ids])) == 1 for b in level2)
    assert [b.id for b in bl] == list(range(len(bl)))
    assert bl == sorted(bl, key=lambda b: (b.level, b.start))
    by_id = {b.id: b for b in bl}
    for b in bl:
        assert b.contiguous and b.end - b.start == b.size
        assert [int(order[p]) for p in range(b.start, b.end)] == b.member_ids
        assert b.members == [names[i] for i in b.member_ids]
        if b.level == 1:
            assert b.parent is None
        else:
            parent = by_id[b.parent]
            assert set(b.member_ids) < set(parent.member_ids)
            assert parent.start <= b.start < b.end <= parent.end
        assert b.label == ", ".join(b.central) and len(b.central) == 3
        assert b.contrast == pytest.approx(b.within_mean - b.outside_mean)
    assert np.mean([b.within_mean for b in level2]) == pytest.approx(0.6, abs=0.02)
    # within-mean of a top block: 3 of its 11 partners are in the same middle group
    assert level1[0].within_mean == pytest.approx((3 * 0.6 + 8 * 0.3) / 11, abs=0.02)
    assert level1[0].outside_mean == pytest.approx(0.0, abs=0.02)


def test_blocks_taxonomy_labels_and_purity():
    M, top, mid = nested_matrix()
    Z, order = tree(M)
    tax = [(f"T{t}", f"T{t}.M{g}") for t, g in zip(top, mid, strict=True)]
    tax[int(np.flatnonzero(top == 0)[0])] = ("T9", "T9.M99")  # one mislabelled class
    bl = st.blocks(M, Z, order, [str(i) for i in range(len(M))], taxonomy=tax)
    level1 = [b for b in bl if b.level == 1]
    assert sorted(b.label for b in level1) == ["T0", "T1", "T2", "T3"]
    t0 = next(b for b in level1 if b.label == "T0")
    assert t0.taxonomy[0] == {"level": 0, "label": "T0", "purity": 11 / 12}
    assert all(b.label == b.taxonomy[1]["label"] for b in bl if b.level == 2)


def test_blocks_explicit_levels_and_other_orders():
    M, top, _ = nested_matrix()
    Z, order = tree(M)
    names = [str(i) for i in range(len(M))]
    bl = st.blocks(M, Z, order, names, levels=[2, 4, 12])
    assert [sum(b.level == k for b in bl) for k in (1, 2, 3)] == [2, 4, 12]
    assert all(b.modularity is None for b in bl)
    for b in bl:
        if b.level > 1:
            assert set(b.member_ids) <= set(bl[b.parent].member_ids)
    jsonable(bl)
    # a leaf order of the same tree keeps blocks contiguous; an unrelated order does not
    assert all(b.contiguous for b in st.blocks(M, Z, order[::-1], names))
    shuffled = st.blocks(M, Z, np.random.default_rng(1).permutation(len(M)), names)
    assert not all(b.contiguous for b in shuffled)
    assert [b.member_ids for b in shuffled if b.level == 1] != []


def test_blocks_without_structure_is_one_block():
    rng = np.random.default_rng(3)
    E = rng.normal(0, 0.05, (30, 30))
    M = (E + E.T) / 2
    np.fill_diagonal(M, 1)
    Z, order = tree(M)
    bl = st.blocks(M, Z, order, [str(i) for i in range(30)], min_modularity=0.3)
    assert [(b.level, b.size) for b in bl] == [(1, 30)]
    assert bl[0].outside_mean is None and bl[0].contrast is None


# --------------------------------------------------------------------------- spans


def test_spans_flag_the_planted_flame_only():
    M, top, mid = nested_matrix(noise=0.02, seed=4)
    Z, order = tree(M)
    A = np.flatnonzero(top == 0)
    flame = int(np.flatnonzero(top == 2)[0])
    M[flame, A] = M[A, flame] = 0.35  # one class of top group 2 leans on top group 0
    Z, order = tree(M)
    bl = st.blocks(M, Z, order, [f"c{i}" for i in range(len(M))])
    sp = st.flames(M, order, bl, names=[f"c{i}" for i in range(len(M))])
    jsonable(sp)
    assert [s.block for s in sp] == [b.id for b in bl if b.level == 1]
    flagged = {(s.block, r.class_id) for s in sp for r in s.rows}
    block_a = next(b.id for b in bl if b.level == 1 and set(b.member_ids) == set(A))
    assert flagged == {(block_a, flame)}
    row = next(s for s in sp if s.block == block_a).rows[0]
    assert row.name == f"c{flame}" and row.coverage == 1.0
    assert row.mean_similarity == pytest.approx(0.35) and row.z >= 3 and row.lift > 0.5
    assert row.position == int(np.flatnonzero(order == flame)[0])
    assert row.offset != 0  # outside the block's span, signed distance to it


# --------------------------------------------------------------------------- split groups


def test_split_groups_find_the_planted_off_diagonal_block():
    M, top, mid = nested_matrix(tops=4, mids=3, per=5, noise=0.03, seed=5)
    a = np.flatnonzero(mid == 1)  # top group 0
    b = np.flatnonzero(mid == 10)  # top group 3
    M[np.ix_(a, b)] += 0.2
    M[np.ix_(b, a)] += 0.2
    Z, order = tree(M)
    bl = st.blocks(M, Z, order, [str(i) for i in range(len(M))])
    sg = st.split_groups(M, Z, order, bl)
    jsonable(sg)
    assert len(sg) >= 1
    best = sg[0]
    got = {frozenset(bl[i].member_ids) for i in best.blocks}
    assert got == {frozenset(a.tolist()), frozenset(b.tolist())}
    assert best.mean_similarity == pytest.approx(0.2, abs=0.02)
    assert best.z >= 3 and 0 < best.p_empirical <= 2 / best.background["pairs"]
    assert best.p_normal < 1e-3 and best.top_blocks[0] != best.top_blocks[1]
    assert best.join_height == pytest.approx(Z[-1, 2]) or best.join_height > 0.9
    assert [g.z for g in sg] == sorted((g.z for g in sg), reverse=True)
    for g in sg:  # each pair's mean, recomputed from its blocks' member ids
        ids = [bl[i].member_ids for i in g.blocks]
        assert g.mean_similarity == pytest.approx(M[np.ix_(*ids)].mean(), rel=1e-12)
    # without the planted block nothing stands out
    M0, *_ = nested_matrix(tops=4, mids=3, per=5, noise=0.03, seed=5)
    Z0, order0 = tree(M0)
    bl0 = st.blocks(M0, Z0, order0, [str(i) for i in range(len(M0))])
    assert all(g.z < 5 for g in st.split_groups(M0, Z0, order0, bl0))


# --------------------------------------------------------------------------- near-duplicates, stars


def test_near_duplicates_rank_identical_profiles_first():
    M, top, mid = nested_matrix(seed=6)
    i, j = map(int, np.flatnonzero(mid == 4)[:2])
    M[i, :] = M[:, i] = M[j, :] + np.random.default_rng(0).normal(0, 0.01, len(M))
    M[i, i] = 1.0
    M[i, j] = M[j, i] = 0.97
    M = (M + M.T) / 2
    nd = st.near_duplicates(M, [str(k) for k in range(len(M))], min_similarity=0.5)
    jsonable(nd)
    assert nd[0].class_ids == sorted([i, j]) and nd[0].rank == 1
    assert nd[0].profile_correlation > 0.99 and nd[0].max_abs_diff < 0.1
    assert nd[0].score == pytest.approx(min(nd[0].similarity, nd[0].profile_correlation))
    assert [d.score for d in nd] == sorted((d.score for d in nd), reverse=True)
    # default threshold: only pairs beyond the far-out fence (the duplicate, not the groups)
    assert [d.class_ids for d in st.near_duplicates(M, list(map(str, range(len(M)))))] == [
        sorted([i, j])
    ]
    # every candidate pair, its similarity and ids, against numpy's upper triangle
    every = st.near_duplicates(M, list(map(str, range(len(M)))), 0.3, min_profile=-1, top=None)
    iu, ju = np.triu_indices(len(M), 1)
    above = M[iu, ju] >= 0.3
    assert sorted(d.class_ids for d in every) == sorted(
        map(list, zip(iu[above].tolist(), ju[above].tolist(), strict=True))
    )
    assert all(d.similarity == M[d.class_ids[0], d.class_ids[1]] for d in every)


def test_stars_by_similarity_and_by_cooccurrence():
    rng = np.random.default_rng(7)
    m = 40
    E = rng.normal(0, 0.1, (m, m))
    M = (E + E.T) / 2
    M[5, :] = M[:, 5] = 0.5 + rng.normal(0, 0.05, m)
    np.fill_diagonal(M, 1)
    names = [f"k{i}" for i in range(m)]
    s = st.stars(M, names)
    jsonable(s)
    assert [x.name for x in s] == ["k5"]
    assert s[0].degree >= 30 and s[0].cooccurrence_degree is None
    C = np.zeros((m, m), dtype=int)
    for a in range(0, m, 2):
        C[a, a + 1] = C[a + 1, a] = 3
    C[17, :] = C[:, 17] = 2
    np.fill_diagonal(C, 50)
    s = st.stars(M, names, cooccurrence=C)
    assert [x.name for x in s] == ["k5", "k17"] or [x.name for x in s] == ["k17", "k5"]
    k17 = next(x for x in s if x.name == "k17")
    assert k17.cooccurrence_degree == m - 1 and k17.cooccurrence_share > 1
    with pytest.raises(ValueError, match="symmetric"):
        st.stars(M, names, cooccurrence=np.triu(C))


def test_stars_across_top_blocks():
    # unequal groups: without blocks the members of the big group have the big degrees
    M, top, mid = nested_matrix(tops=4, mids=3, per=5, noise=0.03, seed=9)
    hub = int(np.flatnonzero(top == 1)[0])
    others = np.flatnonzero((top == 2) | (top == 3))
    M[hub, others] = M[others, hub] = 0.3
    Z, order = tree(M)
    names = [str(i) for i in range(len(M))]
    bl = st.blocks(M, Z, order, names)
    s = st.stars(M, names, block_list=bl)
    assert [x.class_id for x in s] == [hub]
    assert s[0].degree_scope == "other_top_blocks" and s[0].degree >= len(others)


# --------------------------------------------------------------------------- demo data


def demo_structure(seed: int, transform: str = "logit") -> dict:
    data = generate(DemoSpec(seed=seed))
    scores = data.scores.astype(np.float64)
    if transform == "rank":
        scores = rankdata(scores, axis=1)
    M = np.corrcoef(scores, rowvar=False)
    Z, order = tree(M)
    tax = data.taxonomy
    names = tax["name"].tolist()
    taxonomy = list(zip(tax["level1"], tax["level2"], strict=True))
    bl = st.blocks(M, Z, order, names, taxonomy=taxonomy)
    failed, u, info = st.failed_groups(M, order, bl, names=names)
    return {
        "key": (seed, transform),
        "transform": transform,
        "M": M,
        "Z": Z,
        "order": order,
        "names": names,
        "tax": tax,
        "answers": data.answers,
        "blocks": bl,
        "spans": st.flames(M, order, bl, names=names),
        "split": st.split_groups(M, Z, order, bl),
        "failed": failed,
        "memberships": u,
        "info": info,
        "dups": st.near_duplicates(M, names),
        "stars": st.stars(M, names, block_list=bl),
    }


@pytest.fixture(scope="module", params=[(0, "logit"), (5, "logit"), (0, "rank")], ids=str)
def demo(request):
    return demo_structure(*request.param)


def dominated(block: dict, members: set[str]) -> bool:
    return len(set(block.members) & members) / block.size >= 0.5


def test_demo_top_blocks_match_level1(demo):
    top = [b for b in demo["blocks"] if b.level == 1]
    labels = {b.taxonomy[0]["label"] for b in top}
    if demo["transform"] == "rank":
        # on ranks (seed 0) complete linkage merges vehicle into building: 5 top blocks
        assert len(labels) >= len(set(demo["tax"]["level1"])) - 1
    else:
        assert labels == set(demo["tax"]["level1"])
    weights = np.array([b.size for b in top])
    purity = np.array([b.taxonomy[0]["purity"] for b in top])
    assert (weights * purity).sum() / weights.sum() >= 0.9
    assert sum(b.size for b in top) == len(demo["M"])


def test_demo_near_duplicates_ranked_first(demo):
    planted = {frozenset(d["names"]) for d in demo["answers"]["near_duplicates"]}
    assert {frozenset(d.names) for d in demo["dups"][:3]} == planted
    assert all(d.profile_correlation > 0.99 for d in demo["dups"][:3])


def test_demo_cross_cutting_factor_is_a_failed_group(demo):
    planted = set(demo["answers"]["cross_cutting"]["names"])
    assert demo["failed"], demo["info"]
    best = demo["failed"][0]
    core = set(best.members)
    assert len(core & planted) >= 0.75 * len(planted)  # most planted classes
    assert len(core & planted) >= 0.75 * len(core)  # and few others
    assert best.n_top_blocks >= 3 and best.dispersion >= 0.5
    assert best.positions == sorted(best.positions)
    u = demo["memberships"]
    assert u.shape == (len(demo["M"]), demo["info"]["c"] + 1)  # + the background cluster
    assert np.allclose(u.sum(axis=1), 1)
    jsonable([demo["failed"], demo["info"]])


def test_demo_split_group(demo):
    split = demo["answers"]["split_group"]
    A, B = (set(x["names"]) for x in split["members"])
    bl = demo["blocks"]
    assert demo["split"], "no split group"
    best = [bl[i] for i in demo["split"][0].blocks]
    top_of = {n: b.id for b in bl if b.level == 1 for n in b.members}
    if len({top_of[n] for n in A} | {top_of[n] for n in B}) == 1 or any(
        top_of[a] == top_of[b] for a in A for b in B
    ):
        # The tree merged the two planted middle groups (complete linkage on logits, seed 0:
        # bread joins the reptiles). The block the tree split off is then the planted group
        # in the other branch, and the split group pairs it with its own taxonomy group.
        a_block = next(b for b in best if dominated(b, A) or dominated(b, B))
        planted = A if dominated(a_block, A) else B
        home = {demo["tax"].set_index("name").loc[n, "level1"] for n in planted}
        other = next(b for b in best if b is not a_block)
        assert other.taxonomy[0]["label"] in home
    else:
        assert sorted(dominated(b, A) + 2 * dominated(b, B) for b in best) == [1, 2]
    jsonable(demo["split"])


def test_demo_outputs_are_json_and_deterministic(demo):
    jsonable([demo["blocks"], demo["spans"], demo["split"], demo["dups"], demo["stars"]])
    again = st.failed_groups(demo["M"], demo["order"], demo["blocks"], names=demo["names"])
    assert again[0] == demo["failed"] and np.array_equal(again[1], demo["memberships"])
    assert (
        st.blocks(
            demo["M"],
            demo["Z"],
            demo["order"],
            demo["names"],
            taxonomy=list(zip(demo["tax"]["level1"], demo["tax"]["level2"], strict=True)),
        )
        == demo["blocks"]
    )


def test_failed_groups_rows_features_and_explicit_c(demo):
    if demo["key"] != (0, "logit"):
        pytest.skip("one demo is enough")
    # the paper's recipe, fuzzy c-means on the raw rows of M: runs and returns the documented
    # shapes; its clusters follow the tree's blocks, so the planted group is not among them
    groups, u, info = st.failed_groups(
        demo["M"], demo["order"], demo["blocks"], features="rows", c=6
    )
    assert u.shape == (len(demo["M"]), 6) and info["features"] == "rows" and info["c"] == 6
    assert not info["background"] and np.allclose(u.sum(axis=1), 1)
    planted = set(demo["answers"]["cross_cutting"]["names"])
    assert all(len(set(g.members) & planted) < len(planted) / 2 for g in groups)
    jsonable([groups, info])
    # an explicit c with residual features
    groups, u, info = st.failed_groups(demo["M"], demo["order"], demo["blocks"], c=2)
    assert u.shape == (len(demo["M"]), 3) and info["c"] == 2 and info["c_scores"] == {}
    groups, u, info = st.failed_groups(demo["M"], demo["order"], demo["blocks"], c=1)
    assert u.shape == (len(demo["M"]), 2) and groups  # background + the planted group


# --------------------------------------------------------------------------- edge cases


def run_all(M, names=None):
    m = len(M)
    names = names or [f"x{i}" for i in range(m)]
    Z, order = tree(M)
    bl = st.blocks(M, Z, order, names)
    out = {
        "blocks": bl,
        "spans": st.flames(M, order, bl, names=names),
        "split": st.split_groups(M, Z, order, bl),
        "failed": st.failed_groups(M, order, bl, names=names),
        "dups": st.near_duplicates(M, names),
        "stars": st.stars(M, names),
    }
    jsonable({k: v for k, v in out.items() if k != "failed"})
    jsonable([out["failed"][0], out["failed"][2]])
    return out


def test_two_and_three_classes():
    out = run_all(np.array([[1.0, 0.3], [0.3, 1.0]]))
    assert [(b.level, b.size) for b in out["blocks"]] == [(1, 2)]
    assert out["spans"] == [] and out["split"] == [] and out["failed"][0] == []
    assert out["dups"] == [] and out["stars"] == []
    M3 = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.1], [0.0, 0.1, 1.0]])
    out = run_all(M3)
    assert out["failed"][0] == [] and out["split"] == []
    assert all(b.size >= 2 for b in out["blocks"])


def test_constant_blocks():
    M = np.kron(np.eye(3), np.ones((4, 4)))
    out = run_all(M)
    level1 = [b for b in out["blocks"] if b.level == 1]
    assert sorted(b.size for b in level1) == [4, 4, 4]
    assert all(b.within_mean == 1.0 and b.contrast == 1.0 for b in level1)
    assert out["failed"][0] == [] and out["failed"][2]["rank"] == 0  # the blocks explain it all
    assert out["spans"] and all(s.rows == [] for s in out["spans"])
    dups = out["dups"]  # identical columns: every within-block pair is a duplicate
    assert len(dups) == 18 and all(d.similarity == 1.0 for d in dups)


def test_zero_variance_classes():
    M, *_ = nested_matrix(seed=8)
    dead = [3, 17]
    M[dead, :] = 0.0
    M[:, dead] = 0.0
    M[dead, dead] = 1.0
    out = run_all(M)
    for d in out["dups"]:
        assert not set(d.class_ids) & set(dead)
    assert not {s.class_id for s in out["stars"]} & set(dead)
    for g in out["failed"][0]:
        assert not set(g.member_ids) & set(dead)
    assert np.isfinite(out["failed"][1]).all()


def test_validation_errors():
    M, *_ = nested_matrix(tops=2, mids=2, per=3)
    Z, order = tree(M)
    names = [str(i) for i in range(len(M))]
    bad = M.copy()
    bad[0, 1] += 0.1
    with pytest.raises(ValueError, match="symmetric"):
        st.blocks(bad, Z, order, names)
    with pytest.raises(ValueError, match="NaN"):
        st.near_duplicates(np.where(np.eye(len(M)) > 0, np.nan, M), names)
    with pytest.raises(ValueError, match="permutation"):
        st.blocks(M, Z, np.zeros(len(M), dtype=int), names)
    with pytest.raises(ValueError, match="linkage"):
        st.blocks(M, Z[:-1], order, names)
    with pytest.raises(ValueError, match="names"):
        st.stars(M, names[:-1])
    with pytest.raises(ValueError, match="levels"):
        st.blocks(M, Z, order, names, levels=[4, 2])
    with pytest.raises(ValueError, match="taxonomy"):
        st.blocks(M, Z, order, names, taxonomy=[("a",)] * 3)
    bl = st.blocks(M, Z, order, names)
    with pytest.raises(ValueError, match="features"):
        st.failed_groups(M, order, bl, features="pca")
    with pytest.raises(ValueError, match="core"):
        st.failed_groups(M, order, bl, core=0)
    with pytest.raises(ValueError, match="block_list"):
        st.flames(M, order, [{"member_ids": [1], "level": 1}])  # not a Block
    with pytest.raises(ValueError, match="block_list"):
        st.flames(M, order, [replace(bl[0], member_ids=[99])])  # not a class of M
    with pytest.raises(ValueError, match="square"):
        st.stars(np.ones((1, 1)), ["a"])


def test_robust_center_scale():
    assert st.robust_center_scale([1.0, 2.0, 3.0, 4.0, 100.0]) == (3.0, 1.4826)
    assert st.robust_center_scale([2.0, 2.0, 2.0]) == (2.0, 0.0)
    c, s = st.robust_center_scale([0.0, 0.0, 0.0, 0.0, 1.0])  # MAD 0: falls back to the SD
    assert c == 0.0 and s == pytest.approx(0.4)


@pytest.mark.parametrize("method", ["average", "single"])  # single: a chain-like tree
def test_block_numbers_equal_numpy_on_the_members(method):
    """Every block's means, central classes and level-1 modularity, recomputed from its member
    ids with numpy (the tree's sums come from slices of the leaf-ordered matrix)."""
    rng = np.random.default_rng(11)
    m = 90
    X = rng.normal(size=(400, 6)) @ rng.normal(size=(6, m)) + rng.normal(size=(400, m))
    M = np.corrcoef(X, rowvar=False)
    M = (M + M.T) / 2  # exactly symmetric, unit diagonal: a pair's two rows tie exactly
    np.fill_diagonal(M, 1.0)
    Z = linkage(squareform(1 - M, checks=False), method)
    order = leaves_list(Z)[::-1]  # a display order other than the tree's own leaf order
    bl = st.blocks(M, Z, order, [str(i) for i in range(m)])
    assert bl
    off = ~np.eye(m, dtype=bool)
    pos = np.argsort(order)
    for b in bl:
        ids = np.array(b.member_ids)
        inside = np.zeros(m, dtype=bool)
        inside[ids] = True
        assert b.within_mean == pytest.approx(M[np.ix_(ids, ids)][off[np.ix_(ids, ids)]].mean())
        assert b.outside_mean == pytest.approx(M[np.ix_(ids, ~inside)].mean())
        row_means = (M[np.ix_(ids, ids)].sum(axis=1) - 1.0) / (len(ids) - 1)
        want = ids[np.lexsort((pos[ids], -row_means))][:3]
        assert b.central == [str(i) for i in want]
    W = np.where(off, np.maximum(M, 0.0), 0.0)
    top = [np.array(b.member_ids) for b in bl if b.level == 1]
    alone = set(range(m)) - {i for c in top for i in c}  # clusters of one class: no block
    top += [np.array([i]) for i in sorted(alone)]
    if len(top) > 1:
        q = sum(W[np.ix_(c, c)].sum() / W.sum() - (W[c].sum() / W.sum()) ** 2 for c in top)
        assert bl[0].modularity == pytest.approx(q, abs=1e-9)
