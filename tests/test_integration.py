"""The whole job on real Spark servers: a Spark Connect server and a standalone cluster.

Both servers run Python workers with an interpreter that can import numpy, pyarrow and pyspark but
NOT classsim (``python -S`` with site-packages on the path, so the editable install's ``.pth`` hook
is skipped): the package reaches the tasks only the way it does on Databricks or a real cluster,
as a Spark Connect artifact or through ``--py-files``.

The cluster tests share one standalone cluster (2 workers of 1 core); the fault test kills worker
2, so it comes last.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from servers import leftover_processes, spark_home, standalone_cluster

from classsim_spark import load_results
from classsim_spark.core.transforms import ScoreSpec, transform_block
from classsim_spark.demo.generator import DemoSpec
from classsim_spark.demo.writer import write_demo
from classsim_spark.io.records import TasksRecord
from classsim_spark.spark.session import package_zip

ROOT = Path(__file__).resolve().parents[1]
SPEC = DemoSpec(samples=3000, classes=40, top_groups=3, mid_groups=8, days=2, seed=3)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "data"
    write_demo(SPEC, out)
    return out


def expected_matrix(demo: Path, transform: str) -> np.ndarray:
    import pyarrow.dataset as ds

    table = (
        ds.dataset(demo / "scores", format="parquet", partitioning="hive")
        .to_table(columns=["sample_id", "scores"])
        .sort_by("sample_id")
    )
    x = np.asarray(table.column("scores").combine_chunks().flatten()).reshape(table.num_rows, -1)
    return np.corrcoef(transform_block(x, transform, ScoreSpec()), rowvar=False)


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_REMOTE", "PYSPARK_"))}
    return {**env, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


@pytest.mark.connect
def test_job_over_spark_connect_ships_the_package(tmp_path, demo, connect_url):
    out = tmp_path / "res"
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "classsim_spark.cli",
            "similarity",
            "--remote",
            connect_url,
            "--input",
            str(demo / "scores"),
            "--classes",
            str(demo / "classes.csv"),
            "--where",
            "date >= '2026-01-01'",
            "--transform",
            "logit,rank",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=300,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr[-4000:]
    run = json.loads((out / "run.json").read_text())
    assert run["spark"]["connect"] is True and run["n"] == SPEC.samples
    assert run["sample"] == {"rows": 1000, "of": SPEC.samples, "capacity": 1000}
    assert np.load(out / "sample.npy").shape == (1000, SPEC.classes)
    for t in ("logit", "rank"):
        assert np.abs(np.load(out / f"similarity-{t}.npy") - expected_matrix(demo, t)).max() < 1e-9

    # The Python API with the direct Parquet reader, and where the tasks found the package.
    script = textwrap.dedent(f"""
        import json, pyarrow as pa
        from pyspark.sql import SparkSession
        import classsim_spark as cs
        spark = SparkSession.builder.remote({connect_url!r}).getOrCreate()
        res = cs.similarity({str(demo / "scores")!r}, classes={str(demo / "classes.csv")!r},
                            transforms=["probability"], reader="arrow", spark=spark)
        def origin(batches):
            import classsim_spark
            for _ in batches:
                yield pa.RecordBatch.from_pydict({{"f": [classsim_spark.__file__]}})
        files = [r.f for r in spark.range(1).mapInArrow(origin, "f string").collect()]
        print(json.dumps({{"n": res.run.n, "reader": res.run.reader.used,
                           "files": files, "m": res.matrix().tolist()}}))
        spark.stop()
    """)
    api = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert api.returncode == 0, api.stderr[-4000:]
    got = json.loads(api.stdout.strip().splitlines()[-1])
    assert got["n"] == SPEC.samples and got["reader"] == "arrow"
    assert all(str(ROOT) not in f and "classsim_spark.zip" in f for f in got["files"]), got["files"]
    assert np.abs(np.array(got["m"]) - expected_matrix(demo, "probability")).max() < 1e-9


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, bare_python) -> Iterator[dict]:
    """A standalone master + 2 workers (1 core each) whose Python workers cannot import classsim:
    ``{"master": URL, "workdir": Path}``."""
    workdir = tmp_path_factory.mktemp("cluster")
    with standalone_cluster(workdir=workdir, workers=2, python=bare_python) as master:
        yield {"master": master, "workdir": workdir}
    assert leftover_processes(workdir) == []


def spark_submit(master: str, bare_python: str, pyfiles: Path, *args: str) -> list[str]:
    """The ``spark-submit`` command of an application on ``master`` (2 executors of 1 core)."""
    return [
        str(spark_home() / "bin" / "spark-submit"),
        "--master",
        master,
        "--conf",
        "spark.cores.max=2",
        "--conf",
        "spark.executor.memory=1g",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        f"spark.pyspark.driver.python={sys.executable}",
        "--py-files",
        str(pyfiles),
        *args,
    ]


def submit_env(bare_python: str) -> dict[str, str]:
    return {**client_env(), "PYSPARK_PYTHON": bare_python, "SPARK_LOCAL_IP": "127.0.0.1"}


@pytest.mark.cluster
def test_spark_submit_job_on_a_standalone_cluster(tmp_path, demo, bare_python, cluster):
    pyfiles = package_zip(tmp_path)
    out = tmp_path / "res"
    conf = tmp_path / "job.toml"
    conf.write_text(
        f'[input]\nsource = "{demo / "scores"}"\nclasses = "{demo / "classes.csv"}"\n'
        '[similarity]\ntransforms = ["logit"]\n'
        f'[output]\ndir = "{out}"\n'
    )
    apps_before = set(cluster["workdir"].glob("work/worker-*/app-*"))
    proc = subprocess.run(
        spark_submit(
            cluster["master"],
            bare_python,
            pyfiles,
            str(ROOT / "jobs" / "class_similarity.py"),
            "--config",
            str(conf),
        ),
        capture_output=True,
        text=True,
        env=submit_env(bare_python),
        timeout=400,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert "classsim: scan done in" in proc.stdout  # spark-submit merges the driver's stderr
    # The job ran on the cluster's executors (not in a local session of its own).
    assert set(cluster["workdir"].glob("work/worker-*/app-*")) - apps_before
    run = json.loads((out / "run.json").read_text())
    assert run["n"] == SPEC.samples and run["reader"]["used"] == "arrow"
    assert run["tasks"]["reported"] >= 2 and run["tasks"]["retried"] == 0
    assert run["sample"] == {"rows": 1000, "of": SPEC.samples, "capacity": 1000}
    assert np.load(out / "sample.npy").shape == (1000, SPEC.classes)
    assert (
        np.abs(np.load(out / "similarity-logit.npy") - expected_matrix(demo, "logit")).max() < 1e-9
    )
    # the whole analysis, on the driver: groups (with stability) and figures
    groups = json.loads((out / "groups.json").read_text())
    assert groups["chosen"]["transform"] == "logit" and groups["stability"]["resamples"] > 0
    assert (out / "figures" / "similarity.png").is_file()


# --------------------------------------------------------------------------- faults mid-scan

# 16 files of one row group, read by Spark's reader in one task each (a file plus Spark's 4 MiB
# open cost exceeds a spark.sql.files.maxPartitionBytes of 1 MiB): the read stage of a scan lasts
# a few seconds, long enough to kill something while it runs, after worker 2 finished tasks.
FAULT_SPEC = DemoSpec(samples=32_000, classes=40, top_groups=3, mid_groups=8, days=16, seed=5)
FAULT_RUNS = ("clean", "python-worker", "worker-jvm")

# One application, three `classsim similarity` runs (driver, executors and Python workers start
# once): a clean one, then one that loses a Python worker, then one that loses worker 2's JVM.
# The Python worker dies by its own hand, so that the test does not race a short task: before the
# second run the driver creates a flag file, and the first task to claim it (a rename, atomic)
# SIGKILLs its worker as its input arrives. Worker 2's JVM is killed from outside (the test).
FAULT_DRIVER = """
import json
import os
import signal
import sys

