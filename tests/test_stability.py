"""Stability of findings from per-part statistics: row parts, resamples, matching, analysis,
figures, and the scan keeping the parts (Spark), against numpy on the same rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.cluster import hierarchy

from classsim_spark import similarity
from classsim_spark.analysis import analyze
from classsim_spark.cli import main
from classsim_spark.core import stability as st
from classsim_spark.core.moments import Moments, row_parts
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.io.records import RunRecord
from classsim_spark.io.results import SimilarityResult
from classsim_spark.render.heatmap import draw_heatmap, heatmap_layout

# ------------------------------------------------------------------------------ row parts


def test_row_parts_depend_only_on_row_values():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 37)).astype(np.float32)
    parts = row_parts(x, 7)
    assert parts.dtype == np.int64 and set(np.unique(parts)) == set(range(7))
    perm = rng.permutation(len(x))
    assert np.array_equal(row_parts(x[perm], 7), parts[perm])  # order, batching: irrelevant
    assert np.array_equal(row_parts(x[:1234], 7), parts[:1234])
    assert np.array_equal(row_parts(x.astype(np.float64), 7), parts)  # float32 read as float64
    counts = np.bincount(parts, minlength=7)
    expected = len(x) / 7
    sd = math.sqrt(len(x) * (1 / 7) * (6 / 7))
    assert np.all(np.abs(counts - expected) < 5 * sd), counts  # balanced like a fair die
    twins = np.vstack([x[:10], x[:10]])
    assert np.array_equal(row_parts(twins, 7)[:10], row_parts(twins, 7)[10:])
    assert not row_parts(x, 1).any()


def test_resampled_moments_equal_numpy_on_the_subsample():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 12)) + 1e4 + rng.normal(size=(3000, 1))
    part = row_parts(x, 6)
    parts = [Moments.from_block(x[part == k]) for k in range(6)]
    for subset in st.part_subsets(6, resamples=5, seed=3):
        rows = np.isin(part, subset)
        merged = st.resample_moments(parts, subset)
        assert merged.n == rows.sum()
        np.testing.assert_allclose(
            merged.correlation().matrix, np.corrcoef(x[rows], rowvar=False), atol=1e-12
        )
    whole = Moments.merge_all(parts)
    np.testing.assert_allclose(whole.correlation().matrix, np.corrcoef(x, rowvar=False), atol=1e-12)


# ------------------------------------------------------------------------------ resamples


def test_part_subsets():
    assert st.part_subsets(2, 20) == [(0,), (1,)]
    assert st.part_subsets(3, 20) == [(0, 1), (0, 2), (1, 2)]
    drawn = st.part_subsets(10, 20, seed=5)
    assert len(drawn) == 20 == len(set(drawn))
    assert all(len(s) == 5 and list(s) == sorted(s) for s in drawn)
    assert drawn == sorted(drawn) == st.part_subsets(10, 20, seed=5)
    assert drawn != st.part_subsets(10, 20, seed=6)
    with pytest.raises(ValueError, match="at least 2 parts"):
        st.part_subsets(1)
    with pytest.raises(ValueError, match="resamples"):
        st.part_subsets(4, 0)


def test_choose_parts_fits_the_budget():
    for m in (10, 527, 2000, 3755, 5000, 6000, 20000):
        k = st.choose_parts(m)
        assert k == 0 or 2 <= k <= st.PARTS_MAX
        assert k * 8 * m * m <= st.PARTS_BUDGET_BYTES
        if k < st.PARTS_MAX:  # one more part would not fit
            assert (k + 1) * 8 * m * m > st.PARTS_BUDGET_BYTES or k == 0
    assert st.choose_parts(20000) == 0


# ------------------------------------------------------------------------------ matching


def test_matching_by_hand():
    a, b, c = frozenset({0, 1, 2, 3}), frozenset({4, 5}), frozenset({0, 1})
    assert st.jaccard(a, c) == 0.5 and st.jaccard(frozenset(), frozenset()) == 1.0
    # resample 1 holds a exactly; resample 2 only {0, 1} (J = 2/4) and b; resample 3 nothing
    got = st.set_stability([a, b], [[a, b], [c, b], []])
    assert got == pytest.approx([(1 + 0.5 + 0) / 3, (1 + 1 + 0) / 3])
    assert all(math.isnan(v) for v in st.set_stability([a], []))
    # a split group matches in either orientation; a match scores its weaker side
    split = (a, b)
    resampled = [[(b, a)], [(c, b)], [(a, frozenset({9}))]]
    assert st.split_stability([split], resampled) == pytest.approx([(1 + 0.5 + 0) / 3])
    found = [{(0, 1)}, {(0, 1), (2, 3)}, set(), {(0, 1)}]
    assert st.item_stability([(0, 1), (2, 3)], found) == [0.75, 0.25]


def test_tree_agreement():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 3))
    Z = hierarchy.linkage(x, "average")
    assert st.tree_agreement(st.cophenetic(Z), Z) == pytest.approx(1.0)
    other = hierarchy.linkage(rng.normal(size=(20, 3)), "average")
    expected = np.corrcoef(hierarchy.cophenet(Z), hierarchy.cophenet(other))[0, 1]
    assert st.tree_agreement(st.cophenetic(Z), other) == pytest.approx(expected)


def test_set_stability_equals_python_sets():
    """The membership-product Jaccard indices equal frozenset arithmetic, bit for bit, on
    random nested and overlapping sets (the oracle: max of jaccard() per resample, averaged)."""
    rng = np.random.default_rng(5)

    def random_sets(k):
        return [
            frozenset(rng.choice(60, size=rng.integers(1, 30), replace=False)) for _ in range(k)
        ]

    sets = random_sets(15)
    resampled = [random_sets(int(rng.integers(0, 12))) for _ in range(9)]
    want = [
        float(np.mean([max((st.jaccard(s, c) for c in r), default=0.0) for r in resampled]))
        for s in sets
    ]
    assert st.set_stability(sets, resampled) == want


# ------------------------------------------------------------------------------ analysis


@pytest.fixture(scope="module")
def demo_analysis(tmp_path_factory):
    data = generate(DemoSpec(samples=20_000, seed=0))
    path, taxonomy = numpy_results(data, tmp_path_factory.mktemp("stability"), ("logit",))
    analysis = analyze(path, taxonomy=taxonomy, taxonomy_levels="level1,level2")
    return path, analysis, data.answers


def test_planted_findings_are_stable(demo_analysis):
    path, analysis, answers = demo_analysis
    g = json.loads((path / "groups.json").read_text())
    s = g["stability"]
    assert s["transform"] == "logit" and s["parts"] == 6 and s["resamples"] == 20
    assert s["parts_per_resample"] == 3 and sum(s["part_rows"]) == 20_000
    assert 9_000 < s["rows_per_resample"]["min"] <= s["rows_per_resample"]["max"] < 11_000
    for key in ("blocks", "split_groups", "failed_groups", "near_duplicates", "stars"):
        assert g[key] and all(0.0 <= f["stability"] <= 1.0 for f in g[key]), key
    # Every planted finding comes back in every half-sample.
    assert s["tree"] > 0.99 and s["top_level_blocks"] == 1.0
    planted = sorted(sorted(p["names"]) for p in answers["near_duplicates"])
    found = {tuple(sorted(d["names"])): d["stability"] for d in g["near_duplicates"]}
    assert [found[tuple(p)] for p in planted] == [1.0] * len(planted)
    assert g["split_groups"][0]["stability"] == 1.0
    cross = set(answers["cross_cutting"]["names"])
    best = max(g["failed_groups"], key=lambda f: len(cross & set(f["members"])))
    assert best["stability"] > 0.9


def test_resamples_in_threads_give_what_one_thread_gives(demo_analysis, monkeypatch):
    """The resamples run one per core; with one core (serially) every stability is the same."""
    import classsim_spark.analysis as analysis_module

    path, analysis, _ = demo_analysis
    monkeypatch.setattr(analysis_module.os, "cpu_count", lambda: 1)
    serial = analyze(path, write=False).groups
    threaded = json.loads((path / "groups.json").read_text())
    assert serial["stability"] == threaded["stability"]
    for key in ("blocks", "split_groups", "failed_groups", "near_duplicates", "stars"):
        assert [f["stability"] for f in serial[key]] == [f["stability"] for f in threaded[key]]


def test_resamples_in_forked_processes_give_what_threads_give(demo_analysis, tmp_path, monkeypatch):
    """A bare process forks its resample workers (no thread, no Spark session); their
    stabilities equal those of resamples run in threads here."""
    import shutil
    import subprocess
    import sys

    import classsim_spark.analysis as analysis_module

    path, _, _ = demo_analysis
    monkeypatch.setattr(analysis_module.processes, "can_fork", lambda: False)
    threaded = analyze(path, write=False).groups
    copy = tmp_path / "res"
    shutil.copytree(path, copy)
    code = (
        "import sys; from classsim_spark.analysis import analyze; "
        "from classsim_spark.processes import can_fork; assert can_fork(); "
        "analyze(sys.argv[1], overwrite=True)"
    )
    subprocess.run([sys.executable, "-c", code, str(copy)], check=True, timeout=600)
    forked = json.loads((copy / "groups.json").read_text())
    assert forked["stability"] == threaded["stability"]
    for key in ("blocks", "split_groups", "failed_groups", "near_duplicates", "stars"):
        assert [f["stability"] for f in forked[key]] == [f["stability"] for f in threaded[key]]


def test_structure_in_noise_is_unstable():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 40))
    part = row_parts(x, 10)
    whole = Moments.from_block(x)
    result = SimilarityResult(
        [f"c{i}" for i in range(40)],
        {"logit": whole},
        {"logit": whole.correlation().matrix},
        run=RunRecord(["logit"], n=3000, m=40),
        parts={"logit": [Moments.from_block(x[part == k]) for k in range(10)]},
    )
    g = analyze(result, write=False).groups
    assert g["stability"]["tree"] < 0.5 and g["stability"]["top_level_blocks"] < 0.5
    assert g["stability"]["unstable"]["blocks"] >= len(g["blocks"]) // 2
    off = analyze(result, write=False, stability_resamples=0).groups
    assert off["stability"] is None and all("stability" not in b for b in off["blocks"])


def test_unstable_findings_are_drawn_dashed():
    m = 12
    M = np.eye(m)
    M[:4, :4] = M[4:8, 4:8] = 0.6
    np.fill_diagonal(M, 1.0)
    blocks = [
        {"id": 0, "level": 1, "start": 0, "end": 4, "label": "kept", "stability": 0.9},
        {"id": 1, "level": 1, "start": 4, "end": 8, "label": "shaky", "stability": 0.2},
    ]
    groups = {
        "blocks": blocks,
        "failed_groups": [{"member_ids": [1, 5], "label": "F0", "stability": 0.1}],
        "near_duplicates": [
            {"class_ids": [0, 1], "stability": 0.3},
            {"class_ids": [4, 5], "stability": 1.0},
        ],
    }
    layout = heatmap_layout(M, [f"c{i}" for i in range(m)], groups=groups)
    assert [s["stable"] for s in layout.brackets] == [True, False]
    assert layout.failed_columns[0]["stable"] is False
    assert layout.unstable_near_duplicates == [(0, 1)] and layout.near_duplicates == [(4, 5)]
    fig = draw_heatmap(layout)
    texts = {t.get_text(): t for t in fig.heatmap_texts}
    assert texts["shaky"].get_fontstyle() == "italic" and texts["kept"].get_fontstyle() == "normal"
    assert any(t.startswith("dashed") for t in texts)
    dashed = [
        c for c in fig.heatmap_axes["brackets"].collections if c.get_linestyle()[0][1] is not None
    ]
    assert len(dashed) == 1 and len(dashed[0].get_segments()) == 1


# ------------------------------------------------------------------------------ Spark scan


def test_scan_keeps_parts_equal_to_numpy(spark, tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(4000, 30)) + rng.normal(size=(4000, 1))).astype(np.float32)
    import pandas as pd

    df = spark.createDataFrame(
        pd.DataFrame({"sample_id": np.arange(4000), "scores": list(x.astype(np.float64))})
    )
    out = tmp_path / "res"
    res = similarity(
        df, transforms=["rank", "logit"], stability_parts=4, spark=spark, out=out, sample_rows=0
    )
    assert res.run.parts.transform == "logit" and res.run.parts.count == 4
    part = row_parts(x, 4, ids=np.arange(4000))  # the sample ids decide
    assert res.run.parts.rows == np.bincount(part, minlength=4).tolist()
    logit = x.astype(np.float64)
    for k, got in enumerate(res.parts["logit"]):
        ref = Moments.from_block(logit[part == k])
        assert got.n == ref.n
        np.testing.assert_allclose(got.mean, ref.mean, atol=1e-12)
        np.testing.assert_allclose(got.comoment, ref.comoment, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res.matrix("logit"), np.corrcoef(logit, rowvar=False), atol=1e-12)
    from classsim_spark.io import results as results_module

    reads = []
    real = results_module.load_parts
    monkeypatch.setattr(results_module, "load_parts", lambda f: reads.append(f) or real(f))
    loaded = SimilarityResult.load(out)
    assert list(loaded.parts) == ["logit"] and reads == []  # read when first used, once
    assert [p.n for p in loaded.parts["logit"]] == res.run.parts.rows
    assert loaded.parts["logit"] is loaded.parts["logit"] and len(reads) == 1
    np.testing.assert_array_equal(loaded.parts["logit"][2].comoment, res.parts["logit"][2].comoment)
    none = similarity(df, transforms=["rank"], stability_parts=0, spark=spark, sample_rows=0)
    assert none.parts == {} and none.run.parts is None


def test_cli_stability_options(spark, tmp_path, capsys):
    data = tmp_path / "data"
    from classsim_spark.demo.writer import write_demo

    write_demo(DemoSpec(samples=3000, classes=40, top_groups=3, mid_groups=8, seed=5), data)
    out = tmp_path / "res"
    command = (
        f"run --input {data / 'scores'} --classes {data / 'classes.csv'} --out {out} "
        "--stability-parts 3 --stability-resamples 2 --sample-rows 0"
    )
    assert main(command.split()) == 0
    capsys.readouterr()
    g = json.loads((out / "groups.json").read_text())
    assert (out / "parts-logit.npz").is_file()
    assert g["stability"]["parts"] == 3 and g["stability"]["resamples"] == 2
    assert main(["analyze", str(out), "--overwrite", "--stability-resamples", "0"]) == 0
    assert json.loads((out / "groups.json").read_text())["stability"] is None
    for bad in ("1", "-2", "some"):
        command = f"similarity --input {data / 'scores'} --out {tmp_path / 'x'} --stability-parts"
        assert main([*command.split(), bad]) == 2
        assert "stability_parts" in capsys.readouterr().err
