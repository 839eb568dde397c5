"""Integration tests: real Spark servers started and stopped by the tests themselves.

* ``connect``: a Spark Connect server (``tests/servers.py:connect_server``); a client session
  ships a module with ``addArtifacts`` and runs ``mapInArrow``, ``groupBy().applyInArrow``
  (iterator-of-RecordBatch form) and ``toLocalIterator``; afterwards a classic local session
  in this same process must still work.

The standalone cluster is tested with the real job in ``test_integration.py`` (spark-submit
with ``--py-files`` to Python workers that cannot import classsim otherwise, and a worker JVM
and a Python worker killed mid-scan), which replaced a toy job on a second cluster here.

UDFs are defined inside the tests or in shipped modules, never at module level here:
cloudpickle pickles module-level functions *by reference* (``test_servers.func``), and the
servers cannot import this test module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from servers import remote_session

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
