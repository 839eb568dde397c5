"""Taxonomy agreement: reading taxonomy files, flat comparisons (ARI, NMI against scikit-learn),
dendrogram purity (by hand and against a brute-force implementation), tree distance, cophenetic
agreement and the label-baseline trees."""

from __future__ import annotations

import csv
import json
import logging
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from classsim_spark.core.taxonomy import (
    Taxonomy,
    TaxonomyError,
    adjusted_rand,
    agreement,
    cophenetic_agreement,
    dendrogram_purity,
    linkage_from_matrix,
    nmi,
    taxonomy_distance,
    tree_cut,
)
from classsim_spark.io.taxonomy_file import read_taxonomy

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# A nested 3-level taxonomy of 24 classes with unique group names per level:
# 2 top groups x 3 middle groups x 4 classes; the finest level pairs classes up.
NESTED = Taxonomy(
    levels=("top", "middle", "fine"),
    paths=[(f"t{i // 12}", f"m{i // 4}", f"f{i // 2}") for i in range(24)],
)


def random_tree(rng: np.random.Generator, m: int, method: str = "average") -> np.ndarray:
    return hierarchy.linkage(rng.normal(size=(m, 3)), method)


def perfect_tree(tax: Taxonomy) -> np.ndarray:
    """Complete linkage on the taxonomy distance: the taxonomy's own tree (cophenetic = it)."""
    return hierarchy.linkage(taxonomy_distance(tax), "complete")


def leaf_sets(Z: np.ndarray) -> list[frozenset[int]]:
    """Leaves under every node of the tree: leaves first, then one set per row of Z."""
    m = Z.shape[0] + 1
    sets = [frozenset([i]) for i in range(m)]
    for a, b in Z[:, :2].astype(int):
        sets.append(sets[a] | sets[b])
    return sets


def brute_force_purity(Z: np.ndarray, labels) -> float:
    """Heller & Ghahramani's definition, literally: O(m^3)."""
    sets = leaf_sets(Z)[Z.shape[0] + 1 :]
    labels = list(labels)
    total, pairs = 0.0, 0
    for i, j in combinations(range(len(labels)), 2):
        if labels[i] != labels[j]:
            continue
        lca = next(s for s in sets if i in s and j in s)  # the first node holding both
        total += sum(labels[k] == labels[i] for k in lca) / len(lca)
        pairs += 1
    return total / pairs


# --------------------------------------------------------------------------- ARI and NMI


labelings = st.integers(0, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
    )
)


@settings(max_examples=300, deadline=None)
@given(labelings)
def test_ari_and_nmi_equal_sklearn(pair):
    a, b = pair
    assert abs(adjusted_rand(a, b) - adjusted_rand_score(a, b)) <= 1e-12
    assert abs(nmi(a, b) - normalized_mutual_info_score(a, b)) <= 1e-12


def test_ari_and_nmi_equal_sklearn_on_larger_random_labelings():
    rng = np.random.default_rng(0)
    for n, ka, kb in [(1000, 3, 40), (5000, 200, 7), (4000, 4000, 4000), (2, 2, 1)]:
        a, b = rng.integers(0, ka, n), rng.integers(0, kb, n)
        assert abs(adjusted_rand(a, b) - adjusted_rand_score(a, b)) <= 1e-12
        assert abs(nmi(a, b) - normalized_mutual_info_score(a, b)) <= 1e-12


def test_ari_and_nmi_special_cases():
    a = ["x", "x", "y", "y", "z"]
    renamed = [3, 3, 1, 1, 2]
    assert adjusted_rand(a, renamed) == 1.0 and nmi(a, renamed) == pytest.approx(1.0, abs=1e-15)
    one = [0] * 5
    assert adjusted_rand(one, one) == 1.0 and nmi(one, one) == 1.0
    assert adjusted_rand(a, one) == 0.0 and nmi(a, one) == 0.0
    assert adjusted_rand([], []) == 1.0 and nmi([], []) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        adjusted_rand([1, 2], [1])
    with pytest.raises(ValueError, match="one-dimensional"):
        nmi(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="missing values"):
        nmi([1.0, np.nan], [1, 2])


# --------------------------------------------------------------------------- tree_cut


