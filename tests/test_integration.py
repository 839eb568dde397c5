"""The whole job on real Spark servers: a Spark Connect server and a standalone cluster.

Both servers run Python workers with an interpreter that can import numpy, pyarrow and pyspark but
NOT classsim (``python -S`` with site-packages on the path, so the editable install's ``.pth`` hook
is skipped): the package reaches the tasks only the way it does on Databricks or a real cluster,
as a Spark Connect artifact or through ``--py-files``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest
from servers import connect_server, spark_home, standalone_cluster

from classsim_spark.demo_data import DemoSpec, write_demo
from classsim_spark.session import package_zip
from classsim_spark.transforms import ScoreSpec, transform_block

ROOT = Path(__file__).resolve().parents[1]
SPEC = DemoSpec(samples=3000, classes=40, top_groups=3, mid_groups=8, days=2, seed=3)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """An interpreter for Spark workers that has the dependencies but not classsim."""
    path = tmp_path_factory.mktemp("bare") / "python-without-classsim"
    site = sysconfig.get_paths()["purelib"]
    path.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{site}" exec {sys.executable} -S "$@"\n'
    )
    path.chmod(0o755)
    probe = subprocess.run([str(path), "-c", "import classsim_spark"], capture_output=True,
                           check=False, cwd="/")
    assert probe.returncode != 0, "the bare interpreter must not see classsim"
    return str(path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "data"
    write_demo(SPEC, out)
    return out


def expected_matrix(demo: Path, transform: str) -> np.ndarray:
    import pyarrow.dataset as ds

    table = ds.dataset(demo / "scores", format="parquet", partitioning="hive").to_table(
        columns=["sample_id", "scores"]).sort_by("sample_id")
    x = np.asarray(table.column("scores").combine_chunks().flatten()).reshape(table.num_rows, -1)
    return np.corrcoef(transform_block(x, transform, ScoreSpec()), rowvar=False)


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_REMOTE", "PYSPARK_"))}
    return {**env, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


@pytest.mark.connect
def test_job_over_spark_connect_ships_the_package(tmp_path, demo, bare_python):
    with connect_server(workdir=tmp_path / "server", python=bare_python) as url:
        out = tmp_path / "res"
        cli = subprocess.run(
            [sys.executable, "-m", "classsim_spark.cli", "similarity", "--remote", url,
             "--input", str(demo / "scores"), "--classes", str(demo / "classes.csv"),
             "--where", "date >= '2026-01-01'", "--transform", "logit,rank", "--out", str(out)],
            capture_output=True, text=True, env=client_env(), timeout=300, check=False,
        )
        assert cli.returncode == 0, cli.stderr[-4000:]
        run = json.loads((out / "run.json").read_text())
        assert run["spark"]["connect"] is True and run["n"] == SPEC.samples
        assert run["sample"] == {"rows": 1000, "of": SPEC.samples, "capacity": 1000}
        assert np.load(out / "sample.npy").shape == (1000, SPEC.classes)
        for t in ("logit", "rank"):
            assert np.abs(np.load(out / f"similarity-{t}.npy") - expected_matrix(demo, t)).max() \
                < 1e-9

        # The Python API with the direct Parquet reader, and where the tasks found the package.
        script = textwrap.dedent(f"""
            import json, pyarrow as pa
            from pyspark.sql import SparkSession
            import classsim_spark as cs
            spark = SparkSession.builder.remote({url!r}).getOrCreate()
            res = cs.similarity({str(demo / "scores")!r}, classes={str(demo / "classes.csv")!r},
                                transforms=["probability"], reader="arrow", spark=spark)
            def origin(batches):
                import classsim_spark
                for _ in batches:
                    yield pa.RecordBatch.from_pydict({{"f": [classsim_spark.__file__]}})
            files = [r.f for r in spark.range(1).mapInArrow(origin, "f string").collect()]
            print(json.dumps({{"n": res.run["n"], "reader": res.run["reader"]["used"],
                               "files": files, "m": res.matrix().tolist()}}))
            spark.stop()
        """)
        api = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=client_env(), timeout=300, check=False, cwd=tmp_path)
        assert api.returncode == 0, api.stderr[-4000:]
        got = json.loads(api.stdout.strip().splitlines()[-1])
    assert got["n"] == SPEC.samples and got["reader"] == "arrow"
    assert all(str(ROOT) not in f and "classsim_spark.zip" in f for f in got["files"]), got["files"]
    assert np.abs(np.array(got["m"]) - expected_matrix(demo, "probability")).max() < 1e-9


@pytest.mark.cluster
def test_spark_submit_job_on_a_standalone_cluster(tmp_path, demo, bare_python):
    pyfiles = package_zip(tmp_path)
    out = tmp_path / "res"
    conf = tmp_path / "job.toml"
    conf.write_text(f'[input]\nsource = "{demo / "scores"}"\nclasses = "{demo / "classes.csv"}"\n'
                    '[similarity]\ntransforms = ["logit"]\n'
                    f'[output]\ndir = "{out}"\n')
    with standalone_cluster(workdir=tmp_path / "cluster", workers=2, python=bare_python) as master:
        env = {**client_env(), "PYSPARK_PYTHON": bare_python, "SPARK_LOCAL_IP": "127.0.0.1"}
        proc = subprocess.run(
            [str(spark_home() / "bin" / "spark-submit"), "--master", master,
             "--conf", "spark.cores.max=2", "--conf", "spark.executor.memory=1g",
             "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
             "--conf", f"spark.pyspark.driver.python={sys.executable}",
             "--py-files", str(pyfiles), str(ROOT / "jobs" / "class_similarity.py"),
             "--config", str(conf)],
            capture_output=True, text=True, env=env, timeout=400, check=False, cwd=tmp_path,
        )
        executors_ran = list((tmp_path / "cluster" / "work").glob("worker-*/app-*/*/stderr"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert "classsim: scan done in" in proc.stdout  # spark-submit merges the driver's stderr
    assert executors_ran, "the job ran in a local session of its own, not on the cluster"
    run = json.loads((out / "run.json").read_text())
    assert run["n"] == SPEC.samples and run["reader"]["used"] == "arrow"
    assert run["sample"] == {"rows": 1000, "of": SPEC.samples, "capacity": 1000}
    assert np.load(out / "sample.npy").shape == (1000, SPEC.classes)
    assert np.abs(np.load(out / "similarity-logit.npy") - expected_matrix(demo, "logit")).max() \
        < 1e-9
    # the whole analysis, on the driver: groups (with stability) and figures
    groups = json.loads((out / "groups.json").read_text())
    assert groups["chosen"]["transform"] == "logit" and groups["stability"]["resamples"] > 0
    assert (out / "figures" / "similarity.png").is_file()
