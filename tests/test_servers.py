"""Integration tests: real Spark servers started and stopped by the tests themselves.

* ``connect``: a Spark Connect server (``tests/servers.py:connect_server``); a client session
  ships a module with ``addArtifacts`` and runs ``mapInArrow``, ``groupBy().applyInArrow``
  (iterator-of-RecordBatch form) and ``toLocalIterator``; afterwards a classic local session
  in this same process must still work.
* ``cluster``: a standalone master + 2 workers (``standalone_cluster``); jobs are submitted with
  ``spark-submit --py-files`` in a subprocess, so this pytest process never owns a
  SparkContext bound to the cluster (one SparkContext per process: a classic session created
  here earlier would be silently reused, with its own master).

UDFs are defined inside the tests or in shipped modules, never at module level here:
cloudpickle pickles module-level functions *by reference* (``test_servers.func``), and the
servers cannot import this test module.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

try:  # tests/ on sys.path (pytest's default "prepend" import mode, as test_integration)
    from servers import (
        connect_server,
        leftover_processes,
        remote_session,
        spark_env,
        spark_home,
        standalone_cluster,
    )
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.servers import (  # type: ignore[no-redef]
        connect_server,
        leftover_processes,
        remote_session,
        spark_env,
        spark_home,
        standalone_cluster,
    )

# --------------------------------------------------------------------------- helpers


def _write_zip(path: Path, modules: dict[str, str]) -> Path:
    """A zip holding ``{module_name: source}`` as top-level ``.py`` files."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, source in modules.items():
            zf.writestr(f"{name}.py", textwrap.dedent(source))
    return path


