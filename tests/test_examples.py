"""Drill-down to samples: the rows behind a pair's similarity, against numpy on the same files,
in one task, through Spark (after an update too) and from the commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from classsim_spark.cli import main
from classsim_spark.core.transforms import ScoreSpec
from classsim_spark.examples import ExamplesError, default_pairs, examples, parse_pair
from classsim_spark.executor.batches import BatchLayout
from classsim_spark.executor.examples import ExamplesPlan, pair_contributions
from classsim_spark.executor.labels import LabelSpec
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import SimilarityResult


def _oracle(x: np.ndarray, ids: np.ndarray, a: int, b: int, top: int):
    """The top rows by product of standardised columns a and b, with numpy alone."""
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    c = z[:, a] * z[:, b]
    best = np.argsort(-c, kind="stable")[:top]
    return [str(i) for i in ids[best]], c[best]


def test_one_task_keeps_the_rows_with_the_largest_products():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    x[:, 1] += 0.8 * x[:, 0]
    ids = np.arange(1000, 1500)
    labels = rng.integers(0, 6, size=500)
    plan = ExamplesPlan(
        BatchLayout("array", ("scores",), 6, "sample_id"),
        ScoreSpec("logits"),
        "logit",
        ((0, 1), (2, 5)),
        tuple(x.mean(axis=0)),
        tuple(x.std(axis=0, ddof=1)),
        7,
        LabelSpec("label", False),
    )
    table = pa.table({"scores": list(x), "sample_id": ids, "label": labels})
    batches = table.to_batches(max_chunksize=64)  # the best rows spread over batches
    rows = [r for out in pair_contributions(plan)(iter(batches)) for r in out.to_pylist()]
    for p, (a, b) in enumerate(plan.pairs):
        mine = [r for r in rows if r["pair"] == p]
        expected_ids, expected = _oracle(x, ids, a, b, 7)
        assert [r["id"] for r in mine] == expected_ids
        np.testing.assert_allclose([r["contribution"] for r in mine], expected, rtol=1e-12)
        first = int(expected_ids[0]) - 1000
        assert mine[0]["score_a"] == x[first, a] and mine[0]["labels"] == [labels[first]]
        assert mine[0]["top1"] == int(np.argmax(x[first]))


def test_pairs_from_text_and_from_the_analysis():
    assert parse_pair(" cat , dog", ["cat", "dog"]) == ("cat", "dog")
    with pytest.raises(ExamplesError, match="not classes of these results: emu"):
        parse_pair("cat,emu", ["cat", "dog"])
    with pytest.raises(ExamplesError, match="two class names"):
        parse_pair("cat", ["cat", "dog"])
    groups = GroupsRecord.from_json(
        {
            "chosen": {"transform": "logit"},
            "blocks": [],
            "near_duplicates": [],
            "split_groups": [],
        }
    )
    assert default_pairs(groups, np.eye(3), ["a", "b", "c"], 5) == []


# --------------------------------------------------------------------------- with Spark


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    spec = DemoSpec(samples=4000, classes=60, top_groups=4, mid_groups=10, days=2, seed=2)
    return write_demo(spec, tmp_path_factory.mktemp("examples") / "data")


def test_examples_match_numpy_over_every_input_merged(spark, demo, tmp_path):
    import classsim_spark as cs

    days = sorted((demo / "scores").iterdir())
    res = tmp_path / "res"
    cs.similarity(str(days[0]), classes=str(demo / "classes.csv"), out=res, spark=spark)
    cs.similarity(str(days[1]), update=res, spark=spark)  # two inputs to read again
    result = SimilarityResult.load(res)
    names = result.classes
    table = pads.dataset(str(demo / "scores"), partitioning="hive").to_table()
    x = np.array(table.column("scores").to_pylist(), dtype=np.float64)
    ids = np.asarray(table.column("sample_id"))
    record = examples(res, [(names[3], names[4]), (names[0], names[20])], top=6, spark=spark)
    assert json.loads((res / "examples.json").read_text()) == json.loads(json.dumps(record))
    assert len(record["inputs"]) == 2 and record["transform"] == "logit"
    for pair, (a, b) in zip(record["pairs"], [(3, 4), (0, 20)], strict=True):
        expected_ids, expected = _oracle(x, ids, a, b, 6)
        assert [e["id"] for e in pair["examples"]] == expected_ids
        np.testing.assert_allclose(
            [e["contribution"] for e in pair["examples"]], expected, rtol=1e-6
        )
        assert pair["similarity"] == pytest.approx(result.matrix("logit")[a, b], abs=1e-6)
        assert all(e["top1"] in names and len(e["labels"]) == 1 for e in pair["examples"])
        above = [x[list(ids).index(int(e["id"])), a] > x[:, a].mean() for e in pair["examples"]]
        assert [e["both"] for e in pair["examples"]] == ["above" if u else "below" for u in above]
    # a later request keeps the pairs asked before
    examples(res, [(names[5], names[6])], top=2, spark=spark)
    kept = json.loads((res / "examples.json").read_text())["pairs"]
    assert [(p["a"], p["b"]) for p in kept] == [
        (names[5], names[6]),
        (names[3], names[4]),
        (names[0], names[20]),
    ]
    with pytest.raises(ExamplesError, match="not classes of"):
        examples(res, [("nope", names[0])], spark=spark)


def test_examples_commands(spark, demo, tmp_path, capsys):
    res = tmp_path / "res"
    run = ["run", "--input", str(demo / "scores"), "--classes", str(demo / "classes.csv")]
    assert (
        main([*run, "--taxonomy", str(demo / "classes.csv"), "--examples", "2", "--out", str(res)])
        == 0
    )
    record = json.loads((res / "examples.json").read_text())
    groups = json.loads((res / "groups.json").read_text())
    duplicates = sorted(groups["near_duplicates"], key=lambda d: -d["similarity"])[:2]
    assert [[p["a"], p["b"]] for p in record["pairs"]][: len(duplicates)] == [
        d["names"] for d in duplicates
    ]
    assert all(len(p["examples"]) == 20 for p in record["pairs"])
    names = SimilarityResult.load(res).classes
    capsys.readouterr()
    assert main(["examples", str(res), "--pair", f"{names[1]},{names[2]}", "--top", "3"]) == 0
    assert capsys.readouterr().out.strip() == str(res / "examples.json")
    assert main(["examples", str(res), "--pair", f"{names[1]},no such class"]) == 2
    assert "not classes of these results: no such class" in capsys.readouterr().err


def test_the_explorer_lists_the_samples(browser, spark, demo, tmp_path):
    from explorer_page import Page

    import classsim_spark as cs

    res = tmp_path / "res"
    cs.similarity(str(demo / "scores"), classes=str(demo / "classes.csv"), out=res, spark=spark)
    cs.analyze(res)
    cs.write_explorer(res)
    names = SimilarityResult.load(res).classes
    record = examples(res, [(names[2], names[9])], top=4, spark=spark)  # refreshes the page
    page = Page(browser, res)
    try:
        page.page.click("summary:has-text('samples behind pairs')")
        page.page.click("#findings-body button[data-kind='samples behind pairs']")
        rows = page.js(
            "() => [...document.querySelectorAll('#examples-body tr')]"
            ".map((r) => r.cells[0].textContent)"
        )
        assert rows == ["sample", *(e["id"] for e in record["pairs"][0]["examples"])]
        assert page.state()["highlight"] is not None
        assert page.problems == []
    finally:
        page.close()
