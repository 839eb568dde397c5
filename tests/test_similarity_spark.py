"""The Spark pipeline end to end on local[2]: every layout against numpy, and every input error."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.stats as ss

from classsim_spark import load_results, similarity
from classsim_spark.api import DriverCapacityError
from classsim_spark.core.transforms import ScoreSpec, transform_block
from classsim_spark.executor.batches import BatchLayout
from classsim_spark.executor.parquet_reader import local_path
from classsim_spark.executor.partials import ScanPlan, partial_statistics
from classsim_spark.executor.validation import InvalidInputError, RowReport
from classsim_spark.io.classes import ClassListError
from classsim_spark.io.records import ReaderRecord, SampleRecord, TasksRecord
from classsim_spark.io.results import ResultsExistError
from classsim_spark.spark.sources import InputError

ALL = ("logit", "probability", "rank")
LOGITS = ScoreSpec()


def expected(x: np.ndarray, transform: str, spec: ScoreSpec = LOGITS) -> np.ndarray:
    return np.corrcoef(transform_block(x, transform, spec), rowvar=False)


def array_df(spark, x, ids=None, partitions=3):
    ids = np.arange(len(x)) if ids is None else ids
    table = pa.table({"sample_id": ids, "scores": pa.array(list(x), pa.list_(pa.float64()))})
    return spark.createDataFrame(table).repartition(partitions)


def wide_df(spark, x, names):
    cols = {"sample_id": np.arange(len(x))} | {n: x[:, j] for j, n in enumerate(names)}
    return spark.createDataFrame(pa.table(cols)).repartition(2)


def long_df(spark, x, names, keep=None):
    rows = [
        (i, names[j], float(x[i, j]))
        for i in range(len(x))
        for j in range(x.shape[1])
        if keep is None or keep[i, j]
    ]
    return spark.createDataFrame(rows, "sample_id long, class string, score double")


def test_tiny_hand_checked_case_all_layouts(spark):
    x = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 0.1], [3.0, 5.0, 0.7], [4.0, 4.5, 0.2]])
    names = ["cat", "dog", "car"]
    r01 = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    for df, kw in [
        (array_df(spark, x), {"layout": "array", "classes": names}),
        (wide_df(spark, x, names), {"layout": "wide", "classes": names}),
        (long_df(spark, x, names), {"layout": "long", "scores_col": "score"}),
    ]:
        res = similarity(df, transforms=["logit"], spark=spark, **kw)
        order = [res.classes.index(n) for n in names]
        m = res.matrix("logit")[np.ix_(order, order)]
        assert m[0, 1] == pytest.approx(r01, abs=1e-12)
        np.testing.assert_allclose(m, np.corrcoef(x, rowvar=False), atol=1e-12)
        assert res.run.n == 4


def test_generated_case_all_layouts_and_transforms_equal_numpy(spark, planted_scores):
    x = planted_scores[:300]
    names = [f"c{j:02d}" for j in range(x.shape[1])]
    results = [
        similarity(array_df(spark, x), classes=names, transforms=ALL, spark=spark),
        similarity(
            wide_df(spark, x, names), layout="wide", prefix="c", transforms=ALL, spark=spark
        ),
        similarity(
            long_df(spark, x, names), layout="long", scores_col="score", transforms=ALL, spark=spark
        ),
    ]
    assert results[1].classes == [n[1:] for n in names]  # prefix stripped
    for res in results:
        for t in ALL:
            assert np.abs(res.matrix(t) - expected(x, t)).max() < 1e-9, t
    np.testing.assert_allclose(
        results[0].matrix("rank"), np.corrcoef(ss.rankdata(x, axis=1), rowvar=False), atol=1e-12
    )


def test_result_does_not_depend_on_partitioning_or_tiles(spark, planted_scores):
    x = planted_scores
    one = similarity(array_df(spark, x, partitions=1), transforms=["logit"], spark=spark)
    many = similarity(
        array_df(spark, x, partitions=9), transforms=["logit"], spark=spark, tile_size=5
    )
    assert many.run.tile_size == 5
    assert one.run.tasks == TasksRecord(reported=1, retried=0)
    assert many.run.tasks == TasksRecord(reported=9, retried=0)  # one report per partition
    assert np.abs(one.matrix() - many.matrix()).max() < 1e-12
    assert np.abs(many.matrix() - expected(x, "logit")).max() < 1e-9


@pytest.mark.parametrize("attempt", [0, 1, 3])
def test_a_task_reports_whether_it_is_a_retry(attempt):
    """A task's report counts it once, and as retried when Spark runs its partition again
    (the task context's attempt number; the fault test on a cluster makes real retries)."""
    from pyspark import TaskContext

    plan = ScanPlan(BatchLayout("array", ("scores",), 2), ("logit",), LOGITS, tile_size=2)
    batch = pa.record_batch({"scores": pa.array([[0.0, 1.0], [2.0, 0.5]])})
    TaskContext._setTaskContext(TaskContext(partitionId=4, attemptNumber=attempt))
    try:
        rows = [row for out in partial_statistics(plan)(iter([batch])) for row in out.to_pylist()]
    finally:
        TaskContext._setTaskContext(None)
    (report,) = [RowReport.from_json(r["data"]) for r in rows if r["kind"] == "report"]
    assert (report.tasks, report.tasks_retried, report.rows_kept) == (1, int(attempt > 0), 2)


def test_float32_array_and_ml_vectors(spark):
    from pyspark.ml.linalg import SparseVector, Vectors

    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 5)).astype(np.float32) + 100
    table = pa.table(
        {"sample_id": np.arange(80), "scores": pa.array(list(x), pa.list_(pa.float32()))}
    )
    res = similarity(spark.createDataFrame(table), transforms=["logit"], spark=spark)
    assert res.classes == [f"class_{j}" for j in range(5)]
    assert np.abs(res.matrix() - expected(x, "logit")).max() < 1e-9

    y = rng.normal(size=(40, 4))
    y[::2, 1:3] = 0.0
    vectors = [
        (
            i,
            SparseVector(4, {j: v for j, v in enumerate(row) if v != 0})
            if i % 2 == 0
            else Vectors.dense(row),
        )
        for i, row in enumerate(y)
    ]
    df = spark.createDataFrame(vectors, ["sample_id", "features"])
    res = similarity(df, scores_col="features", transforms=["logit"], spark=spark)
    assert np.abs(res.matrix() - expected(y, "logit")).max() < 1e-12


