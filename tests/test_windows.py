"""Statistics per value of a column (``--by``) and windows composed from them without Spark:
against scans of the window's rows alone, through both readers, with updates, and the budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classsim_spark.cli import main
from classsim_spark.core.moments import Moments
from classsim_spark.executor.sampling import RowSample
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.io.results import SimilarityResult
from classsim_spark.io.windows import WindowsError
from classsim_spark.windows import (
    WindowsBudgetError,
    check_windows_budget,
    compose_window,
    select_values,
    window_bytes,
)

# --------------------------------------------------------------------------- pure, no Spark


def test_storage_per_value_is_the_upper_triangles():
    disk, driver = window_bytes(527, 1, 0, False, 0)
    assert disk == 8 * (527 * 528 // 2 + 527)  # ~1.1 MB, as the issue states
    assert round(window_bytes(3755, 1, 0, False, 0)[0] / 1e6) == 56
    assert driver == 8 * (527 * 527 + 527)
    disk3, _ = window_bytes(100, 3, 2, True, 10)
    assert disk3 == 8 * 5 * (100 * 101 // 2 + 100) + 8 * (100 * 100 + 100) + 4 * 10 * 100
    check_windows_budget(30, 527, 3, 6, True, 1000, 4.0, 8 << 30)  # a month of AudioSet days
    with pytest.raises(
        WindowsBudgetError, match=r"90 values .* over the budget of 4 GiB.*; 25 values fit"
    ):
        check_windows_budget(90, 3755, 3, 0, False, 0, 4.0, 64 << 30)
    with pytest.raises(WindowsBudgetError, match="driver memory, over its limit of 1.0 GiB"):
        check_windows_budget(300, 527, 3, 0, False, 0, 100.0, 1 << 30)


def test_values_of_a_window():
    dates = ["2026-01-01", "2026-01-02", "2026-01-10", "2026-02-01"]
    assert select_values(dates, "2026-01-02", "2026-01-31") == ["2026-01-02", "2026-01-10"]
    assert select_values(dates, None, "2026-01-01") == ["2026-01-01"]
    assert select_values(["9", "10", "100"], "10", None) == ["10", "100"]  # as numbers
    assert select_values(["b", "a10", "a9"], "a1", "a9") == ["a10", "a9"]  # as text
    assert select_values([None, "x"], None, None) == [None, "x"]
    assert select_values([None, "x"], "a", None) == ["x"]


def test_statistics_travel_as_arrays_and_merge():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 5))
    halves = []
    for rows in (x[:25], x[25:]):
        stats = RowStatistics(
            {"logit": Moments.from_block(rows), "rank": Moments.from_block(rows * 2)},
            {"frequencies": np.arange(5), "confusion": np.eye(5, dtype=np.int64)},
            RowSample(4, rows[:4], rows.shape[0]),
            {"logit": [Moments.from_block(rows[:10]), Moments.from_block(rows[10:])]},
        )
        back = RowStatistics.from_arrays(stats.to_arrays())
        assert back.n == stats.n and back.sample.seen == stats.sample.seen
        np.testing.assert_array_equal(back.moments["rank"].comoment, stats.moments["rank"].comoment)
        np.testing.assert_array_equal(back.parts["logit"][1].mean, stats.parts["logit"][1].mean)
        assert np.array_equal(back.counts["confusion"], np.eye(5))
        halves.append(back)
    merged = RowStatistics.merge_all(halves)
    assert merged.n == 40 and merged.sample.seen == 40 and merged.sample.rows.shape == (4, 5)
    np.testing.assert_allclose(
        merged.moments["logit"].comoment, Moments.from_block(x).comoment, atol=1e-12
    )
    assert np.array_equal(merged.counts["frequencies"], 2 * np.arange(5))


# --------------------------------------------------------------------------- with Spark


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> Path:
    """Four days of demo scores with labels."""
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo

    spec = DemoSpec(samples=4000, classes=24, top_groups=3, mid_groups=6, days=4, seed=5)
    return write_demo(spec, tmp_path_factory.mktemp("windows") / "data")


def _days(data: Path, *k: int) -> str:
    folders = sorted((data / "scores").iterdir())
    return ",".join(str(folders[i]) for i in k)


def _same_statistics(a: SimilarityResult, b: SimilarityResult) -> None:
    assert a.run.n == b.run.n and a.transforms == b.transforms
    for t in a.transforms:
        np.testing.assert_allclose(a.matrix(t), b.matrix(t), rtol=0, atol=1e-12)
        np.testing.assert_allclose(a.moments[t].comoment, b.moments[t].comoment, atol=1e-9)
    for name in b.counts:
        assert np.array_equal(a.counts[name], b.counts[name])
    for p, q in zip(a.parts["logit"], b.parts["logit"], strict=True):
        assert p.n == q.n
        np.testing.assert_allclose(p.comoment, q.comoment, atol=1e-9)


def test_a_window_equals_a_scan_of_its_rows(spark, days, tmp_path, capsys):
    import classsim_spark as cs

    classes = str(days / "classes.csv")
    res = tmp_path / "res"
    args = ["--input", str(days / "scores"), "--classes", classes, "--by", "date"]
    assert main(["similarity", *args, "--out", str(res)]) == 0
    index = json.loads((res / "windows" / "index.json").read_text())
    assert index["column"] == "date" and [v["rows"] for v in index["values"]] == [1000] * 4
    dates = [v["value"] for v in index["values"]]
    assert dates == sorted(dates) and dates[0] == "2026-01-01"
    # the directory's own statistics are those of all rows, as without --by
    _same_statistics(
        SimilarityResult.load(res), cs.similarity(str(days / "scores"), classes=classes)
    )
    # a window of days 2..3, composed without Spark, against a scan of those days alone
    capsys.readouterr()
    assert (
        main(
            ["window", str(res), "--from", dates[1], "--to", dates[2], "--out", str(tmp_path / "w")]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "w")
    window = SimilarityResult.load(tmp_path / "w")
    _same_statistics(window, cs.similarity(_days(days, 1, 2), classes=classes))
    assert window.run.extra["window"]["values"] == dates[1:3]
    assert window.run.rows_read is None and window.run.n == 2000  # the scan's counts stay out
    # the window is a results directory like any other
    assert main(["analyze", str(tmp_path / "w")]) == 0
    # Spark's reader (a filter) keys the same rows by the same text
    filtered = cs.similarity(
        str(days / "scores"), classes=classes, by="date", where=f"date >= '{dates[2]}'"
    )
    assert filtered.windows.values == dates[2:] and filtered.run.reader.used == "spark"
    # what is not there is named
    with pytest.raises(WindowsError, match="no value '2027-01-01' of date: it has 4 values"):
        compose_window(res, values=["2027-01-01"])
    with pytest.raises(WindowsError, match="has no windows"):
        compose_window(tmp_path / "w", start=dates[0])


def test_updates_add_to_their_value_and_the_budget_refuses_before_the_scan(spark, days, tmp_path):
    import classsim_spark as cs
    from classsim_spark.spark.sources import InputError

    classes = str(days / "classes.csv")
    res = tmp_path / "res"
    cs.similarity(_days(days, 0, 1), classes=classes, by="date", out=res, spark=spark)
    cs.similarity(_days(days, 2, 3), update=res, spark=spark)  # by inherited
    updated = SimilarityResult.load(res)
    assert updated.run.by == "date"
    dates = json.loads((res / "windows" / "index.json").read_text())["values"]
    assert [d["rows"] for d in dates] == [1000] * 4
    _same_statistics(
        compose_window(res, start=dates[3]["value"]), cs.similarity(_days(days, 3), classes=classes)
    )
    _same_statistics(updated, cs.similarity(str(days / "scores"), classes=classes))

    with pytest.raises(WindowsBudgetError, match="4 values .* over the budget of 1e-05 GiB"):
        cs.similarity(
            str(days / "scores"),
            classes=classes,
            by="date",
            windows_budget_gib=1e-5,
            out=tmp_path / "never",
        )
    with pytest.raises(InputError, match="no column 'day'"):
        cs.similarity(str(days / "scores"), classes=classes, by="day")
    assert not (tmp_path / "never").exists()
