"""Row reports: counting, examples, merging and the messages users read (no Spark)."""

import numpy as np
import pyarrow as pa
import pytest

from classsim_spark.executor.batches import BatchLayout, decode_batch
from classsim_spark.executor.validation import InvalidInputError, RowReport, check_scores


def test_check_scores_flags_non_finite_and_out_of_range_rows():
    x = np.array([[0.1, 0.9], [np.nan, 0.5], [1.5, -0.5], [0.0, 1.0], [np.inf, 0.0]])
    ids = np.array([10, 11, 12, 13, 14])
    report = RowReport(rows_read=5)
    keep = check_scores(x, ids, bounded=True, report=report)
    assert keep.tolist() == [True, False, False, True, False]
    assert report.counts == {"non_finite": 2, "out_of_range": 1}
    assert report.examples == {"non_finite": ["11", "14"], "out_of_range": ["12"]}
    unbounded = RowReport()
    assert check_scores(x, ids, bounded=False, report=unbounded).tolist() == [
        True,
        False,
        True,
        True,
        False,
    ]


def test_reports_merge_counts_and_keep_at_most_five_examples():
    a, b = RowReport(100, 90, tasks=3, tasks_retried=1), RowReport(50, 47, tasks=2)
    a.add("non_finite", np.arange(10))
    b.add("non_finite", np.array([200, 201, 202]))
    b.add("wrong_length", np.array([7]))
    merged = RowReport.from_json(a.merge(b).to_json())
    assert (merged.rows_read, merged.rows_kept, merged.rows_dropped) == (150, 137, 13)
    assert (merged.tasks, merged.tasks_retried) == (5, 1)
    assert merged.counts == {"non_finite": 13, "wrong_length": 1}
    assert merged.examples["non_finite"] == ["0", "1", "2", "3", "4"]
    with pytest.raises(InvalidInputError) as err:
        merged.raise_if_invalid(drop_invalid=False)
    text = str(err.value)
    assert text.index("length differs") < text.index("NaN")  # reported in a fixed order
    assert "13 of 150 rows have NaN or infinite scores (e.g. sample ids: 0, 1, 2, 3, 4)" in text
    merged.raise_if_invalid(drop_invalid=True)  # dropping is allowed


def test_fewer_than_two_rows_is_an_error():
    with pytest.raises(InvalidInputError, match="at least 2 valid rows, the input has 1"):
        RowReport(1, 1).raise_if_invalid(False)
    r = RowReport(3, 0)
    r.add("non_finite", [1, 2, 3])
    with pytest.raises(InvalidInputError, match=r"has 0 \(3 read, 3 dropped as invalid\)"):
        r.raise_if_invalid(True)


def test_decode_entries_and_vectors_hand_checked():
    entries = pa.array(
        [
            [{"idx": 0, "score": 1.0}, {"idx": 2, "score": 3.0}],
            [{"idx": 1, "score": 5.0}, {"idx": 1, "score": 6.0}],
            [{"idx": None, "score": 1.0}],
            None,
        ],
        pa.list_(pa.struct([("idx", pa.int32()), ("score", pa.float64())])),
    )
    batch = pa.record_batch({"sample_id": [1, 2, 3, 4], "e": entries})
    report = RowReport()
    scores, ids, rows = decode_batch(
        batch, BatchLayout("entries", ("e",), 3, "sample_id", -1.0), report
    )
    np.testing.assert_array_equal(scores, [[1.0, -1.0, 3.0]])
    assert ids.tolist() == [1] and rows.tolist() == [0]
    assert report.counts == {"null_scores": 1, "unknown_classes": 1, "duplicate_classes": 1}

    vec = pa.array(
        [
            {"type": 1, "size": None, "indices": None, "values": [1.0, 2.0, 3.0]},
            {"type": 0, "size": 3, "indices": [2], "values": [9.0]},
            {"type": 0, "size": 4, "indices": [0], "values": [1.0]},
        ],
        pa.struct(
            [
                ("type", pa.int8()),
                ("size", pa.int32()),
                ("indices", pa.list_(pa.int32())),
                ("values", pa.list_(pa.float64())),
            ]
        ),
    )
    report = RowReport()
    scores, ids, _ = decode_batch(
        pa.record_batch({"v": vec}), BatchLayout("array", ("v",), 3), report, first_row=100
    )
    np.testing.assert_array_equal(scores, [[1.0, 2.0, 3.0], [0.0, 0.0, 9.0]])
    assert ids.tolist() == [100, 101]
    assert report.examples == {"wrong_length": ["102 (4 scores for 3 classes)"]}


def test_no_row_of_the_right_length_blames_the_class_list():
    report = RowReport(rows_read=2)
    report.add("wrong_length", np.array([7, 8]), ["20 scores for 19 classes"] * 2)
    with pytest.raises(InvalidInputError) as err:
        report.raise_if_invalid(drop_invalid=False, id_label="sample_id")
    message = str(err.value)
    assert (
        "2 of 2 rows have a score array whose length differs from the number of classes "
        "(e.g. sample_id: 7 (20 scores for 19 classes), 8 (20 scores for 19 classes))" in message
    )
    assert "the class list (--classes) does not match the scores" in message
    assert "--drop-invalid" not in message
    report.rows_read = 3  # one good row: then the usual advice
    with pytest.raises(InvalidInputError, match="--drop-invalid"):
        report.raise_if_invalid(drop_invalid=False)