def test_long_layout_top_k_takes_the_fill_value(spark):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 6))
    names = [f"k{j}" for j in range(6)]
    top3 = np.argsort(-x, axis=1)[:, :3]
    keep = np.zeros_like(x, dtype=bool)
    np.put_along_axis(keep, top3, True, axis=1)
    dense = np.where(keep, x, -9.0)
    df = long_df(spark, x, names, keep)
    res = similarity(
        df,
        layout="long",
        scores_col="score",
        classes=names,
        fill_value=-9.0,
        transforms=["logit", "rank"],
        spark=spark,
    )
    for t in ("logit", "rank"):
        assert np.abs(res.matrix(t) - expected(dense, t)).max() < 1e-9
    with pytest.raises(InvalidInputError, match=r"60 of 60 rows lack a score for some classes"):
        similarity(df, layout="long", scores_col="score", classes=names, spark=spark)


def test_long_layout_duplicates_and_unknown_classes(spark):
    rows = [
        (0, "a", 1.0),
        (0, "b", 2.0),
        (1, "a", 0.5),
        (1, "b", 0.1),
        (1, "b", 0.2),
        (2, "a", 0.3),
        (2, "zzz", 1.0),
        (3, "a", 3.0),
        (3, "b", 1.0),
        (4, "a", 2.0),
        (4, "b", 2.5),
    ]
    df = spark.createDataFrame(rows, "sample_id long, class string, score double")
    with pytest.raises(InvalidInputError) as err:
        similarity(df, layout="long", scores_col="score", classes=["a", "b"], spark=spark)
    text = str(err.value)
    assert "1 of 5 rows have more than one score for the same class" in text
    assert "1 of 5 rows have scores for classes that are not in the class list" in text
    assert "sample_id: 1" in text and "sample_id: 2" in text
    res = similarity(
        df,
        layout="long",
        scores_col="score",
        classes=["a", "b"],
        drop_invalid=True,
        transforms=["logit"],
        spark=spark,
    )
    assert res.run.rows_dropped == 2 and res.run.n == 3
    x = np.array([[1.0, 2.0], [3.0, 1.0], [2.0, 2.5]])
    assert res.matrix()[0, 1] == pytest.approx(np.corrcoef(x, rowvar=False)[0, 1], abs=1e-12)


