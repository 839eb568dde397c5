"""Adding new rows to a results directory (``--update``): the merged statistics against a full
scan of all rows and against numpy, the settings it inherits, and what it refuses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from classsim_spark.cli import main
from classsim_spark.core.moments import Moments, row_parts
from classsim_spark.executor.sampling import RowSample
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.io.records import RunRecord, SampleRecord, ScanInput
from classsim_spark.io.results import SimilarityResult
from classsim_spark.update import (
    IncompatibleUpdateError,
    check_not_merged,
    check_same_classes,
    settings_for_update,
    statistics_of,
)

# --------------------------------------------------------------------------- pure, no Spark


def _moments(x: np.ndarray, parts: np.ndarray, k: int) -> tuple[Moments, list[Moments]]:
    return Moments.from_block(x), [Moments.from_block(x[parts == p]) for p in range(k)]


@pytest.mark.parametrize(("offset", "tolerance"), [(0.0, 1e-12), (1e4, 1e-9)])
def test_merged_statistics_are_those_of_all_rows(offset, tolerance):
    """To 1e-12 of the matrices' scale; to 1e-9 (the design's bound against numpy) when the
    scores carry an offset of 1e4, whose means float64 holds to 2e-12 only."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 7)) + offset
    labels = rng.integers(0, 7, size=500)
    part = row_parts(x, 3)
    old, new = slice(0, 320), slice(320, 500)

    def counts(rows):
        c = np.zeros((7, 7), dtype=np.int64)
        np.add.at(c, (labels[rows], x[rows].argmax(axis=1)), 1)
        return {"confusion": c, "frequencies": np.bincount(labels[rows], minlength=7)}

    m_old, p_old = _moments(x[old], part[old], 3)
    base = SimilarityResult(
        [f"c{i}" for i in range(7)],
        {"logit": m_old},
        {"logit": m_old.correlation().matrix},
        run=RunRecord(["logit"], 320, 7, sample=SampleRecord(50, 320, 50)),
        counts=counts(old),
        sample=x[old][:50].astype(np.float32),
        parts={"logit": p_old},
    )
    m_new, p_new = _moments(x[new], part[new], 3)
    sample_new = RowSample(50, x[new][:50], 180)
    merged = statistics_of(base).merge(
        RowStatistics({"logit": m_new}, counts(new), sample_new, {"logit": p_new})
    )
    moments, merged_counts, sample, parts = (
        merged.moments,
        merged.counts,
        merged.sample,
        merged.parts,
    )
    m_all, p_all = _moments(x, part, 3)
    assert moments["logit"].n == 500
    scale = np.abs(m_all.comoment).max()
    np.testing.assert_allclose(moments["logit"].mean, m_all.mean, rtol=1e-15, atol=1e-12)
    np.testing.assert_allclose(moments["logit"].comoment, m_all.comoment, atol=tolerance * scale)
    np.testing.assert_allclose(
        moments["logit"].correlation().matrix, np.corrcoef(x, rowvar=False), atol=tolerance
    )
    for merged, expected in zip(parts["logit"], p_all, strict=True):
        assert merged.n == expected.n
        np.testing.assert_allclose(merged.comoment, expected.comoment, atol=tolerance * scale)
    for name, values in counts(slice(0, 500)).items():
        assert np.array_equal(merged_counts[name], values)
    assert sample.seen == 500 and sample.rows.shape == (50, 7)
    rows = {r.tobytes() for r in x.astype(np.float32)}
    assert all(r.tobytes() in rows for r in sample.rows)


def _result(classes=("a", "b", "c"), **run) -> SimilarityResult:
    fields = {
        "transforms": ["logit", "rank"],
        "n": 10,
        "m": len(classes),
        "input_spec": {"layout": "wide", "prefix": "p_", "scores_col": "scores"},
        "format": "parquet",
        **run,
    }
    stats = Moments.from_block(np.arange(30.0).reshape(10, 3) ** 1.5)
    return SimilarityResult(
        list(classes),
        {"logit": stats, "rank": stats},
        {"logit": np.eye(3), "rank": np.eye(3)},
        run=RunRecord(**fields),
        path=Path("old-results"),
    )


