"""The scan without Spark (threads of this process): the same statistics as numpy and as the
Spark scan of the same files, per ``by`` value too; its choice by ``--engine``; its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classsim_spark import similarity
from classsim_spark.examples import examples
from classsim_spark.executor.local_scan import run_units, scan_units
from classsim_spark.executor.parquet_reader import plan_units
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.spark.session import EngineError, scans_in_process
from classsim_spark.spark.sources import InputError


@pytest.fixture(scope="module")
def logs(tmp_path_factory, planted_scores) -> tuple[str, np.ndarray, np.ndarray]:
    """The planted scores with labels over three days, several files and row groups."""
    path = tmp_path_factory.mktemp("local") / "scores"
    x, m = planted_scores, planted_scores.shape[1]
    labels = np.argmax(x + np.random.default_rng(3).normal(size=x.shape), axis=1)
    for day, rows in enumerate(np.array_split(np.arange(len(x)), 3)):
        folder = path / f"date=2026-01-0{day + 1}"
        folder.mkdir(parents=True)
        table = pa.table(
            {"sample_id": rows, "scores": pa.array(list(x[rows])), "label": labels[rows]}
        )
        pq.write_table(table, folder / "part-0.parquet", row_group_size=70)
    assert labels.max() < m
    return str(path), x, labels


def test_threads_give_numpy_and_the_spark_scan(spark, logs):
    path, x, labels = logs
    here = similarity(path, engine="python", stability_parts=3, sample_rows=50, spark=spark)
    there = similarity(path, engine="spark", stability_parts=3, sample_rows=50, spark=spark)
    assert here.run.spark["engine"] == "python" and there.run.spark["engine"] == "spark"
    assert here.run.spark["threads"] >= 1
    expected = np.corrcoef(x, rowvar=False)
    assert np.abs(here.matrix("logit") - expected).max() < 1e-9
    for t in ("logit", "probability", "rank"):
        assert np.abs(here.matrix(t) - there.matrix(t)).max() < 1e-12
        assert here.moments[t].n == there.moments[t].n == len(x)
    confusion = np.zeros((x.shape[1],) * 2, dtype=np.int64)
    np.add.at(confusion, (labels, np.argmax(x, axis=1)), 1)
    assert np.array_equal(here.counts["confusion"], confusion)
    assert np.array_equal(here.counts["frequencies"], there.counts["frequencies"])
    assert [p.n for p in here.parts["logit"]] == [p.n for p in there.parts["logit"]]
    assert here.sample.shape == (50, x.shape[1])  # a uniform sample of the rows read
    assert {tuple(r) for r in here.sample} <= {tuple(r.astype(np.float32)) for r in x}
    assert here.run.reader.used == "arrow" and "planned from their footers" in (
        here.run.reader.reason
    )


def test_threads_keep_every_value_of_by(spark, logs):
    path, x, _ = logs
    res = similarity(path, engine="python", by="date", transforms=["logit"], spark=spark)
    days = np.array_split(np.arange(len(x)), 3)
    windows = res.windows
    assert windows.values == ["2026-01-01", "2026-01-02", "2026-01-03"]
    for k, rows in enumerate(days):
        moments = RowStatistics.from_arrays(windows.arrays[k]).moments["logit"]
        assert windows.rows[k] == moments.n == len(rows)
        got = moments.correlation().matrix
        assert np.abs(got - np.corrcoef(x[rows], rowvar=False)).max() < 1e-9


def test_one_thread_or_many_the_same_statistics(logs):
    """The merge of threads is exact: 1, 2 and 5 threads agree to rounding."""
    from classsim_spark.core.transforms import ScoreSpec
    from classsim_spark.spark.sources import InputSpec, check_paths, describe_from_footers

    path, x, _ = logs
    footers = describe_from_footers(
        path, InputSpec(), "parquet", None, "auto", None, check_paths(path)
    )
    from classsim_spark.executor.partials import ScanPlan

    plan = ScanPlan(footers.layout, ("logit", "rank"), ScoreSpec(), 5, sample_rows=0)
    results = []
    for threads in (1, 2, 5):
        units = plan_units(footers.row_groups, footers.layout.m, slots=threads)
        statistics, report = scan_units(plan, units, threads)
        assert report.rows_read == report.rows_kept == len(x)
        results.append(statistics[None].moments["rank"].comoment)
    assert max(np.abs(r - results[0]).max() for r in results) < 1e-9 * np.abs(results[0]).max()


def test_run_units_runs_a_task_function_over_every_unit():
    def echo(batches):
        for batch in batches:
            yield pa.record_batch({"unit": batch.column(0)})

    out = run_units(echo, [object()] * 7, threads=3)
    assert sorted(v for b in out for v in b.column(0).to_pylist()) == list(range(7))


def test_the_engine_asked_for(spark, tmp_path, logs):
    path, _, _ = logs
    assert scans_in_process("auto", True, None) is False  # the suite's session is active
    assert scans_in_process("spark", True, None) is False
    assert scans_in_process("python", True, spark) is True
    with pytest.raises(EngineError, match="--engine python scans local or mounted Parquet"):
        similarity(path, engine="python", where="label > 2", spark=spark)
    with pytest.raises(ValueError, match="engine must be one of"):
        similarity(path, engine="gpu", spark=spark)


def test_an_unreadable_file_is_named_from_a_thread(spark, tmp_path, logs):
    path, x, _ = logs
    good = tmp_path / "scores"
    good.mkdir()
    table = pa.table({"sample_id": np.arange(10), "scores": pa.array(list(x[:10]))})
    pq.write_table(table, good / "a.parquet")
    data = (good / "a.parquet").read_bytes()
    (good / "b.parquet").write_bytes(data[:4] + data[4:-60] + data[-8:])  # footer intact, pages cut
    with pytest.raises(InputError, match=r"b\.parquet"):
        similarity(str(good), engine="python", spark=spark)


def test_a_command_without_a_session_starts_no_jvm(tmp_path, logs):
    """`classsim similarity` and `classsim examples` on local Parquet, without a session: the
    scan runs in the command's threads (run.json says so), the examples are numpy's."""
    path, x, _ = logs
    out = tmp_path / "res"
    env = {**os.environ, "CLASSSIM_JVM_ARCHIVE": "0"}
    cli = [sys.executable, "-m", "classsim_spark.cli"]
    done = subprocess.run(
        [*cli, "similarity", "--input", path, "--out", str(out), "--transform", "logit"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "threads, no Spark" in done.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["spark"]["engine"] == "python"
    found = subprocess.run(
        [*cli, "examples", str(out), "--pair", "class_0,class_1", "--top", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    record = json.loads((out / "examples.json").read_text())
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    top = np.argsort(-(z[:, 0] * z[:, 1]))[:3]
    assert [e["id"] for e in record["pairs"][0]["examples"]] == [str(i) for i in top]


def test_examples_in_threads_equal_the_spark_scan(spark, tmp_path, logs):
    path, _, _ = logs
    res = similarity(path, engine="python", transforms=["logit"], out=str(tmp_path / "r"))
    here = examples(res, [("class_0", "class_1"), ("class_6", "class_7")], top=4, engine="python")
    there = examples(
        res, [("class_0", "class_1"), ("class_6", "class_7")], top=4, engine="spark", spark=spark
    )
    assert [e["id"] for p in here["pairs"] for e in p["examples"]] == [
        e["id"] for p in there["pairs"] for e in p["examples"]
    ]
