"""Local sessions sized for the job: what a task holds, how many run at once, the heap, the
refusal before the scan, and a heap that ran out before this sizing (in a command of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classsim_spark import similarity
from classsim_spark.cli import main
from classsim_spark.core.transforms import ScoreSpec
from classsim_spark.executor.batches import BatchLayout
from classsim_spark.executor.labels import LabelSpec
from classsim_spark.executor.partials import CHUNK_ELEMENTS, ScanPlan, partial_statistics
from classsim_spark.io.results import load_results
from classsim_spark.spark import session as session_module
from classsim_spark.spark.scan import merge_budget, merge_partitions
from classsim_spark.spark.sizing import (
    GIB,
    MIN_HEAP,
    WORKER_BASE,
    ScanJob,
    ScanMemoryError,
    size_local_session,
)


def test_a_task_holds_what_the_model_says():
    """tracemalloc (which sees numpy's allocations) measures one task's peak at m = 600 with
    three transforms, three parts and label counts: the matrices of the model, not more."""
    m, n, parts = 600, 50, 3
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, m)).astype(np.float32)
    batch = pa.RecordBatch.from_pydict(
        {"sample_id": np.arange(n), "scores": pa.array(list(x)), "label": np.arange(n) % m}
    )
    transforms = ("logit", "probability", "rank")
    plan = ScanPlan(
        BatchLayout("array", ("scores",), m, "sample_id"),
        transforms,
        ScoreSpec(),
        tile_size=100,  # tiles are small next to the matrices, as at any real m
        labels=LabelSpec("label", False, tuple(f"c{i}" for i in range(m))),
        sample_rows=0,
        parts=parts,
        parts_transform="logit",
    )
    job = ScanJob(m, len(transforms), parts, True, driver_bytes=0)
    tracemalloc.start()
    try:
        for _ in partial_statistics(plan)(iter([batch])):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    matrices = job.task_bytes - WORKER_BASE  # 7 m x m float64 matrices
    parts_buffer = 8 * (CHUNK_ELEMENTS // m) * m  # where the parted transform gathers a part
    chunk = 8 * n * m * 8  # a chunk's float64 copies and transforms: less than a matrix
    assert matrices - 2 * 8 * m * m <= peak - parts_buffer <= matrices + chunk
    assert parts_buffer + 8 * CHUNK_ELEMENTS * 2 <= WORKER_BASE


def test_tasks_at_once_and_the_heap_fit_the_memory_free():
    job = ScanJob(m=10_000, transforms=3, parts=0, labels=False, driver_bytes=7 * GIB)
    task = job.task_bytes  # 4 matrices of 800 MB and a worker
    assert task == 4 * 8 * 10_000**2 + WORKER_BASE
    # 24 GiB: a 6 GiB heap, 7 GiB of results, (24 - 13) // 3.5 = 3 tasks of 16 cores
    assert size_local_session(job, 24 * GIB, 16) == size_local_session(job, 24 * GIB, 16, slots=16)
    size = size_local_session(job, 24 * GIB, 16)
    assert (size.slots, size.heap, size.master) == (3, 6 * GIB, "local[3]")
    assert size_local_session(job, 24 * GIB, 2).slots == 2  # fewer cores than fit
    assert size_local_session(job, 64 * GIB, 16, heap=2 * GIB).heap == 2 * GIB  # the user's heap
    # 14 GiB: the default 3.5 GiB heap leaves no room for a task; a smaller heap does
    small = size_local_session(job, 14 * GIB, 16)
    assert small.slots == 1 and MIN_HEAP <= small.heap <= 14 * GIB - 7 * GIB - task
    assert small.driver_memory == f"{small.heap >> 20}m"


def test_a_job_too_large_is_refused_saying_what_would_fit():
    job = ScanJob(m=20_000, transforms=3, parts=0, labels=True, driver_bytes=12 * GIB)
    with pytest.raises(ScanMemoryError) as err:
        size_local_session(job, 24 * GIB, 16)
    text = str(err.value)
    assert "20000 classes x 3 transform(s) with label counts do not fit" in text
    assert "one scan task needs about 15.2 GiB" in text  # 5 matrices of 3.2 GB and a worker
    assert "the driver 12.0 GiB" in text and "24.0 GiB are free" in text
    assert "--transform logit" in text and "--master spark://HOST:7077" in text
    assert "saves 3.0 GiB a task" in text


def test_the_merge_partitions_shrink_with_the_heap():
    plan = ScanPlan(BatchLayout("array", ("s",), 3755, None), ("logit",), ScoreSpec(), 1024)
    results = 8 * 3755 * 3755 + 4 * 1000 * 3755
    for heap in (512 << 20, GIB, 6 * GIB):
        budget = merge_budget(heap)
        partitions = merge_partitions(plan, 1, budget)
        assert budget <= heap // 16 and partitions * budget >= 2 * results
    assert merge_partitions(plan, 30, merge_budget(6 * GIB)) > merge_partitions(
        plan, 1, merge_budget(6 * GIB)
    )


def _scores(tmp_path, n: int, m: int, seed: int = 1) -> tuple[str, np.ndarray]:
    x = np.random.default_rng(seed).normal(size=(n, m)).astype(np.float32)
    x[:, 1] += x[:, 0]  # one planted pair
    path = tmp_path / "scores"
    path.mkdir()
    half = n // 2
    for i, rows in enumerate((x[:half], x[half:])):
        table = pa.table({"sample_id": np.arange(len(rows)) + i * half, "scores": list(rows)})
        pq.write_table(table, path / f"part-{i}.parquet")
    return str(path), x


def test_a_local_job_too_large_is_refused_before_its_scan(spark, tmp_path, monkeypatch, capsys):
    """In a session classsim did not start (here the suite's), the job is checked against the
    memory free before the scan: the API raises, the CLI says why and writes nothing."""
    path, _ = _scores(tmp_path, 40, 30)
    monkeypatch.setattr(session_module, "available_memory", lambda: 1 * GIB)
    out = tmp_path / "out"
    with pytest.raises(ScanMemoryError, match="30 classes x 3 transform"):
        similarity(path, spark=spark, out=str(out))
    assert main(["similarity", "--input", path, "--out", str(out)]) == 2
    assert "do not fit this machine in local mode" in capsys.readouterr().err
    assert not out.exists()


def test_3755_classes_reduce_in_a_512_mib_heap(tmp_path):
    """A size that failed before the plan bounded what the JVM holds: 3,755 classes in a
    512 MiB heap ran out of heap while the results came back (and then hung). Now the
    command finishes, and its matrix is numpy's."""
    path, x = _scores(tmp_path, 1200, 3755)
    out = tmp_path / "out"
    command = [
        *(sys.executable, "-m", "classsim_spark.cli", "similarity"),
        *("--input", path, "--out", str(out), "--labels", "none", "--stability-parts", "2"),
        *("--transform", "logit,rank", "--sample-rows", "0"),
        *("--conf", "spark.driver.memory=512m", "--master", "local[2]"),
    ]
    env = {**os.environ, "CLASSSIM_JVM_ARCHIVE": "0"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "OutOfMemoryError" not in done.stderr
    result = load_results(str(out))
    expected = np.corrcoef(x.astype(np.float64), rowvar=False)
    assert np.abs(result.matrix("logit") - expected).max() < 1e-9
    assert len(result.parts["logit"]) == 2