def test_settings_left_at_their_defaults_are_the_results_own():
    defaults = {"transforms": ("logit", "probability", "rank"), "layout": "array", "labels": "auto"}
    given = {"transforms": ("logit", "probability", "rank"), "layout": "array", "labels": "auto"}
    settings = settings_for_update(given, defaults, _result())
    assert settings["transforms"] == ["logit", "rank"]
    assert settings["layout"] == "wide" and settings["prefix"] == "p_"
    assert settings["labels"] is None and settings["classes"] is None  # found by the prefix
    assert settings["sample_rows"] == 0 and settings["stability_parts"] == 0
    # the input may be described anew; the statistics' settings may only be repeated
    described = settings_for_update(
        {**given, "layout": "array"}, {**defaults, "layout": "x"}, _result()
    )
    assert described["layout"] == "array"
    assert settings_for_update(
        {**given, "transforms": ["rank", "logit"][::-1]}, defaults, _result()
    )


def test_other_statistics_settings_are_refused_all_named():
    defaults = {"transforms": ("logit",), "scores": "logits", "labels": "auto"}
    given = {"transforms": ["logit"], "scores": "probabilities", "labels": "label"}
    with pytest.raises(IncompatibleUpdateError) as err:
        settings_for_update(given, {**defaults, "transforms": ("x",)}, _result())
    message = str(err.value)
    assert "transforms logit here, logit,rank there" in message
    assert "scores 'probabilities' here, 'logits' there" in message
    assert "labels 'label' here, None there" in message


def test_other_classes_or_another_order_are_refused():
    check_same_classes(["a", "b"], ["a", "b"], "res")
    with pytest.raises(
        IncompatibleUpdateError, match=r"1 classes not in it \(z\); 1 of its classes missing \(b\)"
    ):
        check_same_classes(["a", "b"], ["a", "z"], "res")
    with pytest.raises(
        IncompatibleUpdateError, match="another order .*position 0: 'b' here, 'a' there"
    ):
        check_same_classes(["a", "b", "c"], ["b", "a", "c"], "res")


def test_rows_already_merged_are_refused():
    def scan(input_, where=None, files=None):
        return ScanInput(input_, "parquet", where, "array", "2026-01-02", 5, 5, 0, files)

    run = RunRecord(["logit"], 5, 2, inputs=[scan("logs/d1", files=["/l/d1/a.parquet"])])
    check_not_merged(run, scan("logs/d2", files=["/l/d2/a.parquet"]), "res")
    with pytest.raises(IncompatibleUpdateError, match="1 of the new input's files are already"):
        check_not_merged(run, scan("logs", files=["/l/d1/a.parquet", "/l/d2/a.parquet"]), "res")
    # both filtered: the files may hold other rows
    run_where = RunRecord(["logit"], 5, 2, inputs=[scan("t", "d = 1", ["/t/a.parquet"])])
    check_not_merged(run_where, scan("t", "d = 2", ["/t/a.parquet"]), "res")
    with pytest.raises(IncompatibleUpdateError, match="already in"):  # the same filter again
        check_not_merged(run_where, scan("t", "d = 1", ["/t/a.parquet"]), "res")
    tables = RunRecord(["logit"], 5, 2, inputs=[scan("cat.db.t", "d = 1")])
    check_not_merged(tables, scan("cat.db.t", "d = 2"), "res")
    with pytest.raises(IncompatibleUpdateError, match="'cat.db.t' where d = 1 is already in res"):
        check_not_merged(tables, scan("cat.db.t", "d = 1"), "res")
    frames = RunRecord(["logit"], 5, 2, inputs=[scan("DataFrame")])
    check_not_merged(frames, scan("DataFrame"), "res")  # cannot be told apart: allowed


# --------------------------------------------------------------------------- with Spark


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> Path:
    """Three days of demo scores with labels (single-label: confusion counts)."""
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    spec = DemoSpec(samples=3000, classes=30, top_groups=3, mid_groups=6, days=3, seed=4)
    return write_demo(spec, tmp_path_factory.mktemp("update") / "data")


def _day(data: Path, k: int) -> str:
    return str(sorted((data / "scores").iterdir())[k])


