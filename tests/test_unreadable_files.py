"""A truncated or foreign Parquet file ends in one line naming it (exit 2), with either reader,
before a Spark session starts and before any output is written; and the messages of failed tasks
are turned into that line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classsim_spark.executor.parquet_reader import ReadUnit, UnreadableFileError, read_units
from classsim_spark.spark.sources import (
    InputError,
    check_local_parquet,
    local_data_files,
    unreadable_file_error,
)


@pytest.fixture
def damaged(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=(400, 6))
    for i in range(3):
        pq.write_table(
            pa.table({"sample_id": np.arange(400) + 400 * i, "scores": list(x)}),
            folder / f"part-{i}.parquet",
        )
    whole = (folder / "part-1.parquet").read_bytes()
    (folder / "part-1.parquet").write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    (folder / "part-2.parquet").write_text("sample_id,scores\n")  # not Parquet at all
    return folder


def _similarity(source: Path, out: Path, reader: str) -> subprocess.CompletedProcess:
    """``classsim similarity`` as a user runs it: its own process, so the JVM's stderr is seen."""
    exe = Path(sys.executable).with_name("classsim")
    return subprocess.run(
        [
            str(exe if exe.exists() else shutil.which("classsim")),
            "similarity",
            "--input",
            str(source),
            "--reader",
            reader,
            "--master",
            "local[2]",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    err = proc.stdout + proc.stderr
    assert proc.returncode == 2, err[-3000:]
    assert "Traceback" not in err and "\tat org." not in err  # no Python or Java trace
    return next(x for x in err.splitlines() if x.startswith("classsim: error:"))


def test_damaged_files_are_named_in_one_line_before_spark_starts(damaged, tmp_path):
    out = tmp_path / "res"
    proc = _similarity(damaged, out, "spark")  # whichever reader: the driver checks first
    line = _one_line_error(proc)
    assert "log4j" not in proc.stderr and "incubator" not in proc.stderr  # no JVM started
    assert "2 of 3 Parquet files cannot be read" in line
    assert "part-1.parquet: " in line and "part-2.parquet: " in line
    assert "magic bytes" in line  # pyarrow's reason, kept
    assert not out.exists()


def test_a_lone_foreign_file_is_named_before_spark_infers_a_schema(tmp_path):
    """Spark's schema inference read the only file and failed with a Java trace."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(np.random.default_rng(1).bytes(4096))
    line = _one_line_error(_similarity(folder, tmp_path / "res", "auto"))
    assert line.startswith("classsim: error: 1 of 1 Parquet files cannot be read: ")
    assert f"{folder / 'part-0.parquet'}: " in line
    assert not (tmp_path / "res").exists()


def test_local_parquet_checks_name_the_problem(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    (empty / "_temporary").mkdir(parents=True)
    (empty / ".hidden.parquet").write_bytes(b"x")
    assert local_data_files([str(empty)]) == []
    with pytest.raises(InputError, match=r"no data files in .*empty"):
        check_local_parquet([str(empty)])
    csv = tmp_path / "scores.csv"
    csv.write_text("sample_id,a,b\n1,0.5,0.5\n")
    with pytest.raises(
        InputError,
        match=r"1 of 1 Parquet files cannot be read: .*scores.csv: "
        r".*for .csv files give --format, e.g. --format csv",
    ):
        check_local_parquet([str(csv)])
    good = tmp_path / "good"
    good.mkdir()
    pq.write_table(pa.table({"x": [1.0]}), good / "a.parquet")
    pq.write_table(pa.table({"x": [2.0]}), good / "b.parquet")
    check_local_parquet([str(good / "*.parquet"), f"file://{good}"])  # globs and file: URIs
    monkeypatch.chdir(tmp_path)  # relative paths, as typed in a shell
    check_local_parquet(["good", "good/a.parquet"])
    assert local_data_files([str(good / "*.parquet")]) == [
        str(good / "a.parquet"),
        str(good / "b.parquet"),
    ]


def test_task_side_failures_become_one_line(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableFileError, match=f"cannot read Parquet file {bad}: "):
        list(read_units([ReadUnit(((str(bad), 0),))], ["scores"]))
    # what the driver sees: a task's Python error inside Spark's message, or Spark's own reader
    task = RuntimeError(
        "org.apache.spark.api.python.PythonException: Traceback ...\n"
        "classsim_spark.executor.parquet_reader.UnreadableFileError: classsim: cannot "
        "read Parquet file /d/x.parquet: Corrupt snappy compressed data\n\tat ..."
    )
    assert str(unreadable_file_error(task)) == (
        "cannot read Parquet file /d/x.parquet: Corrupt snappy compressed data"
    )
    spark_reader = RuntimeError(
        "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file file:///d/y.parquet.  "
        "SQLSTATE: KD001\nCaused by: java.lang.RuntimeException: footer is too large\n\tat x"
    )
    assert str(unreadable_file_error(spark_reader)) == (
        "cannot read Parquet file file:///d/y.parquet: footer is too large"
    )
    assert unreadable_file_error(RuntimeError("something else")) is None