def test_nan_and_inf_rows_fail_by_default_and_are_dropped_on_request(spark, planted_scores):
    x = planted_scores[:100].copy()
    x[[3, 50, 77], [0, 4, 11]] = [np.nan, np.inf, -np.inf]
    df = array_df(spark, x, ids=np.arange(1000, 1100))
    with pytest.raises(InvalidInputError) as err:
        similarity(df, transforms=["logit"], spark=spark)
    msg = str(err.value)
    assert "3 of 100 rows have NaN or infinite scores" in msg
    for sid in ("1003", "1050", "1077"):
        assert sid in msg
    assert "--drop-invalid" in msg
    res = similarity(df, transforms=["logit"], drop_invalid=True, spark=spark)
    assert (res.run.rows_read, res.run.n, res.run.rows_dropped) == (100, 97, 3)
    assert res.run.problems == {"non_finite": 3}
    keep = np.setdiff1d(np.arange(100), [3, 50, 77])
    assert np.abs(res.matrix() - expected(x[keep], "logit")).max() < 1e-9


def test_wrong_length_and_null_arrays(spark):
    table = pa.table(
        {
            "sample_id": [10, 11, 12, 13, 14, 15],
            "scores": pa.array(
                [
                    [1.0, 2.0, 3.0],
                    [1.0, 2.0],
                    None,
                    [2.0, 1.0, 0.0],
                    [0.5, 0.5, 1.5],
                    [1.0, 2.0, 3.0, 4.0],
                ]
            ),
        }
    )
    df = spark.createDataFrame(table)
    with pytest.raises(InvalidInputError) as err:
        similarity(df, classes=["a", "b", "c"], transforms=["logit"], spark=spark)
    msg = str(err.value)
    assert "2 of 6 rows have a score array whose length differs" in msg
    assert "11" in msg and "15" in msg
    assert "1 of 6 rows have a null score array" in msg


def test_probabilities_outside_unit_interval(spark):
    p = np.array([[0.2, 0.8], [0.5, 0.5], [1.2, -0.2], [0.9, 0.1]])
    with pytest.raises(InvalidInputError, match=r"1 of 4 rows have probabilities outside \[0, 1\]"):
        similarity(array_df(spark, p), scores="probabilities", transforms=["logit"], spark=spark)


def test_wide_layout_errors(spark):
    x = np.ones((3, 2))
    df = wide_df(spark, x, ["a", "b"])
    with pytest.raises(InputError, match="1 of 3 class columns are not in the input.*'zz'"):
        similarity(df, layout="wide", classes=["a", "b", "zz"], spark=spark)
    with pytest.raises(InputError, match="needs the class columns"):
        similarity(df, layout="wide", spark=spark)
    with pytest.raises(ClassListError, match="duplicate class names.*'a'"):
        similarity(array_df(spark, x), classes=["a", "a"], spark=spark)
    with pytest.raises(InputError, match="must be array<float|double>"):
        similarity(df, layout="array", scores_col="a", spark=spark)


def test_empty_input_after_filter(spark, planted_scores):
    df = array_df(spark, planted_scores[:50])
    with pytest.raises(
        InvalidInputError,
        match=r"too few rows: correlations need at least 2 "
        r"valid rows, the input has 0 \(0 read\)",
    ):
        similarity(df, where="sample_id < 0", classes=[f"c{j}" for j in range(12)], spark=spark)