def test_tree_cut_by_hand():
    # leaves 0..4; (0,1) -> 5; (2,3) -> 6; (4,6) -> 7; (5,7) -> 8. Leaf order: 0 1 4 2 3.
    Z = np.array([[0, 1, 1, 2], [2, 3, 1, 2], [4, 6, 2, 3], [5, 7, 3, 5]], dtype=float)
    assert tree_cut(Z, 1).tolist() == [1, 1, 1, 1, 1]
    assert tree_cut(Z, 2).tolist() == [1, 1, 2, 2, 2]
    assert tree_cut(Z, 3).tolist() == [1, 1, 3, 3, 2]  # numbered left to right: {0,1} {4} {2,3}
    assert tree_cut(Z, 5).tolist() == [1, 2, 4, 5, 3]
    for k in (0, 6):
        with pytest.raises(ValueError, match="between 1 and the number of leaves 5"):
            tree_cut(Z, k)
    with pytest.raises(TypeError):
        tree_cut(Z, True)
    with pytest.raises(ValueError):
        tree_cut(Z[:, :3], 2)


def test_tree_cut_equals_fcluster_without_ties_and_cuts_subtrees():
    rng = np.random.default_rng(1)
    for method in ("single", "complete", "average", "ward", "centroid"):
        Z = random_tree(rng, 25, method)
        nodes = set(leaf_sets(Z))
        for k in range(1, 26):
            cut = tree_cut(Z, k)
            assert sorted(set(cut.tolist())) == list(range(1, k + 1))
            assert all(frozenset(np.flatnonzero(cut == c)) in nodes for c in range(1, k + 1))
            if method != "centroid":  # monotone, no ties: the maxclust cut
                assert adjusted_rand(cut, hierarchy.fcluster(Z, k, "maxclust")) == 1.0


def test_tree_cut_is_exact_where_heights_tie():
    # Four points at the corners of a square: merges at tied heights, so fcluster cannot
    # give 3 clusters; tree_cut breaks the tie by the merge order.
    Z = hierarchy.linkage(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float), "single")
    assert len(set(hierarchy.fcluster(Z, 3, "maxclust"))) != 3
    cut = tree_cut(Z, 3)
    first = Z[0, :2].astype(int)
    assert len(set(cut.tolist())) == 3 and cut[first[0]] == cut[first[1]]


# --------------------------------------------------------------------------- dendrogram purity