def _import_from_zip(zip_path: Path, name: str):
    """Import ``name`` from ``zip_path`` in this process (so its functions can be pickled by
    reference) without leaving the zip on ``sys.path``."""
    sys.path.insert(0, str(zip_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(zip_path))


SHIPPED_SOURCE = """
import os

import pyarrow as pa
import pyarrow.compute as pc


def squares(batches):
    for batch in batches:
        ids = batch.column("id")
        n = batch.num_rows
        yield pa.RecordBatch.from_pydict(
            {
                "id": ids,
                "sq": pc.multiply(ids, ids),
                "file": pa.array([__file__] * n, pa.string()),
                "pid": pa.array([os.getpid()] * n, pa.int64()),
            }
        )
"""


# --------------------------------------------------------------------------- Spark Connect


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("connect-server")
    start = time.monotonic()
    with connect_server(workdir=workdir) as url:
        print(f"Spark Connect server {url} ready in {time.monotonic() - start:.1f} s")
        yield url
    left = leftover_processes(workdir)
    assert left == [], f"Connect server processes outlived the fixture: {left}"


@pytest.fixture(scope="class")
def connect_spark(connect_url: str):
    """One Connect client session for the tests of a class, closed after its last test."""
    with remote_session(connect_url) as spark:
        yield spark
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ


@pytest.mark.connect
class TestConnectClient:
    """A client session on the Connect server: shipped modules, Arrow UDFs, iterators."""

    def test_connect_is_a_remote_session(self, connect_spark) -> None:
        from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

        assert isinstance(connect_spark, RemoteSparkSession)
        assert connect_spark.range(5).count() == 5
        assert connect_spark.conf.get("spark.sql.shuffle.partitions") == "4"

    def test_connect_map_in_arrow_uses_module_shipped_with_add_artifacts(
        self, connect_spark, tmp_path: Path
    ) -> None:
        name = f"shipped_mod_{uuid.uuid4().hex[:12]}"
        assert importlib.util.find_spec(name) is None  # not importable from the venv
        zip_path = _write_zip(tmp_path / f"{name}.zip", {name: SHIPPED_SOURCE})
        shipped = _import_from_zip(zip_path, name)
        try:
            schema = "id long, sq long, file string, pid long"
            df = connect_spark.range(0, 1000, 1, 4).mapInArrow(shipped.squares, schema)
            # Not shipped yet: the server's Python workers cannot import it.
            with pytest.raises(Exception, match=f"No module named '{name}'"):
                df.count()

            connect_spark.addArtifacts(str(zip_path), pyfile=True)
            table = df.toArrow().sort_by("id")
        finally:
            sys.modules.pop(name, None)

        ids = np.arange(1000, dtype=np.int64)
        np.testing.assert_array_equal(table.column("id").to_numpy(), ids)
        np.testing.assert_array_equal(table.column("sq").to_numpy(), ids * ids)
        files = set(table.column("file").to_pylist())
        assert len(files) == 1, files
        (file,) = files
        # Imported on the server from its own copy of the artifact, not from our tmp_path.
        assert file.endswith(f"{zip_path.name}/{name}.py"), file
        assert not file.startswith(str(tmp_path)), file

    def test_connect_grouped_apply_in_arrow_iterator_form(self, connect_spark) -> None:
        import pandas as pd

        rng = np.random.default_rng(7)
        n = 5000
        keys = rng.integers(0, 6, n).astype(np.int64)
        # Multiples of 1/8 well below 2**40: every partial sum is exact, in any order.
        x = rng.integers(-8000, 8000, n).astype(np.float64) / 8.0
        pdf = pd.DataFrame({"k": keys, "x": x})

        def per_key(
            key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch]
        ) -> Iterator[pa.RecordBatch]:
            count, total, total_sq, n_batches = 0, 0.0, 0.0, 0
            lo, hi = float("inf"), float("-inf")
            for batch in batches:
                values = batch.column("x").to_numpy()
                n_batches += 1
                count += len(values)
                total += float(values.sum())
                total_sq += float((values * values).sum())
                lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
            yield pa.RecordBatch.from_pydict(
                {
                    "k": [key[0].as_py()],
                    "n": [count],
                    "batches": [n_batches],
                    "s": [total],
                    "ss": [total_sq],
                    "lo": [lo],
                    "hi": [hi],
                }
            )

        connect_spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "100")
        try:
            out = (
                connect_spark.createDataFrame(pdf)
                .groupBy("k")
                .applyInArrow(
                    per_key,
                    "k long, n long, batches long, s double, ss double, lo double, hi double",
                )
                .toPandas()
                .set_index("k")
                .sort_index()
            )
        finally:
            connect_spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")

        expected_keys = np.unique(keys)
        np.testing.assert_array_equal(out.index.to_numpy(), expected_keys)
        for k in expected_keys:
            xs = x[keys == k]
            row = out.loc[k]
            assert row["n"] == len(xs)
            assert row["s"] == xs.sum()
            assert row["ss"] == (xs * xs).sum()
            assert row["lo"] == xs.min()
            assert row["hi"] == xs.max()
        # Groups of ~800 rows in batches of <= 100: the iterator form really streamed batches.
        assert (out["batches"] >= out["n"] // 100).all(), out

    def test_connect_to_local_iterator(self, connect_spark) -> None:
        df = connect_spark.range(0, 2500, 1, 5).selectExpr("id", "id * id AS sq")
        it = df.toLocalIterator()
        first = next(it)
        assert (first.id, first.sq) == (0, 0)
        rest = list(it)
        ids = np.array([first.id] + [r.id for r in rest])
        np.testing.assert_array_equal(ids, np.arange(2500))
        assert sum(r.sq for r in rest) == int((np.arange(2500, dtype=np.int64) ** 2).sum())


def _classic_session(request: pytest.FixtureRequest):
    """The suite's classic session (conftest's session-scoped ``spark`` fixture, created on
    demand so that it starts only after the Connect part), or a local one owned by the caller.
    Returns ``(session, owned)``."""
    try:
        return request.getfixturevalue("spark"), False
    except pytest.FixtureLookupError:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            SparkSession.builder.master("local[1]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
        return session, True


@pytest.mark.connect
def test_classic_session_still_works_after_connect(
    connect_url: str, request: pytest.FixtureRequest
) -> None:
    """Connect and classic sessions in one process.

    ``SparkSession.builder.remote(url).getOrCreate()`` sets SPARK_CONNECT_MODE_ENABLED=1 and
    ``stop()`` leaves it set: from then on ``pyspark.sql.functions`` build Connect columns and
    a classic ``getOrCreate()`` fails with CONNECT_URL_NOT_SET. With the variable restored
    (what ``remote_session`` does) a classic local session works, and a Connect session can
    come and go while the classic one lives.
    """
    from pyspark.core.context import SparkContext
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    # Another test module may own a classic session; then the plain builder refuses a
    # remote session (SESSION_ALREADY_EXIST) and only the remote_session() part runs.
    classic_alive = (
        SparkContext._active_spark_context is not None
        or SparkSession._instantiatedSession is not None
    )
    previous = os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    try:
        if not classic_alive:
            spark = SparkSession.builder.remote(connect_url).getOrCreate()
            assert isinstance(spark, RemoteSparkSession)
            assert spark.range(3).select((F.col("id") + 1).alias("x")).collect()[-1].x == 3
            spark.stop()
            print(
                "SPARK_CONNECT_MODE_ENABLED after Connect stop():",
                repr(os.environ.get("SPARK_CONNECT_MODE_ENABLED")),
            )
            # What remote_session() does on exit; without it the classic part below fails.
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)

        classic, owned = _classic_session(request)
        try:
            assert not isinstance(classic, RemoteSparkSession)
            got = classic.range(4).select((F.col("id") * 2).alias("y")).collect()
            assert [r.y for r in got] == [0, 2, 4, 6]

            def double(batches):
                for b in batches:
                    yield pa.RecordBatch.from_pydict({"id": b.column("id"), "d": b.column("id")})

            assert classic.range(10).mapInArrow(double, "id long, d long").count() == 10
            # A Connect session opened while the classic one lives, then closed again.
            with remote_session(connect_url) as remote:
                assert isinstance(remote, RemoteSparkSession)
                assert remote.range(3).select(F.col("id") + 1).count() == 3
                assert classic.range(3).count() == 3  # DataFrame API without Column functions
            assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ
            assert classic.range(2).select(F.col("id") + F.lit(1)).count() == 2
        finally:
            if owned:
                classic.stop()
    finally:
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        if previous is not None:
            os.environ["SPARK_CONNECT_MODE_ENABLED"] = previous


# --------------------------------------------------------------------------- standalone


CLUSTER_MODULE_SOURCE = """
import os
import time

import pyarrow as pa


def stats(batches, marker_dir=None, sleep_s=0.0):
    if marker_dir:  # tell the test that a task is running, and in which Python worker
        with open(os.path.join(marker_dir, f"{os.getpid()}-{time.time_ns()}"), "w"):
            pass
    n = s = ss = 0
    for batch in batches:
        ids = batch.column("id").to_numpy()
        n += len(ids)
        s += int(ids.sum())
        ss += int((ids * ids).sum())
    time.sleep(sleep_s)
    yield pa.RecordBatch.from_pydict(
        {"n": [n], "s": [s], "ss": [ss], "pid": [os.getpid()], "file": [__file__]}
    )
"""

# One application, two jobs: "plain" checks --py-files and both executors; during "fault"
# the test kills a worker. One driver start-up instead of two keeps the test short.
JOB_SOURCE = """
import functools
import importlib
import json
import sys

from pyspark.sql import SparkSession

out, module, specs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
mod = importlib.import_module(module)
spark = SparkSession.builder.appName("classsim-cluster-test").getOrCreate()
tracker = spark.sparkContext.statusTracker()
results = {"master": spark.sparkContext.master}
for spec in specs:
    fn = functools.partial(mod.stats, marker_dir=spec["markers"], sleep_s=spec["sleep_s"])
    rows = (
        spark.range(0, spec["n"], 1, spec["parts"])
        .mapInArrow(fn, "n long, s long, ss long, pid long, file string")
        .collect()
    )
    results[spec["name"]] = {
        "executors": len(tracker.getExecutorInfos()) - 1,  # minus the driver
        "n": sum(r.n for r in rows),
        "s": sum(r.s for r in rows),
        "ss": sum(r.ss for r in rows),
        "pids": sorted({r.pid for r in rows}),
        "files": sorted({r.file for r in rows}),
    }
with open(out, "w") as f:
    json.dump(results, f)
spark.stop()
"""

PLAIN_N, FAULT_N = 200_000, 100_000


def _expected(n: int) -> dict[str, int]:
    ids = np.arange(n, dtype=np.int64)
    return {"n": n, "s": int(ids.sum()), "ss": int((ids * ids).sum())}


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Start a standalone master + 2 workers (1 core, 1g each), spark-submit one application
    with ``--py-files`` (two jobs), kill worker 2 while the second job runs; the tests check
    the recorded outcome. The driver runs in a ``spark-submit`` subprocess: this pytest
    process may already own a classic SparkContext, and a second one cannot be created here.
    """
    workdir = tmp_path_factory.mktemp("standalone")
    jobdir = tmp_path_factory.mktemp("standalone-job")
    module = f"cluster_mod_{uuid.uuid4().hex[:12]}"
    zip_path = _write_zip(jobdir / "deps.zip", {module: CLUSTER_MODULE_SOURCE})
    job = jobdir / "job.py"
    job.write_text(JOB_SOURCE)
    markers = jobdir / "markers"
    markers.mkdir()
    out = jobdir / "result.json"
    specs = [
        {"name": "plain", "n": PLAIN_N, "parts": 8, "sleep_s": 0.2, "markers": None},
        # 6 tasks x 1 s on 2 cores; worker 2 dies once both executors run one.
        {"name": "fault", "n": FAULT_N, "parts": 6, "sleep_s": 1.0, "markers": str(markers)},
    ]
    conf = {
        "spark.cores.max": "2",
        "spark.executor.cores": "1",
        "spark.executor.memory": "512m",
        "spark.driver.memory": "512m",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.local.dir": str(workdir / "local"),
        # Start only once both executors are registered, so both really run tasks.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "60s",
    }
    record: dict = {"module": module, "killed": None}
    start = time.monotonic()
    with standalone_cluster(
        workdir=workdir, workers=2, cores_per_worker=1, memory_per_worker="1g"
    ) as master:
        record["master"] = master
        record["startup_s"] = time.monotonic() - start
        cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", master]
        for key, value in conf.items():
            cmd += ["--conf", f"{key}={value}"]
        cmd += ["--py-files", str(zip_path), str(job), str(out), module, json.dumps(specs)]
        log = jobdir / "spark-submit.log"
        with open(log, "w") as log_file:
            proc = subprocess.Popen(
                cmd, env=spark_env(workdir), cwd=jobdir, stdout=log_file, stderr=subprocess.STDOUT
            )
            try:
                deadline = time.monotonic() + 120
                # Fault job: wait until tasks run in two Python workers (= both executors).
                while proc.poll() is None and time.monotonic() < deadline:
                    if len({p.name.split("-")[0] for p in markers.iterdir()}) >= 2:
                        pid = int((workdir / "pids" / "worker-2.pid").read_text())
                        os.kill(pid, signal.SIGKILL)  # the worker JVM only
                        record["killed"] = time.monotonic() - start
                        break
                    time.sleep(0.1)
                record["rc"] = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        record["log"] = log.read_text(errors="replace")
        # Did the killed worker's executor (cwd under work/worker-2) exit on its own?
        record["orphans"] = [
            p.name
            for p in Path("/proc").glob("[0-9]*")
            if _cwd_under(p, workdir / "work" / "worker-2")
        ]
        record["results"] = json.loads(out.read_text()) if out.exists() else None
        record["total_s"] = time.monotonic() - start
    print(
        f"standalone cluster ready in {record['startup_s']:.1f} s; worker 2 killed at "
        f"{record['killed'] and round(record['killed'], 1)} s; app done at "
        f"{record['total_s']:.1f} s; processes of worker 2 left: {record['orphans']}"
    )
    yield record
    left = leftover_processes(workdir)
    assert left == [], f"cluster processes outlived the fixture: {left}"


def _cwd_under(proc: Path, folder: Path) -> bool:
    try:
        return Path(os.readlink(proc / "cwd")).is_relative_to(folder)
    except OSError:
        return False


def _job_result(run: dict, name: str) -> dict:
    assert run["rc"] == 0, run["log"][-6000:]
    assert run["results"] is not None, run["log"][-6000:]
    assert run["results"]["master"] == run["master"]
    result = run["results"][name]
    assert {k: result[k] for k in ("n", "s", "ss")} == _expected(
        PLAIN_N if name == "plain" else FAULT_N
    )
    # Every task imported the module from the --py-files zip (not importable otherwise).
    assert len(result["files"]) == 1
    assert result["files"][0].endswith(f"deps.zip/{run['module']}.py"), result["files"]
    return result


@pytest.mark.cluster
def test_cluster_spark_submit_with_py_files(cluster_run: dict) -> None:
    result = _job_result(cluster_run, "plain")
    assert result["executors"] == 2
    assert len(result["pids"]) >= 2  # tasks ran in both executors' Python workers


@pytest.mark.cluster
def test_cluster_job_survives_killed_worker(cluster_run: dict) -> None:
    assert cluster_run["killed"] is not None, "worker 2 was never killed mid-job"
    result = _job_result(cluster_run, "fault")
    assert result["executors"] == 1  # the killed worker's executor is gone