def test_too_many_classes_refused_before_scanning(spark):
    """A DataFrame whose scan raises proves the capacity check comes first."""

    def explode(batches):
        raise RuntimeError("the scan must not start")
        yield  # pragma: no cover

    df = spark.range(5).mapInArrow(explode, "sample_id long, scores array<double>")
    with pytest.raises(DriverCapacityError, match=r"20000 classes x 3 transforms need about 27.0"):
        similarity(
            df, classes=[f"c{j}" for j in range(20000)], driver_memory_limit=1 << 30, spark=spark
        )
    with pytest.raises(DriverCapacityError, match=r"sample of 30000 rows of 20000 .* 2.2 GiB"):
        similarity(df, classes=[f"c{j}" for j in range(20000)], sample_rows=30_000, spark=spark)


def test_partitioned_parquet_where_and_results_directory(spark, tmp_path, planted_scores):
    x = planted_scores[:240]
    dates = np.repeat(["2026-01-01", "2026-01-02", "2026-01-03"], 80)
    table = pa.table({"sample_id": np.arange(240), "scores": pa.array(list(x)), "date": dates})
    pq.write_to_dataset(table, tmp_path / "scores", partition_cols=["date"])
    (tmp_path / "classes.json").write_text(json.dumps([f"k{j}" for j in range(12)]))
    out = tmp_path / "res"
    res = similarity(
        str(tmp_path / "scores"),
        where="date >= '2026-01-02'",
        classes=str(tmp_path / "classes.json"),
        transforms=["logit", "rank"],
        spark=spark,
        out=out,
    )
    assert res.run.n == 160
    assert np.abs(res.matrix("logit") - expected(x[80:], "logit")).max() < 1e-9
    assert sorted(p.name for p in out.iterdir()) == [
        "classes.csv",
        "moments-logit.npz",
        "moments-rank.npz",
        "parts-logit.npz",
        "run.json",
        "sample.npy",
        "similarity-logit.npy",
        "similarity-rank.npy",
    ]
    assert (out / "classes.csv").read_text().splitlines()[:2] == ["index,name", "0,k0"]
    back = load_results(out)
    np.testing.assert_array_equal(back.matrix("rank"), res.matrix("rank"))
    assert back.moments["logit"].n == 160
    run = json.loads((out / "run.json").read_text())
    assert run["where"] == "date >= '2026-01-02'" and run["m"] == 12
    assert set(run["timings_s"]) >= {"resolve input", "scan", "similarity"}
    with pytest.raises(ResultsExistError, match="--overwrite"):
        similarity(
            str(tmp_path / "scores"), classes=str(tmp_path / "classes.json"), spark=spark, out=out
        )
    np.testing.assert_array_equal(np.load(out / "similarity-rank.npy"), res.matrix("rank"))
    similarity(
        str(tmp_path / "scores"),
        classes=str(tmp_path / "classes.json"),
        transforms=["probability"],
        spark=spark,
        out=out,
        overwrite=True,
    )
    assert load_results(out).transforms == ["probability"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.json", "res", "scores"]


def test_failed_run_leaves_no_results_directory(spark, tmp_path, planted_scores):
    x = planted_scores[:20].copy()
    x[0, 0] = np.nan
    out = tmp_path / "res"
    with pytest.raises(InvalidInputError):
        similarity(array_df(spark, x), spark=spark, out=out)
    assert list(tmp_path.iterdir()) == []


def test_direct_parquet_reader_equals_spark_reader(spark, tmp_path, planted_scores):
    x = planted_scores.astype(np.float32)
    table = pa.table({"sample_id": np.arange(len(x)), "scores": pa.array(list(x))})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=100)  # 6 row groups
    pq.write_table(table.slice(0, 50), tmp_path / "b.parquet")
    src = f"{tmp_path}/*.parquet"
    both = np.concatenate([x, x[:50]])
    runs = {
        r: similarity(src, reader=r, transforms=["logit", "rank"], spark=spark)
        for r in ("spark", "arrow", "auto")
    }
    assert runs["arrow"].run.reader.used == "arrow"
    assert runs["auto"].run.reader.used == "arrow"
    assert runs["spark"].run.reader.used == "spark"
    for res in runs.values():
        assert res.run.n == 650
        for t in ("logit", "rank"):
            assert np.abs(res.matrix(t) - expected(both, t)).max() < 1e-9
    filtered = similarity(src, where="sample_id < 100", transforms=["logit"], spark=spark)
    assert filtered.run.reader == ReaderRecord(
        requested="auto", used="spark", reason="a SQL filter (--where) is evaluated by Spark"
    )
    assert filtered.run.n == 150
    with pytest.raises(InputError, match="--reader arrow cannot read this input: a SQL filter"):
        similarity(src, where="sample_id < 100", reader="arrow", spark=spark)


