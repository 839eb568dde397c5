"""Comparing two results: the agreement measures against numpy/scipy, planted changes found,
the comparison directory and the command."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.cluster.hierarchy import cophenet, linkage
from scipy.spatial.distance import squareform

from classsim_spark.analysis import analyze
from classsim_spark.cli import main
from classsim_spark.compare import CompareError, compare
from classsim_spark.core.comparison import (
    cut_agreement,
    group_changes,
    mantel,
    moved_groups,
    row_changes,
    tree_agreement,
)
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.io.classes import write_classes_csv
from classsim_spark.io.results import SimilarityResult

# --------------------------------------------------------------------------- the measures


def _similarity(seed: int, m: int = 15) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.corrcoef(rng.normal(size=(300, m)) @ rng.normal(size=(m, m)), rowvar=False)


def test_mantel_correlation_and_p_value():
    A, B = _similarity(1), _similarity(2)
    rows, cols = np.triu_indices(15, k=1)
    r, p = mantel(A, B, permutations=199, seed=3)
    assert r == pytest.approx(np.corrcoef(A[rows, cols], B[rows, cols])[0, 1], abs=1e-12)
    assert p > 0.05  # unrelated matrices
    perm = np.random.default_rng(4).permutation(15)
    r_perm, p_none = mantel(A, A[np.ix_(perm, perm)], permutations=0)
    assert p_none == 1.0 and r_perm < 0.9  # relabelled classes no longer line up
    r_same, p_same = mantel(A, 2 * A - 0.5, permutations=99)
    assert r_same == pytest.approx(1.0) and p_same == 0.01  # (1 + 0) / (1 + 99)


def test_tree_and_cut_agreement_against_scipy():
    A, B = _similarity(5), _similarity(6)
    za = linkage(squareform(1 - A, checks=False), "average")
    zb = linkage(squareform(1 - B, checks=False), "average")
    expected = np.corrcoef(cophenet(za), cophenet(zb))[0, 1]
    assert tree_agreement(za, zb) == pytest.approx(expected, abs=1e-12)
    assert tree_agreement(za, za) == pytest.approx(1.0)
    # over a subset of leaves: the same as the restricted cophenetic matrices
    keep = np.array([0, 3, 4, 7, 8, 11, 14])
    ca, cb = (
        squareform(cophenet(za))[np.ix_(keep, keep)],
        squareform(cophenet(zb))[np.ix_(keep, keep)],
    )
    sub = np.corrcoef(squareform(ca, checks=False), squareform(cb, checks=False))[0, 1]
    assert tree_agreement(za, zb, keep, keep) == pytest.approx(sub, abs=1e-12)
    ari, a, b = cut_agreement(za, za, 4)
    assert ari == pytest.approx(1.0) and len(set(a)) == 4 and np.array_equal(a, b)


def test_row_changes_against_a_loop():
    A, B = _similarity(7, 6), _similarity(8, 6)
    mean_abs, corr = row_changes(A, B)
    for i in range(6):
        others = [j for j in range(6) if j != i]
        assert mean_abs[i] == pytest.approx(np.abs(A[i, others] - B[i, others]).mean())
        assert corr[i] == pytest.approx(np.corrcoef(A[i, others], B[i, others])[0, 1])


def test_groups_that_split_merge_are_kept_or_move():
    a = [[0, 1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11]]
    b = [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9, 10, 11]]
    changes = group_changes(a, b)
    assert changes["split"] == [{"group": 0, "into": [0, 1]}]
    assert changes["merged"] == [{"group": 2, "from": [1, 2]}]
    assert changes["kept"] == []  # a half (Jaccard 0.5) is not the same group
    assert group_changes(a, a)["kept"] == [{"group": k, "as": k, "jaccard": 1.0} for k in range(3)]
    # second-level groups 0, 1 under parents 0, 1; in b, group 1 sits under parent 0
    kept = [{"group": 0, "as": 0}, {"group": 1, "as": 1}]
    moved = moved_groups(kept, {0: 0, 1: 1}, {0: 0, 1: 0}, {0: 0, 1: 1})
    assert moved == [{"group": 1, "as": 1, "parent": 1, "new_parent": 0}]


# --------------------------------------------------------------------------- two results

SPEC = DemoSpec(samples=3000, classes=40, top_groups=4, mid_groups=8, seed=3)


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path, str, str]:
    """A: the demo; B: the same rows with class 7's scores replaced by noise and class 30
    renamed (so the class sets differ by one on each side)."""
    data = generate(SPEC)
    a, taxonomy = numpy_results(data, tmp_path_factory.mktemp("a"), ("logit", "rank"))
    scores = data.scores.copy()
    scores[:, 7] = np.random.default_rng(0).normal(size=scores.shape[0]) * scores[:, 7].std()
    b, _ = numpy_results(replace(data, scores=scores), tmp_path_factory.mktemp("b"), ("logit",))
    names = list(SimilarityResult.load(b).classes)
    renamed = names[30]
    names[30] = "renamed class"
    write_classes_csv(names, b / "classes.csv")
    for path in (a, b):
        analyze(path, taxonomy=taxonomy if path == a else None, taxonomy_levels=None)
    return a, b, names[7], renamed


def test_compare_finds_the_planted_change(pair, tmp_path):
    a, b, changed, renamed = pair
    result = compare(a, b, tmp_path / "c", permutations=99)
    record = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert record == json.loads(json.dumps(result.record))
    assert record["transform"] == "logit"  # the one both have
    assert record["classes"] == {
        "common": 39,
        "only_in_a": [renamed],
        "only_in_b": ["renamed class"],
    }
    assert record["changed"][0]["name"] == changed
    ra, rb = SimilarityResult.load(a), SimilarityResult.load(b)
    common = [n for n in ra.classes if n != renamed]
    ia = [ra.classes.index(n) for n in common]
    ib = [rb.classes.index(n) for n in common]
    A, B = ra.matrix("logit")[np.ix_(ia, ia)], rb.matrix("logit")[np.ix_(ib, ib)]
    rows, cols = np.triu_indices(39, k=1)
    expected = np.corrcoef(A[rows, cols], B[rows, cols])[0, 1]
    assert record["agreement"]["correlation"] == pytest.approx(expected, abs=1e-6)
    assert record["agreement"]["p_value"] == 0.01 and record["agreement"]["cophenetic"] > 0.5
    mean_abs = np.abs(A - B)[common.index(changed)].sum() / 38
    assert record["changed"][0]["mean_abs_change"] == pytest.approx(mean_abs, abs=1e-6)
    assert sorted(p.name for p in (tmp_path / "c" / "figures").iterdir()) == [
        "compare.png",
        "compare.svg",
    ]


def test_compare_command_and_what_it_refuses(pair, tmp_path, capsys):
    a, b, _, _ = pair
    out = tmp_path / "c"
    assert main(["compare", str(a), str(b), "--out", str(out), "--permutations", "9"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--out", str(out), "--transform", "rank"]) == 2
    assert "transform 'rank' is not in both results" in capsys.readouterr().err
    bare, _ = numpy_results(generate(SPEC), tmp_path / "bare", ("logit",))
    with pytest.raises(CompareError, match="is not analysed: run `classsim analyze"):
        compare(a, bare)


def test_two_transforms_of_one_run(pair, tmp_path):
    a, _, _, _ = pair
    result = compare(a, a, tmp_path / "t", transform="logit", transform_b="rank", permutations=9)
    record = result.record
    assert record["transform"] == "logit vs rank" and record["b"]["transform"] == "rank"
    ra = SimilarityResult.load(a)
    rows, cols = np.triu_indices(ra.m, k=1)
    logit, rank = ra.matrix("logit"), ra.matrix("rank")
    expected = np.corrcoef(logit[rows, cols], rank[rows, cols])[0, 1]
    assert record["agreement"]["correlation"] == pytest.approx(expected, abs=1e-6)
    assert record["classes"]["only_in_a"] == [] and record["classes"]["common"] == ra.m


def test_each_side_its_own_transform(pair, tmp_path):
    """B computed logit only; A's rank against it."""
    a, b, _, _ = pair
    record = compare(a, b, transform="rank", transform_b="logit", permutations=0).record
    assert record["transform"] == "rank vs logit" and record["agreement"]["p_value"] == 1.0
    with pytest.raises(CompareError, match="transform 'rank' is not in B"):
        compare(a, b, transform="logit", transform_b="rank")