import classsim_spark.spark.scan as scan
from classsim_spark.cli import main

runs, flag = json.loads(sys.argv[1]), sys.argv[2]
task_function = scan.partial_statistics


def dying_once(plan, units=None):
    task = task_function(plan, units)

    def run(batches):
        def then_die(batches):
            for batch in batches:
                try:
                    os.rename(flag, flag + ".claimed")
                except FileNotFoundError:
                    pass
                else:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield batch

        yield from task(then_die(batches))

    return run


scan.partial_statistics = dying_once
for name, args in runs:
    if name == "python-worker":
        open(flag, "w").close()
    code = main(["similarity", *args])
    if code:
        sys.exit(code)
"""


def executors_now(workdir: Path, inputs: Path) -> dict[str, dict]:
    """The cluster's executors now, by worker (``"worker-2"``): ``pid``, ``cwd`` (its work dir,
    which holds its log ``stderr``) and ``reading`` (whether the JVM has an input file open, i.e.
    a task of a scan's read stage runs). Linux only (reads /proc)."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"CoarseGrainedExecutorBackend" not in (proc / "cmdline").read_bytes():
                continue
            cwd = Path(os.readlink(proc / "cwd"))
            if not cwd.is_relative_to(workdir):
                continue
            reading = any(os.readlink(fd).startswith(str(inputs)) for fd in (proc / "fd").iterdir())
        except OSError:  # gone meanwhile, or an fd closed while listed
            continue
        found[cwd.relative_to(workdir / "work").parts[0]] = {
            "pid": int(proc.name),
            "cwd": cwd,
            "reading": reading,
        }
    return found


def current_stage_tasks(executor_log: Path) -> tuple[int, int]:
    """(finished, running) tasks of an executor in the stage of the last task it started,
    from its log ("Running task 3.0 in stage 5.0", "Finished task 3.0 in stage 5.0")."""
    text = executor_log.read_text(errors="replace")
    started = re.findall(r"Running task (\S+) in stage (\d+\.\d+) ", text)
    if not started:
        return 0, 0
    stage = started[-1][1]
    done = set(re.findall(rf"Finished task (\S+) in stage {re.escape(stage)} ", text))
    begun = {task for task, in_stage in started if in_stage == stage}
    return len(done), len(begun - done)


def kill_worker_mid_stage(executors: dict, workdir: Path) -> int | None:
    """SIGKILL worker 2's JVM once its executor has finished a task of the current stage (whose
    output then dies with it) and runs the next (its log says so, or it has an input file open:
    a read task is short, so the log is the surer sign); the pid, or None if not yet."""
    executor = executors.get("worker-2")
    if not executor:
        return None
    finished, running = current_stage_tasks(executor["cwd"] / "stderr")
    if not (executor["reading"] or running) or not finished:
        return None
    pid = int((workdir / "pids" / "worker-2.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.mark.cluster
def test_scan_is_exact_when_a_python_worker_and_a_worker_jvm_die_mid_scan(
    tmp_path, bare_python, cluster
):
    """Three scans of one input in one application on the cluster: clean, then with one Python
    worker killed as its read task gets its input, then with worker 2's JVM killed after its
    executor finished a read task (that output is lost too). Spark retries what was lost; every
    matrix must equal the clean run's, ``n``, the label counts and the rows of every stability
    part exactly, each partition reported once, and ``run.json`` must count the retries."""
    demo = write_demo(FAULT_SPEC, tmp_path / "demo")
    inputs = (demo / "scores").resolve()
    driver = tmp_path / "faults.py"
    driver.write_text(FAULT_DRIVER)
    runs = [
        [
            name,
            [
                "--input",
                str(inputs),
                "--classes",
                str(demo / "classes.csv"),
                "--reader",
                "spark",
                "--out",
                str(tmp_path / name),
            ],
        ]
        for name in FAULT_RUNS
    ]
    cmd = spark_submit(
        cluster["master"],
        bare_python,
        package_zip(tmp_path),
        "--conf",
        "spark.sql.files.maxPartitionBytes=1m",
        str(driver),
        json.dumps(runs),
        str(tmp_path / "kill-python-worker"),
    )
    workdir, log = cluster["workdir"], tmp_path / "spark-submit.log"
    killed: dict[str, str] = {}
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, env=submit_env(bare_python), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            while proc.poll() is None and time.monotonic() - start < 300:
                scans = log.read_text(errors="replace").count("classsim: scan ...")
                if scans == 3 and "worker-jvm" not in killed:
                    pid = kill_worker_mid_stage(executors_now(workdir, inputs), workdir)
                    if pid is not None:
                        killed["worker-jvm"] = f"pid {pid} at {time.monotonic() - start:.1f} s"
                time.sleep(0.1)
            code = proc.wait(timeout=max(1, 300 - (time.monotonic() - start)))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if (tmp_path / "kill-python-worker.claimed").exists():
        killed["python-worker"] = "by its own task, as the input arrived"
    text = log.read_text(errors="replace")
    spark_says = [
        line
        for line in text.splitlines()
        if re.search(r"classsim: \d+ of|Lost task|Lost executor|Resubmitt", line)
    ]
    print(
        f"app done in {time.monotonic() - start:.1f} s; killed: {killed}",
        *spark_says,
        sep="\n  ",
    )
    assert code == 0, text[-6000:]
    assert set(killed) == {"python-worker", "worker-jvm"}, f"not killed mid-scan: {killed}"

    clean, *faulted = [load_results(tmp_path / name) for name in FAULT_RUNS]
    files = len(list(inputs.rglob("*.parquet")))
    assert clean.run.tasks == TasksRecord(reported=files, retried=0)
    for res in faulted:
        assert res.run.tasks.reported == files  # each partition once
        assert res.run.tasks.retried > 0, res.run.tasks  # the kill hit the read stage
        assert f"classsim: {res.run.tasks.retried} of {files} scan tasks" in text
        assert res.run.n == clean.run.n == FAULT_SPEC.samples
        assert res.run.parts.rows == clean.run.parts.rows
        assert set(res.counts) == set(clean.counts) == {"frequencies", "confusion"}
        for name, counts in clean.counts.items():
            np.testing.assert_array_equal(res.counts[name], counts)
        assert res.transforms == clean.transforms == ["logit", "probability", "rank"]
        for t in clean.transforms:
            assert res.moments[t].n == clean.moments[t].n
            assert np.abs(res.matrix(t) - clean.matrix(t)).max() <= 1e-12, t