def test_local_parquet_is_described_from_its_footers_as_spark_would(
    spark, tmp_path, planted_scores, monkeypatch
):
    """The driver describes local Parquet from its footers (no Spark job before the scan):
    the same layout, classes, labels, row groups and partition values that Spark's reader and
    the executors' footer job (the oracles) find."""
    from classsim_spark.spark import sources

    x = planted_scores[:300]
    labels = np.arange(300) % x.shape[1]
    table = pa.table({"sample_id": np.arange(300), "scores": pa.array(list(x)), "label": labels})
    for day, part in (("2026-01-01", table.slice(0, 200)), ("2026-01-02", table.slice(200))):
        (tmp_path / f"date={day}").mkdir()
        pq.write_table(part, tmp_path / f"date={day}" / "a b%.parquet", row_group_size=70)
    path, spec = str(tmp_path), sources.InputSpec()
    checked = sources.check_paths(path)
    footers = sources.describe_from_footers(path, spec, "parquet", None, "auto", "auto", checked)

    df = sources.read_scores(spark, path)
    assert sources.resolve_labels(df.schema, "auto") == footers.labels == ("label", False)
    _, layout, classes = sources.resolve_layout(spark, df, spec, "label")
    assert (footers.layout, footers.classes) == (layout, classes)
    assert footers.partitions == ("date",) and footers.schema.names == df.schema.names
    assert footers.count_values("date") == sources.count_values(df, "date") == 2
    assert footers.count_values("label") == sources.count_values(df, "label")
    executors_read = sources._footers(spark, df.inputFiles())  # Spark names files by URI
    assert sorted((local_path(f), g, n) for f, g, n in executors_read) == sorted(footers.row_groups)
    with pytest.raises(InputError, match="--by day: the input has no column 'day'"):
        footers.count_values("day")

    def no_spark(*args, **kwargs):
        raise AssertionError("describing local Parquet used Spark before the scan")

    monkeypatch.setattr(sources, "_footers", no_spark)
    monkeypatch.setattr(sources, "read_scores", no_spark)
    res = similarity(path, reader="arrow", transforms=["logit"], spark=spark, by="date")
    assert res.run.reader.reason == (
        "2 Parquet files, 5 row groups in 2 tasks read with pyarrow, planned from their footers"
    )
    assert np.abs(res.matrix("logit") - expected(x, "logit")).max() < 1e-9
    assert sorted(res.windows.values) == ["2026-01-01", "2026-01-02"]


def test_spark_written_vectors_are_described_from_the_footers(spark, tmp_path):
    """Files Spark wrote keep its schema in their footer: an ML vector column is found and
    its size read from the first row, dense or sparse."""
    from pyspark.ml.linalg import Vectors

    from classsim_spark.spark import sources

    rows = [(0, Vectors.sparse(4, [1], [2.0])), (1, Vectors.dense([1.0, 0.0, 3.0, 2.0]))]
    spark.createDataFrame(rows, ["sample_id", "scores"]).coalesce(1).write.parquet(
        str(tmp_path / "v")
    )
    path = str(tmp_path / "v")
    footers = sources.describe_from_footers(
        path, sources.InputSpec(), "parquet", None, "auto", None, sources.check_paths(path)
    )
    assert type(footers.schema["scores"].dataType).__name__ == "VectorUDT"
    assert footers.classes == [f"class_{i}" for i in range(4)]


