"""The JVM class archive classsim keeps for its local sessions: written by the first command,
used by the next, harmless when damaged, never a different result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from jvm_archive import JVM_OPTIONS

from classsim_spark.spark import jvm_archive


def test_options_follow_the_archive_and_the_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CLASSSIM_JVM_ARCHIVE", "1")
    archive = jvm_archive.archive_path('openjdk version "17.0.9"')
    assert archive.parent == tmp_path / "classsim" and archive.suffix == ".jsa"
    assert jvm_archive.driver_java_options('openjdk version "17.0.9"', write=False) == ""
    writing = jvm_archive.driver_java_options('openjdk version "17.0.9"', write=True)
    assert "-XX:ArchiveClassesAtExit=" in writing and ".partial" in writing
    archive.write_bytes(b"not an archive")
    assert jvm_archive.driver_java_options('openjdk version "17.0.9"', write=True) == (
        f"-XX:SharedArchiveFile={archive} {jvm_archive.QUIET}"
    )
    assert jvm_archive.archive_path('openjdk version "21"') != archive  # per JDK
    monkeypatch.setenv("CLASSSIM_JVM_ARCHIVE", "0")
    assert jvm_archive.driver_java_options('openjdk version "17.0.9"', write=True) == ""
    jvm_archive._pending = None


def test_the_first_command_writes_it_and_later_ones_use_it(tmp_path, planted_scores):
    table = pa.table({"sample_id": np.arange(300), "scores": pa.array(list(planted_scores[:300]))})
    pq.write_table(table, tmp_path / "scores.parquet")
    exe = Path(sys.executable).with_name("classsim")
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "JAVA_TOOL_OPTIONS": JVM_OPTIONS,  # not the suite's archive
        "CLASSSIM_JVM_ARCHIVE": "1",
        "PYSPARK_PYTHON": sys.executable,
    }

    def run(out: str) -> tuple[subprocess.CompletedProcess, np.ndarray]:
        command = [
            str(exe if exe.exists() else shutil.which("classsim")),
            "similarity", "--input", str(tmp_path / "scores.parquet"), "--transform", "logit",
            "--master", "local[1]", "--out", str(tmp_path / out),
        ]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc, np.load(tmp_path / out / "similarity-logit.npy")

    first, matrix = run("first")
    (archive,) = (tmp_path / "cache" / "classsim").glob("*.jsa")
    assert "saved the JVM's class archive" in first.stderr
    assert not list(archive.parent.glob("*.partial"))
    written = archive.stat().st_mtime_ns
    second, again = run("second")
    assert np.array_equal(again, matrix) and archive.stat().st_mtime_ns == written
    assert "class archive" not in second.stderr
    archive.write_bytes(b"\0" * 4096)  # damaged: the JVM ignores it
    _, damaged = run("third")
    assert np.array_equal(damaged, matrix)
