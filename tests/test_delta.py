"""Delta tables, written for real with the deltalake package: a history of appends, a partial
overwrite and a delete leaves files on disk that the current version no longer holds; the scan
must read exactly the current rows (numpy on ``DeltaTable.to_pyarrow_table()`` is the oracle)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import classsim_spark as cs
from classsim_spark.cli import main
from classsim_spark.io.delta_table import DeltaTableError, current_files
from classsim_spark.spark.sources import InputError
from classsim_spark.update import IncompatibleUpdateError

deltalake = pytest.importorskip("deltalake")

M = 12
NAMES = [f"class {i}" for i in range(M)]


def _day(date: str, ids: np.ndarray, rng) -> pa.Table:
    latent = rng.normal(size=(ids.size, 2))
    scores = latent @ rng.normal(size=(2, M)) + 0.5 * rng.normal(size=(ids.size, M))
    return pa.table(
        {
            "sample_id": pa.array(ids, pa.int64()),
            "scores": pa.array(list(scores.astype(np.float32)), pa.list_(pa.float32())),
            "label": pa.array(rng.integers(0, M, ids.size), pa.int32()),
            "date": [date] * ids.size,
        }
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """Three days appended, day 2 overwritten, then a delete: six data files on disk, fewer
    current."""
    from deltalake import DeltaTable, write_deltalake

    path = tmp_path_factory.mktemp("delta") / "scores"
    rng = np.random.default_rng(0)
    for k, date in enumerate(["2026-01-01", "2026-01-02", "2026-01-03"]):
        day = _day(date, np.arange(k * 400, (k + 1) * 400), rng)
        write_deltalake(str(path), day, partition_by=["date"], mode="append")
    write_deltalake(
        str(path),
        _day("2026-01-02", np.arange(5000, 5300), rng),
        partition_by=["date"],
        mode="overwrite",
        predicate="date = '2026-01-02'",
    )
    DeltaTable(str(path)).delete("sample_id % 7 = 0")
    return path


def _current(path: Path) -> tuple[np.ndarray, pa.Table]:
    """The table's current rows (deltalake's own reader) and their scores."""
    from deltalake import DeltaTable

    current = DeltaTable(str(path)).to_pyarrow_table()
    return np.array(current.column("scores").to_pylist(), dtype=np.float64), current


def test_the_log_names_the_current_files_only(table):
    on_disk = sorted(str(p) for p in table.rglob("*.parquet"))
    delta = current_files(str(table))
    assert delta.version == 4 and delta.partition_columns == ["date"]
    assert set(delta.files) < set(on_disk)  # stale files are on disk, not in the version
    pruned = current_files(str(table), "date >= '2026-01-03'")
    assert pruned.pruned and all("date=2026-01-03" in f for f in pruned.files)


@pytest.mark.parametrize("engine", ["spark", "python"])
def test_a_scan_reads_exactly_the_current_rows(spark, table, engine):
    x, current = _current(table)
    result = cs.similarity(
        str(table), fmt="delta", classes=NAMES, transforms=["logit"], spark=spark, engine=engine
    )
    assert result.run.spark["engine"] == engine
    assert result.run.n == current.num_rows and result.run.reader.used == "arrow"
    np.testing.assert_allclose(result.matrix("logit"), np.corrcoef(x, rowvar=False), atol=1e-12)
    labels = np.asarray(current.column("label"))
    assert np.array_equal(result.counts["frequencies"], np.bincount(labels, minlength=M))
    # a filter prunes files (Spark's reader then filters the rows); --by keeps each date
    since = cs.similarity(
        str(table), fmt="delta", classes=NAMES, transforms=["logit"], spark=spark,
        where="date >= '2026-01-02'", by="date",
    )  # fmt: skip
    dates = np.asarray(current.column("date").to_pylist())
    assert since.run.n == int((dates >= "2026-01-02").sum())
    assert since.windows.values == ["2026-01-02", "2026-01-03"]
    assert since.windows.rows == [int((dates == d).sum()) for d in since.windows.values]


def test_delta_from_the_command_line_and_what_is_refused(spark, table, tmp_path, capsys):
    out = tmp_path / "res"
    args = ["--input", str(table), "--format", "delta", "--classes", ",".join(NAMES)]
    assert main(["similarity", *args, "--transform", "rank", "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["format"] == "delta" and run["n"] == _current(table)[1].num_rows
    plain = tmp_path / "plain"
    plain.mkdir()
    assert (
        main(
            ["similarity", "--input", str(plain), "--format", "delta", "--out", str(tmp_path / "x")]
        )
        == 2
    )
    assert "is not a Delta table (no _delta_log folder in it)" in capsys.readouterr().err
    # a table whose readers must apply deletion vectors: refused by the log reader, named
    featured = tmp_path / "featured"
    shutil.copytree(table, featured)
    protocol = {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["deletionVectors"],
                "writerFeatures": ["deletionVectors"]}  # fmt: skip
    (featured / "_delta_log" / "00000000000000000005.json").write_text(
        json.dumps({"protocol": protocol}) + "\n"
    )
    with pytest.raises(DeltaTableError, match="needs a Delta reader with deletionVectors"):
        current_files(str(featured))
    with pytest.raises(InputError, match="needs a Delta reader: this Spark session has none"):
        cs.similarity(str(featured), fmt="delta", classes=NAMES, spark=spark)


def test_a_new_partition_updates_a_table_scanned_before(spark, table, tmp_path):
    """The daily pattern: scan the table, a day is appended, add that day with a filter: the
    files the log prunes to are the new day's, so nothing counts twice."""
    from deltalake import write_deltalake

    copy = tmp_path / "scores"
    shutil.copytree(table, copy)
    res = tmp_path / "res"
    cs.similarity(str(copy), fmt="delta", classes=NAMES, transforms=["logit"], out=res, spark=spark)
    day = _day("2026-01-04", np.arange(9000, 9250), np.random.default_rng(9))
    write_deltalake(str(copy), day, partition_by=["date"], mode="append")
    new_day = "date = '2026-01-04'"
    updated = cs.similarity(str(copy), where=new_day, update=res, spark=spark)
    x, current = _current(copy)
    assert updated.run.n == current.num_rows
    np.testing.assert_allclose(updated.matrix("logit"), np.corrcoef(x, rowvar=False), atol=1e-12)
    with pytest.raises(IncompatibleUpdateError, match="already in"):  # the same day again
        cs.similarity(str(copy), where=new_day, update=res, spark=spark)