def test_direct_reader_reports_bad_rows_with_ids(spark, tmp_path, planted_scores):
    x = planted_scores[:100].copy()
    x[42, 3] = np.nan
    pq.write_table(
        pa.table({"sample_id": np.arange(100) + 7000, "scores": pa.array(list(x))}),
        tmp_path / "a.parquet",
        row_group_size=30,
    )
    with pytest.raises(InvalidInputError, match=r"1 of 100 rows have NaN.*7042"):
        similarity(str(tmp_path / "a.parquet"), reader="arrow", spark=spark)


def test_task_slots_from_the_session(spark):
    from classsim_spark.spark.sources import task_slots

    if spark.conf.get("spark.master") == "local[2]":
        assert task_slots(spark) == 2


def test_catalog_table_with_partition_filter(spark, tmp_path, planted_scores):
    x = planted_scores[:120]
    dates = np.repeat(["2026-02-01", "2026-02-02"], 60)
    table = pa.table({"sample_id": np.arange(120), "scores": pa.array(list(x)), "date": dates})
    spark.createDataFrame(table).write.mode("overwrite").partitionBy("date").option(
        "path", str(tmp_path / "tbl")
    ).saveAsTable("classsim_scores_t")
    try:
        res = similarity(
            "spark_catalog.default.classsim_scores_t",
            where="date = '2026-02-02'",
            transforms=["logit"],
            spark=spark,
        )
        assert res.run.reader.used == "spark" and res.run.n == 60
        assert np.abs(res.matrix() - expected(x[60:], "logit")).max() < 1e-9
        with pytest.raises(Exception, match="TABLE_OR_VIEW_NOT_FOUND"):
            similarity("default.no_such_table", spark=spark)
    finally:
        spark.sql("DROP TABLE IF EXISTS classsim_scores_t")


# The row sample: raw scores of a uniform sample of the kept rows, collected in the same scan.