def test_dendrogram_purity_by_hand():
    # Tree ((0,1),(4,(2,3))), labels a a b b a.
    # Same-label pairs: a: (0,1) (0,4) (1,4); b: (2,3).
    #   (0,1): LCA {0,1}, purity of a = 2/2;  (2,3): LCA {2,3}, purity of b = 2/2;
    #   (0,4) and (1,4): LCA = root {0..4}, 3 of its 5 leaves are a: 3/5 each.
    # DP = (1 + 1 + 3/5 + 3/5) / 4 = 0.8.
    Z = np.array([[0, 1, 1, 2], [2, 3, 1, 2], [4, 6, 2, 3], [5, 7, 3, 5]], dtype=float)
    assert dendrogram_purity(Z, list("aabba")) == pytest.approx(0.8, abs=1e-15)
    # Six leaves, chain (((((0,1),2),3),4),5), labels a a b a b b.
    # a pairs: (0,1) LCA {0,1} -> 1; (0,3), (1,3) LCA {0,1,2,3} -> 3/4 each.
    # b pairs: (2,4) LCA {0..4}, 2 b of 5 -> 2/5; (2,5), (4,5) LCA {0..5}, 3 b of 6 -> 1/2 each.
    # DP = (1 + 3/4 + 3/4 + 2/5 + 1/2 + 1/2) / 6 = 3.9 / 6 = 0.65.
    chain = np.array(
        [[0, 1, 1, 2], [2, 6, 2, 3], [3, 7, 3, 4], [4, 8, 4, 5], [5, 9, 5, 6]], dtype=float
    )
    assert dendrogram_purity(chain, list("aababb")) == pytest.approx(0.65, abs=1e-15)
    assert brute_force_purity(chain, "aababb") == pytest.approx(0.65, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 30),
    st.integers(1, 8),
    st.sampled_from(["single", "average", "centroid"]),
    st.integers(0, 2**32 - 1),
)
def test_dendrogram_purity_equals_brute_force(m, k, method, seed):
    rng = np.random.default_rng(seed)
    Z = random_tree(rng, m, method)
    labels = rng.integers(0, k, m)
    if np.bincount(labels).max() < 2:
        assert math.isnan(dendrogram_purity(Z, labels))
    else:
        assert dendrogram_purity(Z, labels) == pytest.approx(
            brute_force_purity(Z, labels), abs=1e-12
        )
    # Any cut of the tree is a labeling whose groups are subtrees: purity 1.
    cut = tree_cut(Z, max(1, m // 3))
    if np.bincount(cut).max() >= 2:
        assert dendrogram_purity(Z, cut) == pytest.approx(1.0, abs=1e-12)


def test_dendrogram_purity_edge_cases():
    Z = random_tree(np.random.default_rng(2), 6)
    assert math.isnan(dendrogram_purity(Z, range(6)))  # no pair shares a label
    assert dendrogram_purity(Z, [7] * 6) == 1.0
    with pytest.raises(ValueError, match="labels has 5 entries but the tree has 6 leaves"):
        dendrogram_purity(Z, range(5))


def test_dendrogram_purity_is_fast_for_thousands_of_leaves():
    rng = np.random.default_rng(3)
    Z = random_tree(rng, 4000, "single")
    value = dendrogram_purity(Z, rng.integers(0, 40, 4000))
    assert 0 < value < 0.2


# --------------------------------------------------------------------------- taxonomy distance


def test_taxonomy_distance_by_hand():
    tax = Taxonomy(
        levels=("kingdom", "family"),
        paths=[("animal", "cat"), ("animal", "cat"), ("animal", "dog"), ("plant", "cat")],
    )
    # pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3): same path 0; same kingdom 1; else L = 2.
    # (0,3): both "cat" at the finest level, but under different kingdoms: distance 2.
    assert taxonomy_distance(tax).tolist() == [0, 1, 2, 1, 2, 2]
    square = squareform(taxonomy_distance(NESTED))
    assert square[0, 1] == 0 and square[0, 2] == 1 and square[0, 4] == 2 and square[0, 12] == 3


def test_taxonomy_distance_equals_definition():
    rng = np.random.default_rng(6)
    # Few group names per level, reused under different parents.
    paths = [tuple(str(g) for g in rng.integers(0, 3, 3)) for _ in range(30)]
    tax = Taxonomy(levels=("a", "b", "c"), paths=paths)
    expected = []
    for p, q in combinations(paths, 2):
        common = next((d for d in range(3, -1, -1) if p[:d] == q[:d]), 0)
        expected.append(3 - common)
    assert taxonomy_distance(tax).tolist() == expected
    assert taxonomy_distance(Taxonomy(levels=("a",), paths=[("x",)])).shape == (0,)


def test_perfect_tree_scores_one():
    result = agreement(perfect_tree(NESTED), NESTED)
    assert [level["groups"] for level in result["levels"]] == [2, 6, 12]
    for level in result["levels"]:
        assert level["ari"] == 1.0
        assert level["nmi"] == pytest.approx(1.0, abs=1e-12)
        assert level["dendrogram_purity"] == pytest.approx(1.0, abs=1e-12)
    assert result["cophenetic_correlation"] == pytest.approx(1.0, abs=1e-12)
    assert result["cophenetic_spearman"] == pytest.approx(1.0, abs=1e-12)


def test_random_trees_score_about_zero():
    rng = np.random.default_rng(4)
    aris, cophs = [], []
    for _ in range(100):
        result = agreement(random_tree(rng, 24), NESTED)
        aris.append([level["ari"] for level in result["levels"]])
        cophs.append(result["cophenetic_correlation"])
    assert np.abs(np.mean(aris, axis=0)).max() < 0.05
    assert abs(np.mean(cophs)) < 0.05


def test_agreement_is_plain_json():
    rng = np.random.default_rng(5)
    tax = Taxonomy(
        levels=("all", "top", "own"), paths=[("g", "ab"[i % 2], f"c{i}") for i in range(5)]
    )
    result = agreement(random_tree(rng, 5), tax)
    assert json.loads(json.dumps(result)) == result
    assert result["levels"][0] == {
        "level": "all",
        "groups": 1,
        "ari": 1.0,
        "nmi": 1.0,
        "dendrogram_purity": 1.0,
    }
    own = result["levels"][2]
    assert own["groups"] == 5 and own["dendrogram_purity"] is None  # no pair to average over
    assert type(own["ari"]) is float and type(own["groups"]) is int
    assert isinstance(result["cophenetic_correlation"], float)
    single = Taxonomy(levels=("all",), paths=[("g",)] * 5)
    assert agreement(random_tree(rng, 5), single)["cophenetic_correlation"] is None
    with pytest.raises(ValueError, match="the tree has 6 leaves but the taxonomy 5 classes"):
        cophenetic_agreement(random_tree(rng, 6), single)


def test_taxonomy_validates_paths():
    with pytest.raises(TaxonomyError, match="do not have one group per level"):
        Taxonomy(levels=("a", "b"), paths=[("x",)])
    with pytest.raises(TaxonomyError, match="duplicate taxonomy levels"):
        Taxonomy(levels=("a", "a"), paths=[("x", "y")])
    assert NESTED.groups("middle").tolist() == [i // 4 for i in range(24)]
    assert NESTED.n_groups(0) == 2


# --------------------------------------------------------------------------- baselines


def test_confusion_baseline_by_hand():
    # rows: true class, columns: prediction. Class sizes 100, 10, 50.
    C = np.array([[80, 20, 0], [5, 5, 0], [1, 0, 49]], dtype=float)
    # rates: R01 = 0.2, R10 = 0.5 -> s01 = 0.35; R02 = 0, R20 = 0.02 -> s02 = 0.01; s12 = 0.
    Z = linkage_from_matrix(C, "confusion")
    assert Z[0, :2].tolist() == [0, 1] and Z[0, 2] == pytest.approx(0.65, abs=1e-15)
    # average linkage: d({0,1}, 2) = (0.99 + 1.0) / 2
    assert Z[1, 2] == pytest.approx(0.995, abs=1e-15)
    np.testing.assert_array_equal(Z, linkage_from_matrix(C.tolist(), "confusion"))
    # Scaling a class's row (its frequency) does not change the confusion rates.
    scaled = C * np.array([[3.0], [1.0], [7.0]])
    np.testing.assert_allclose(linkage_from_matrix(scaled, "confusion"), Z, atol=1e-15)


def test_cooccurrence_baseline_by_hand():
    # Gram matrix of label indicators: frequencies 4, 9, 1, 0 on the diagonal.
    K = np.array([[4, 3, 0, 0], [3, 9, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=float)
    # cosines: s01 = 3/6 = 0.5, s12 = 1/3; class 3 never occurs: similarity 0 to all.
    Z = linkage_from_matrix(K, "cooccurrence", method="complete")
    assert Z[0, :2].tolist() == [0, 1] and Z[0, 2] == pytest.approx(0.5, abs=1e-15)
    assert Z[1, 2] == pytest.approx(1.0, abs=1e-15)  # complete: max(1 - 0, 1 - 1/3)


def test_baseline_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        linkage_from_matrix(np.eye(3), "jaccard")
    with pytest.raises(ValueError, match="method must be one of"):
        linkage_from_matrix(np.eye(3), "confusion", method="ward")
    with pytest.raises(ValueError, match="square matrix"):
        linkage_from_matrix(np.ones((2, 3)), "confusion")
    with pytest.raises(ValueError, match="1 negative values"):
        linkage_from_matrix(np.array([[1, -1], [0, 1]]), "confusion")
    with pytest.raises(ValueError, match="NaN or infinite"):
        linkage_from_matrix(np.array([[1, np.nan], [0, 1]]), "confusion")
    with pytest.raises(ValueError, match="must be symmetric"):
        linkage_from_matrix(np.array([[1, 1], [0, 1]]), "cooccurrence")


# --------------------------------------------------------------------------- reading files


def names_in(path: Path) -> list[str]:
    with open(path, newline="") as fh:
        return [row["name"] for row in csv.DictReader(fh)]


@pytest.mark.skipif(not DATA.is_dir(), reason="shared/data is not beside the repo")
@pytest.mark.parametrize(
    ("name", "groups"),
    [("20news", {"level1": 7, "level2": 16, "topic6": 6}), ("cifar10", {"level1": 2, "level2": 6})],
)
def test_read_real_taxonomies(name, groups):
    path = DATA / name / "classes.csv"
    names = names_in(path)
    tax = read_taxonomy(path, names)
    assert tax.levels == tuple(groups)
    assert {level: tax.n_groups(level) for level in tax.levels} == groups
    assert len(tax.paths) == len(names)
    reordered = read_taxonomy(path, names[::-1], levels="level2, level1")
    assert reordered.levels == ("level2", "level1")
    assert reordered.paths[-1] == tax.paths[0][1::-1]
    if name == "cifar10":
        assert tax.paths[3] == ("animal", "mammal")  # cat
    else:
        assert tax.paths[15] == ("soc", "soc.religion", "religion")


def write(tmp_path: Path, text: str, name: str = "tax.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


NAMES = ["cat", "dog", "car"]


def test_read_by_class_id_and_tsv(tmp_path):
    path = write(tmp_path, "class_id,kind\n2,vehicle\n0, animal \n\n1,animal\n")
    tax = read_taxonomy(path, NAMES)
    assert tax.levels == ("kind",) and tax.paths == [("animal",), ("animal",), ("vehicle",)]
    tsv = write(
        tmp_path,
        "name\tkind\tsub\ncat\tanimal\tpet\ndog\tanimal\tpet\ncar\tvehicle\troad\n",
        "tax.tsv",
    )
    assert read_taxonomy(tsv, NAMES, levels=["sub"]).paths == [("pet",), ("pet",), ("road",)]
    # With both a name and a class_id, the name is used (ids follow another class order here).
    both = write(tmp_path, "class_id,name,kind\n0,car,vehicle\n1,cat,animal\n2,dog,pet\n")
    tax = read_taxonomy(both, NAMES)
    assert tax.paths == [("animal",), ("pet",), ("vehicle",)] and tax.matched_by == "name"


def test_names_that_do_not_match_fall_back_on_class_ids(tmp_path):
    """A run without a class file names its classes class_0, ...: the ids still match."""
    both = write(tmp_path, "class_id,name,kind\n0,car,vehicle\n1,cat,animal\n2,dog,pet\n")
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logger = logging.getLogger("classsim")  # the CLI's tests may stop it propagating
    logger.addHandler(handler)
    try:
        tax = read_taxonomy(both, ["class_0", "class_1", "class_2"])
    finally:
        logger.removeHandler(handler)
    assert tax.paths == [("vehicle",), ("animal",), ("pet",)] and tax.matched_by == "class_id"
    assert len(warnings) == 1 and "matched by class_id instead" in warnings[0]
    assert "'car'" in warnings[0]
    # neither names nor ids fit: the error names both attempts
    wrong = write(tmp_path, "class_id,name,kind\n0,car,vehicle\n1,cat,animal\n7,dog,pet\n")
    with pytest.raises(
        TaxonomyError,
        match=r"3 names are not among the 3 classes.*; nor by "
        r"class_id: .*1 class_id values are not class indices 0..2",
    ):
        read_taxonomy(wrong, ["class_0", "class_1", "class_2"])


@pytest.mark.parametrize(
    ("text", "levels", "message"),
    [
        (
            "name,kind\ncat,animal\ndog,animal\ncar,vehicle\nbus,vehicle\ntram,vehicle\n",
            None,
            "{path}: 2 names are not among the 3 classes, e.g. 'bus', 'tram' (the classes: 'cat', "
            "'dog', 'car')",
        ),
        ("name,kind\ncat,animal\n", None, "{path}: 2 of 3 classes have no row, e.g. 'dog', 'car'"),
        (
            "name,kind\ncat,animal\ndog,animal\ncar,vehicle\ncat,animal\n",
            None,
            "{path}: 1 classes have more than one row, e.g. 'cat' (lines 2, 5)",
        ),
        (
            "name,kind\ncat,animal\ndog,animal\ncar,vehicle\n",
            "kind,sort",
            "unknown taxonomy levels 'sort'; levels in {path}: kind",
        ),
        (
            "name,kind\ncat,animal\ndog,animal\ncar,vehicle\n",
            ["name"],
            "unknown taxonomy levels 'name'; levels in {path}: kind",
        ),
        (
            "name,kind\ncat,animal\ndog,animal\ncar,vehicle\n",
            ["kind", "kind"],
            "taxonomy levels selected more than once: 'kind'",
        ),
        ("name,kind\ncat,animal\ndog,animal\ncar,vehicle\n", "", "no taxonomy levels selected"),
        (
            "name,kind,sub\ncat,animal,\ndog,animal, \ncar,vehicle,road\n",
            None,
            "{path}: 2 empty groups in level 'sub', e.g. line 2 ('cat'), line 3 ('dog')",
        ),
        (
            "class_id,kind\n0,animal\n1,animal\nx,vehicle\n",
            None,
            "{path}: column 'class_id' must hold integer class indices; 1 do not, e.g. line 4: 'x'",
        ),
        (
            "class_id,kind\n0,animal\n1,animal\n3,vehicle\n",
            None,
            "{path}: 1 class_id values are not class indices 0..2, e.g. line 4: 3",
        ),
        (
            "label,kind\ncat,animal\n",
            None,
            "{path}: a taxonomy file needs a 'name' or 'class_id' column; "
            "header: ['label', 'kind']",
        ),
        (
            "class_id,name\n0,cat\n",
            None,
            "{path}: no level columns (columns other than class_id, name, index)",
        ),
        (
            "name,kind\ncat,animal\ndog\n",
            None,
            "{path}: 1 rows do not have 2 fields, e.g. lines [3]",
        ),
        (
            "name,kind,kind\ncat,animal,a\n",
            None,
            "{path}: header has duplicate or blank column names: ['name', 'kind', 'kind']",
        ),
        ("name,kind\n", None, "{path}: no rows below the header"),
        ("", None, "{path}: empty taxonomy file (no header)"),
    ],
)
def test_read_errors(tmp_path, text, levels, message):
    path = write(tmp_path, text)
    with pytest.raises(TaxonomyError) as err:
        read_taxonomy(path, NAMES, levels=levels)
    assert str(err.value) == message.format(path=path)


def test_read_errors_outside_the_file(tmp_path):
    with pytest.raises(TaxonomyError, match="taxonomy file not found: "):
        read_taxonomy(tmp_path / "missing.csv", NAMES)
    path = write(tmp_path, "name,kind\ncat,animal\n")
    with pytest.raises(TaxonomyError, match="1 duplicate class names, e.g. 'cat'"):
        read_taxonomy(path, ["cat", "cat"])
    assert issubclass(TaxonomyError, ValueError)


@pytest.mark.parametrize("method", ["average", "complete", "centroid"])
def test_cophenetic_spearman_ranks_by_counting_as_rankdata_does(method):
    """The Spearman cophenetic agreement ranks by counting distinct values; scipy's
    spearmanr of the same two distances is the oracle (ties included)."""
    from scipy.cluster.hierarchy import cophenet, linkage
    from scipy.stats import rankdata, spearmanr

    from classsim_spark.core.taxonomy import tie_ranks

    rng = np.random.default_rng(4)
    m = 120
    paths = [(f"t{i % 3}", f"m{i % 11}", f"c{i}") for i in range(m)]
    tax = Taxonomy(levels=("top", "mid", "class"), paths=paths)
    points = rng.normal(size=(m, 4)).round(1)  # rounded: equal merge heights, tied distances
    Z = linkage(points, method)
    expected = spearmanr(cophenet(Z), taxonomy_distance(tax)).statistic
    got = cophenetic_agreement(Z, tax, "spearman")
    assert got == pytest.approx(expected, abs=1e-12)
    x = rng.integers(0, 5, size=1000).astype(float)
    assert np.array_equal(tie_ranks(x, np.arange(5.0)), rankdata(x))
    assert np.array_equal(tie_ranks(x, np.arange(1.0, 5.0)), rankdata(x))  # 0 missing: fallback