def _digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("engine", ["spark", "python"])
def test_an_update_equals_a_full_scan(spark, days, tmp_path, engine):
    """Scanned and updated by either engine, the statistics equal a full Spark scan's."""
    import classsim_spark as cs

    classes = str(days / "classes.csv")
    two_days = f"{_day(days, 0)},{_day(days, 1)}"
    cs.similarity(two_days, classes=classes, out=tmp_path / "res", spark=spark, engine=engine)
    updated = cs.similarity(_day(days, 2), update=tmp_path / "res", spark=spark, engine=engine)
    full = cs.similarity(str(days / "scores"), classes=classes, spark=spark, engine="spark")
    assert updated.run.spark["engine"] == engine
    reopened = SimilarityResult.load(tmp_path / "res")
    assert updated.run.n == reopened.run.n == full.run.n == 3000
    for t in full.transforms:
        a, b = reopened.moments[t], full.moments[t]
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.comoment, b.comoment, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(reopened.matrix(t), full.matrix(t), rtol=0, atol=1e-12)
    for a, b in zip(reopened.parts["logit"], full.parts["logit"], strict=True):
        assert a.n == b.n
        np.testing.assert_allclose(a.comoment, b.comoment, rtol=1e-12, atol=1e-9)
    for name in full.counts:
        assert np.array_equal(reopened.counts[name], full.counts[name])
    assert reopened.sample.shape == full.sample.shape and reopened.run.sample.of == 3000
    run = json.loads((tmp_path / "res" / "run.json").read_text())
    assert [i["input"] for i in run["inputs"]] == [two_days, _day(days, 2)]
    assert [i["rows_kept"] for i in run["inputs"]] == [2000, 1000]
    assert run["rows_read"] == 3000 and run["input"] == _day(days, 2)
    assert "merge" in run["timings_s"]


def test_update_commands_in_place_elsewhere_and_refused(spark, days, tmp_path, capsys):
    res = tmp_path / "res"
    first = ["--input", _day(days, 0), "--classes", str(days / "classes.csv")]
    assert main(["similarity", *first, "--transform", "logit,rank", "--out", str(res)]) == 0
    before = _digest(res)

    # another directory: the old one stays as it was
    other = tmp_path / "other"
    assert (
        main(["similarity", "--input", _day(days, 1), "--update", str(res), "--out", str(other)])
        == 0
    )
    assert _digest(res) == before
    assert SimilarityResult.load(other).run.transforms == ["logit", "rank"]  # inherited

    # refused, the directory untouched: the same file again, another setting, another order
    capsys.readouterr()
    assert main(["similarity", "--input", _day(days, 0), "--update", str(res)]) == 2
    assert "already in" in capsys.readouterr().err
    assert (
        main(["similarity", "--input", _day(days, 1), "--update", str(res), "--transform", "logit"])
        == 2
    )
    assert "transforms logit here, logit,rank there" in capsys.readouterr().err
    lines = (days / "classes.csv").read_text().splitlines()  # class_id,name,level1,level2
    first, second = (line.split(",", 1) for line in lines[1:3])
    swapped = [f"{first[0]},{second[1]}", f"{second[0]},{first[1]}"]  # ids 0, 1 trade names
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *swapped, *lines[3:]]) + "\n")
    args = ["--input", _day(days, 1), "--update", str(res), "--classes", str(shuffled)]
    assert main(["similarity", *args]) == 2
    assert "another order" in capsys.readouterr().err
    assert _digest(res) == before

    # run --update: in place, then the analysis and figures of all rows
    assert main(["run", "--input", _day(days, 1), "--update", str(res), "--no-explorer"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(res)
    groups = json.loads((res / "groups.json").read_text())
    assert groups["results"]["n"] == 2000 and (res / "figures" / "similarity.png").is_file()
    assert not (res / "unfinished.json").exists()


def test_a_wide_layout_found_by_prefix_is_updated_and_drilled_into(spark, tmp_path):
    """Classes found from column names (``--prefix``): the update describes the new rows as the
    first scan did, and the examples scan reads them so too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import classsim_spark as cs
    from classsim_spark.examples import examples

    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 5)) + rng.normal(size=(400, 1))
    for day, rows in (("d1", slice(0, 250)), ("d2", slice(250, 400))):
        columns = {f"p_{c}": x[rows, i] for i, c in enumerate("abcde")}
        ids = np.arange(400)[rows]
        (tmp_path / day).mkdir()
        pq.write_table(pa.table({"sample_id": ids, **columns}), tmp_path / day / "part.parquet")
    res = tmp_path / "res"
    cs.similarity(str(tmp_path / "d1"), layout="wide", prefix="p_", out=res, spark=spark)
    updated = cs.similarity(str(tmp_path / "d2"), update=res, spark=spark)
    assert updated.classes == list("abcde") and updated.run.n == 400
    np.testing.assert_allclose(
        updated.matrix("logit"), np.corrcoef(x, rowvar=False), rtol=0, atol=1e-12
    )
    record = examples(res, [("a", "b")], top=3, spark=spark)
    assert len(record["inputs"]) == 2 and len(record["pairs"][0]["examples"]) == 3
