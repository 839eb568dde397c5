"""Label baselines from the same scan: frequencies, confusion and co-occurrence against numpy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from classsim_spark import load_results, similarity
from classsim_spark.executor.labels import LabelCounts, LabelSets, LabelSpec, decode_labels
from classsim_spark.executor.validation import InvalidInputError, RowReport
from classsim_spark.io.records import LabelsRecord


def test_decode_labels_hand_checked():
    batch = pa.record_batch(
        {"label": pa.array(["b", "a", None, "zz"]), "labels": pa.array([[0, 2], [], None, [1, 5]])}
    )
    ids = np.array([10, 11, 12, 13])
    report = RowReport()
    single, ok = decode_labels(
        batch, LabelSpec("label", False, ("a", "b", "c")), np.arange(4), ids, 3, report
    )
    assert single[ok].tolist() == [1, 0] and ok.tolist() == [True, True, False, False]
    assert report.counts == {"null_labels": 1, "unknown_labels": 1}
    report = RowReport()
    multi, ok = decode_labels(
        batch, LabelSpec("labels", True), np.array([0, 1, 3]), ids[[0, 1, 3]], 3, report
    )
    valid = multi[ok]  # each valid row's classes, the row of an unknown label left out
    assert len(valid) == 2 and [valid[0].tolist(), valid[1].tolist()] == [[0, 2], []]
    with pytest.raises(IndexError):
        valid[2]
    assert report.examples == {"unknown_labels": ["13"]}
    counts = LabelCounts(3, multi=True)
    counts.update(multi[ok], np.zeros((2, 3)))
    assert counts.frequencies.tolist() == [1, 0, 1]
    assert counts.pairs.tolist() == [[1, 0, 1], [0, 0, 0], [1, 0, 1]]


def test_single_label_confusion_and_frequencies(spark, tmp_path):
    rng = np.random.default_rng(8)
    n, m = 500, 7
    x = rng.normal(size=(n, m))
    label = rng.integers(0, m, size=n)
    x[np.arange(n), label] += 1.5  # a classifier that is right more often than not
    table = pa.table(
        {
            "sample_id": np.arange(n),
            "scores": pa.array(list(x)),
            "label": pa.array(label, pa.int32()),
        }
    )
    df = spark.createDataFrame(table).repartition(3)
    res = similarity(df, transforms=["logit"], spark=spark, out=tmp_path / "res", tile_size=3)
    expected = np.zeros((m, m), dtype=np.int64)
    np.add.at(expected, (label, x.argmax(axis=1)), 1)
    np.testing.assert_array_equal(res.counts["confusion"], expected)
    np.testing.assert_array_equal(res.counts["frequencies"], np.bincount(label, minlength=m))
    assert res.run.labels == LabelsRecord("label", False, ["confusion", "frequencies"])
    back = load_results(tmp_path / "res")
    np.testing.assert_array_equal(back.counts["confusion"], expected)
    off = similarity(df, transforms=["logit"], labels=None, spark=spark)
    assert off.counts == {} and off.run.labels is None


def test_multi_label_cooccurrence_with_names_and_long_layout(spark):
    names = ["cat", "dog", "car", "bus"]
    positives = [["cat", "dog"], ["car"], ["bus", "car", "cat"], [], ["dog"], ["cat", "dog"]]
    rng = np.random.default_rng(1)
    x = rng.normal(size=(len(positives), 4))
    y = np.array([[name in p for name in names] for p in positives], dtype=np.int64)
    table = pa.table(
        {
            "sample_id": np.arange(6),
            "scores": pa.array(list(x)),
            "labels": pa.array(positives, pa.list_(pa.string())),
        }
    )
    res = similarity(spark.createDataFrame(table), classes=names, transforms=["rank"], spark=spark)
    np.testing.assert_array_equal(res.counts["cooccurrence"], y.T @ y)
    np.testing.assert_array_equal(res.counts["frequencies"], y.sum(axis=0))
    long_rows = [(i, names[j], float(x[i, j]), positives[i]) for i in range(6) for j in range(4)]
    long_df = spark.createDataFrame(
        long_rows, "sample_id long, class string, score double, labels array<string>"
    )
    res_long = similarity(
        long_df, layout="long", scores_col="score", classes=names, transforms=["rank"], spark=spark
    )
    np.testing.assert_array_equal(res_long.counts["cooccurrence"], y.T @ y)


def test_labels_outside_the_class_list(spark):
    table = pa.table(
        {
            "sample_id": [1, 2, 3, 4],
            "scores": pa.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.4], [0.2, 0.9]]),
            "label": pa.array([0, 1, 7, 1], pa.int32()),
        }
    )
    df = spark.createDataFrame(table)
    with pytest.raises(
        InvalidInputError,
        match=r"1 of 4 rows have labels outside the class "
        r"list \(e.g. sample_id: 3\)",
    ):
        similarity(df, transforms=["logit"], spark=spark)
    res = similarity(df, transforms=["logit"], drop_invalid=True, spark=spark)
    assert res.run.n == 3 and res.counts["frequencies"].tolist() == [1, 2]


def test_cooccurrence_counted_from_label_pairs_equals_the_indicator_product():
    """Pairs counted per row equal L^T L of the 0/1 indicator (the oracle), rows with no label,
    one label and every label included."""
    from classsim_spark.executor.labels import LabelCounts

    rng = np.random.default_rng(5)
    m = 40
    L = (rng.random((500, m)) < 0.06).astype(float)
    L[0] = 0.0
    L[1] = 1.0
    L[2] = 0.0
    L[2, 7] = 1.0
    counts = LabelCounts(m, multi=True)
    for half in (L[:250], L[250:]):
        rows, classes = np.nonzero(half)
        counts.update(LabelSets(rows, classes, len(half)), None)
    np.testing.assert_array_equal(counts.pairs, (L.T @ L).astype(np.int64))
    np.testing.assert_array_equal(counts.frequencies, L.sum(axis=0).astype(np.int64))