def sorted_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` as float32, sorted lexicographically: the multiset of its rows."""
    x = np.asarray(x, dtype=np.float32)
    return x[np.lexsort(x.T[::-1])]


def write_parts(path, x: np.ndarray, parts: int, row_group_size: int) -> str:
    """``x`` as ``parts`` Parquet files of consecutive rows; returns their glob."""
    path.mkdir()
    for i, (ids, part) in enumerate(
        zip(np.array_split(np.arange(len(x)), parts), np.array_split(x, parts), strict=True)
    ):
        table = pa.table({"sample_id": ids, "scores": pa.array(list(part))})
        pq.write_table(table, path / f"part-{i}.parquet", row_group_size=row_group_size)
    return f"{path}/*.parquet"


def test_sample_holds_every_kept_row_while_n_is_within_capacity(spark, tmp_path):
    x = (np.random.default_rng(11).normal(size=(2500, 20)) * 3).astype(np.float32)
    src = write_parts(tmp_path / "scores", x, parts=3, row_group_size=300)
    runs = {
        reader: similarity(
            src,
            reader=reader,
            transforms=["logit"],
            sample_rows=3000,
            spark=spark,
            out=tmp_path / reader,
        )
        for reader in ("auto", "spark")
    }
    runs["dataframe"] = similarity(
        array_df(spark, x, partitions=4), transforms=["logit"], sample_rows=2500, spark=spark
    )
    assert runs["auto"].run.reader.used == "arrow"
    assert runs["spark"].run.reader.used == "spark"
    for name, res in runs.items():
        assert res.run.sample == SampleRecord(
            rows=2500, of=2500, capacity=2500 if name == "dataframe" else 3000
        )
        assert res.sample.dtype == np.float32
        np.testing.assert_array_equal(sorted_rows(res.sample), sorted_rows(x))
    for reader in ("auto", "spark"):
        np.testing.assert_array_equal(
            np.load(tmp_path / reader / "sample.npy"), runs[reader].sample
        )
        np.testing.assert_array_equal(load_results(tmp_path / reader).sample, runs[reader].sample)


@pytest.mark.parametrize("reader", ["auto", "spark"])
def test_sample_of_capacity_rows_drawn_from_every_part(spark, tmp_path, reader):
    """3,000 rows in 5 files of consecutive ids (column 0 is the id): a uniform 200 of them
    takes about 40 from each file (hypergeometric sd 5.5), which needs every task's sample."""
    x = np.random.default_rng(12).normal(size=(3000, 12))
    x[:, 0] = np.arange(3000)
    src = write_parts(tmp_path / "scores", x, parts=5, row_group_size=200)
    out = tmp_path / "res"
    res = similarity(src, reader=reader, transforms=["rank"], sample_rows=200, spark=spark, out=out)
    run = json.loads((out / "run.json").read_text())
    assert run["sample"] == {"rows": 200, "of": 3000, "capacity": 200}
    saved = np.load(out / "sample.npy")
    assert saved.shape == (200, 12) and saved.dtype == np.float32
    np.testing.assert_array_equal(saved, res.sample)
    ids = saved[:, 0].astype(int)
    assert len(set(ids)) == 200
    np.testing.assert_array_equal(saved, x[ids].astype(np.float32))  # each an input row
    per_file = np.bincount(ids // 600, minlength=5)
    assert per_file.min() >= 13 and per_file.max() <= 67, per_file


def test_sample_rows_zero_keeps_no_sample(spark, tmp_path, planted_scores):
    out = tmp_path / "res"
    res = similarity(
        array_df(spark, planted_scores[:100]),
        transforms=["logit"],
        sample_rows=0,
        spark=spark,
        out=out,
    )
    assert res.sample is None and res.run.sample is None
    assert not (out / "sample.npy").exists()
    assert load_results(out).sample is None
    with pytest.raises(ValueError, match="sample_rows must be >= 0"):
        similarity(array_df(spark, planted_scores[:10]), sample_rows=-1, spark=spark)


def test_dropped_rows_never_enter_the_sample(spark):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(400, 8))
    x[[5, 77, 300], [0, 3, 7]] = [np.nan, np.inf, -np.inf]
    label = rng.integers(0, 8, size=400)
    label[[10, 11]] = 99  # outside the class list
    table = pa.table(
        {
            "sample_id": np.arange(400),
            "scores": pa.array(list(x)),
            "label": pa.array(label, pa.int32()),
        }
    )
    res = similarity(
        spark.createDataFrame(table).repartition(3),
        transforms=["logit"],
        drop_invalid=True,
        sample_rows=1000,
        spark=spark,
    )
    kept = np.setdiff1d(np.arange(400), [5, 77, 300, 10, 11])
    assert res.run.n == 395 and res.run.sample == SampleRecord(rows=395, of=395, capacity=1000)
    assert np.isfinite(res.sample).all()
    np.testing.assert_array_equal(sorted_rows(res.sample), sorted_rows(x[kept]))


def test_auto_transforms_follow_the_size_of_the_input(spark, tmp_path, planted_scores, monkeypatch):
    """``auto`` computes the three transforms for input known to be small or of unknown size,
    ``logit`` alone above the threshold (rows x classes from the footers); ``all`` asks for
    the three."""
    from classsim_spark import api

    x = planted_scores[:100]
    pq.write_table(
        pa.table({"sample_id": np.arange(100), "scores": pa.array(list(x))}),
        tmp_path / "a.parquet",
    )
    path = str(tmp_path / "a.parquet")
    assert similarity(path, spark=spark).transforms == ["logit", "probability", "rank"]
    monkeypatch.setattr(api, "AUTO_ALL_CELLS", 100 * x.shape[1] - 1)
    small = similarity(path, spark=spark)
    assert small.transforms == ["logit"] and small.run.transforms == ["logit"]
    assert similarity(path, spark=spark, transforms="all").transforms == list(
        api.DEFAULT_TRANSFORMS
    )
    frame = spark.createDataFrame(pa.table({"scores": pa.array(list(x))}).to_pandas())
    assert similarity(frame, spark=spark).transforms == list(api.DEFAULT_TRANSFORMS)  # unknown
