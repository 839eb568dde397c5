"""Benchmark: classsim vs MLlib ``Correlation.corr`` vs a single-process pyarrow + numpy baseline.

All contestants run in one process, on one local Spark session, over the same generated Parquet
data, and every matrix is checked against the baseline's:

``baseline threads`` / ``baseline blas``
    pyarrow.dataset reads the score columns of the Parquet files in the driver process, numpy
    accumulates a float64 centred Gram matrix per batch and merges batches with the exact
    parallel formula (written here, independently of classsim's ``moments``), on every core:
    one Python thread per core with single-threaded BLAS (default), or one stream with
    multi-threaded BLAS (``--baselines threads,blas``). The single-process limit that classsim
    should approach.
``classsim arrow`` / ``classsim spark``
    :func:`classsim_spark.similarity` with the tasks reading Parquet row groups with pyarrow, or
    through Spark's (JVM) reader.
``mllib``
    ``pyspark.ml.stat.Correlation.corr(df, "features", "pearson")`` with the features built by
    ``array_to_vector`` (array layout) or ``VectorAssembler`` (wide layout).

``--processes``: whole processes instead, side by side (the user's view: interpreter start,
imports, JVM and session, reading, writing):

``baseline process``
    ``python benchmarks/gram.py --baseline-process DATA OUT.npy``: the ``baseline threads``
    contestant alone in a fresh interpreter, writing its matrix.
``classsim process``
    ``classsim similarity`` on the same files computing the same statistic (one transform, no
    labels, sample or stability parts), with its defaults otherwise: the scan in threads of the
    process, no JVM (``--engine auto``).
``classsim process (defaults)``
    ``classsim similarity`` with its defaults for the rest (label counts, sample, parts).
``classsim process (spark)``
    As ``classsim process``, in a local Spark session sized for the job (``--engine spark``).

Usage (from the repository root)::

    .venv/bin/python benchmarks/gram.py                       # 200k x 527, array column
    .venv/bin/python benchmarks/gram.py --samples 1000000 --classes 527
    .venv/bin/python benchmarks/gram.py --samples 100000 --classes 2622 --layouts array,wide
    .venv/bin/python benchmarks/gram.py --samples 20000 --classes 100 --repeat 1 --json r.json
    .venv/bin/python benchmarks/gram.py --samples 1000000 --classes 527 --processes

Data is generated once into ``benchmarks/out/<layout>-<n>x<m>/`` (gitignored) and reused while its
``answers.json`` matches (``--regenerate`` forces it). The files are read from the page cache
after the first contestant, for every contestant alike. ``--profile`` adds a per-batch breakdown
of classsim's task-side Python work (decode, float64, checks, centring, syrk, merge).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import scipy
import scipy.stats
from threadpoolctl import threadpool_info, threadpool_limits

OUT_ROOT = Path(__file__).resolve().parent / "out"
DEFAULT_SAMPLES, DEFAULT_CLASSES = 200_000, 527
MAX_ABS_DIFF = 1e-6
TARGET_VS_MLLIB, TARGET_VS_BASELINE = 10.0, 1.5
PROCESS_TARGET = 1.3
"""Issue 13: the whole `classsim similarity` process within 1.3x the single-process baseline."""
# float64 elements per baseline batch (64 MiB): large enough to keep BLAS busy, small enough
# that the merge and the batch stay cheap at m in the thousands.
BASELINE_BATCH_ELEMENTS = 8_000_000
BASELINE_MODES = ("threads", "blas")
SPARK_CONF = {
    # Local mode runs the executors in the driver JVM, so this is their heap too, and it also
    # bounds the JVM's direct memory, where the Arrow batches for Python live (10k rows x m
    # floats each: 105 MB at m = 2622). The JVM peaked at 2.5 GiB RSS at 200k x 527.
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.showConsoleProgress": "false",
}


# --------------------------------------------------------------------------------------------
# Data


def demo_spec(n: int, m: int):
    """A :class:`DemoSpec` of n samples and m classes with a taxonomy that suits m."""
    from classsim_spark.demo.generator import DemoSpec

    top = 6
    mid = max(top, min(max(25, m // 12), m // 2))
    return DemoSpec(samples=n, classes=m, mid_groups=mid, top_groups=min(top, mid))


def ensure_data(layout: str, n: int, m: int, regenerate: bool) -> Path:
    """Generate (or reuse) the demo dataset of this layout and size; return its folder."""
    from classsim_spark.demo.writer import write_demo

    out = OUT_ROOT / f"{layout}-{n}x{m}"
    answers = out / "answers.json"
    if not regenerate and answers.is_file() and (out / "scores").is_dir():
        meta = json.loads(answers.read_text())
        if (meta.get("n"), meta.get("m"), meta.get("layout")) == (n, m, layout):
            print(f"data: reusing {out}")
            return out
    print(f"data: generating {layout} {n} x {m} into {out} ...", flush=True)
    t0 = time.perf_counter()
    write_demo(
        demo_spec(n, m), out, layout=layout, overwrite=True, chunk_rows=max(1000, 25_000_000 // m)
    )
    size = sum(p.stat().st_size for p in (out / "scores").rglob("*.parquet"))
    print(f"data: {time.perf_counter() - t0:.1f} s, {size / 2**20:.0f} MiB of Parquet")
    return out


def class_names(data: Path) -> list[str]:
    from classsim_spark.io.classes import read_class_names

    return read_class_names(data / "classes.csv")


# --------------------------------------------------------------------------------------------
# Single-process baseline (independent of classsim's code)


@dataclass
class CentredGram:
    """Count, mean and centred co-moment of rows, merged exactly batch by batch (Chan et al.)."""

    m: int
    n: int = 0
    mean: np.ndarray = field(init=False)
    comoment: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mean = np.zeros(self.m)
        self.comoment = np.zeros((self.m, self.m))

    def add(self, x: np.ndarray) -> None:
        """Fold in the rows of x (float64, shape (k, m)); x is overwritten (centred)."""
        k = x.shape[0]
        if k == 0:
            return
        mean_b = x.mean(axis=0)
        x -= mean_b
        self._merge(k, mean_b, x.T @ x)  # numpy calls syrk for a matrix times its transpose

    def merge(self, other: CentredGram) -> None:
        if other.n:
            self._merge(other.n, other.mean, other.comoment)

    def _merge(self, k: int, mean_b: np.ndarray, comoment_b: np.ndarray) -> None:
        n = self.n + k
        delta = mean_b - self.mean
        self.comoment += comoment_b
        if self.n:
            self.comoment += np.outer(delta, delta * (self.n * k / n))
        self.mean += delta * (k / n)
        self.n = n

    def correlation(self) -> np.ndarray:
        inv_sd = 1.0 / np.sqrt(np.diag(self.comoment))
        r = self.comoment * inv_sd[:, None] * inv_sd[None, :]
        np.fill_diagonal(r, 1.0)
        return r


def baseline_batches(data: Path, layout: str, names: list[str]):
    """float64 (rows, m) blocks of the scores, read by pyarrow.dataset with its own threads."""
    m = len(names)
    dataset = pads.dataset(data / "scores", format="parquet", partitioning="hive")
    columns = ["scores"] if layout == "array" else names
    batch_rows = max(1, BASELINE_BATCH_ELEMENTS // m)
    scan = dataset.to_batches(
        columns=columns,
        batch_size=batch_rows,
        use_threads=True,
        batch_readahead=4,
        fragment_readahead=2,
    )
    for batch in scan:
        if batch.num_rows == 0:
            continue
        if layout == "array":
            values = batch.column(0).flatten().to_numpy()
            yield values.reshape(-1, m).astype(np.float64)
        else:
            # (m, rows) C-order: each class column lands contiguously; .T is the (rows, m) view.
            block = np.empty((m, batch.num_rows))
            for j, column in enumerate(batch.columns):
                block[j] = column.to_numpy()
            yield block.T


def fold(grams: dict[str, CentredGram], x: np.ndarray, transforms: list[str]) -> None:
    for t in transforms:
        if t == "rank":
            grams[t].add(scipy.stats.rankdata(x, axis=1))
        elif t == "logit":  # the demo scores are logits
            grams[t].add(x if t == transforms[-1] else x.copy())
        else:
            raise ValueError(f"the baseline computes logit and rank, not {t!r}")


def run_baseline(
    data: Path,
    layout: str,
    names: list[str],
    transforms: list[str],
    mode: str = "threads",
    cores: int = 2,
):
    """Correlation matrices of the data in this process, on ``cores`` cores.

    ``threads``: ``cores`` Python threads take batches in turn (reading the next one under a
    lock) and fold them into their own statistics with single-threaded BLAS; the partial
    statistics are merged at the end. ``blas``: one stream of batches, BLAS threads on every
    core. Both use every core; ``threads`` also overlaps reading with arithmetic and does not
    stall when the machine is oversubscribed (OpenBLAS's threads wait on each other then).
    """
    m = len(names)
    batches = baseline_batches(data, layout, names)
    if mode not in BASELINE_MODES:
        raise ValueError(f"baseline mode must be one of {BASELINE_MODES}, got {mode!r}")
    if mode == "blas":
        grams = {t: CentredGram(m) for t in transforms}
        with threadpool_limits(cores, user_api="blas"):
            for x in batches:
                fold(grams, x, transforms)
    else:
        lock = threading.Lock()
        parts = [{t: CentredGram(m) for t in transforms} for _ in range(cores)]

        def work(mine: dict[str, CentredGram]) -> None:
            while True:
                with lock:
                    x = next(batches, None)
                if x is None:
                    return
                fold(mine, x, transforms)

        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(cores) as pool:
            list(pool.map(work, parts))
        grams = parts[0]
        for other in parts[1:]:
            for t in transforms:
                grams[t].merge(other[t])
    return {t: g.correlation() for t, g in grams.items()}, {"n": grams[transforms[0]].n}


# --------------------------------------------------------------------------------------------
# Whole processes


def baseline_process(data: Path, out: Path, cores: int) -> int:
    """The ``baseline threads`` contestant as a process of its own: its matrix to ``out``."""
    names = class_names(data)
    matrices, _ = run_baseline(data, "array", names, ["logit"], "threads", cores)
    with open(out, "wb") as f:  # np.save would add ".npy" to the name
        np.save(f, matrices["logit"])
    return 0


def process_contestants(data: Path, work: Path, repeat: int) -> list[Contestant]:
    """Whole commands, each run in a fresh process and read back from what it wrote."""
    classsim = str(Path(sys.executable).with_name("classsim"))
    same_work = ["--labels", "none", "--sample-rows", "0", "--stability-parts", "0"]

    def command(name: str, argv: list[str], read) -> Contestant:
        def run():
            target = work / name.replace(" ", "-")
            shutil.rmtree(target, ignore_errors=True)
            done = subprocess.run([*argv, str(target)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
            return read(target)

        return Contestant(name, run, repeat)

    def classsim_result(target: Path):
        import classsim_spark as cs

        res = cs.load_results(str(target))
        phases = {k: round(v, 3) for k, v in res.run.timings_s.items()}
        return {"logit": res.matrix("logit")}, {"n": res.run.n, "phases_s": phases}

    def baseline_result(target: Path):
        return {"logit": np.load(target)}, {"n": None}

    base = [classsim, "similarity", "--input", str(data / "scores"), "--transform", "logit"]
    base += ["--classes", str(data / "classes.csv"), "--out"]
    return [
        command(
            "baseline process",
            [sys.executable, __file__, "--baseline-process", str(data)],
            baseline_result,
        ),
        command("classsim process", [*base[:-1], *same_work, "--out"], classsim_result),
        command("classsim process (defaults)", base, classsim_result),
        command(
            "classsim process (spark)",
            [*base[:-1], *same_work, "--engine", "spark", "--out"],
            classsim_result,
        ),
    ]


# --------------------------------------------------------------------------------------------
# Spark contestants


def run_classsim(
    spark, data: Path, layout: str, transforms: list[str], reader: str, parts: int | str = "auto"
):
    import classsim_spark as cs

    res = cs.similarity(
        str(data / "scores"),
        layout=layout,
        classes=str(data / "classes.csv"),
        transforms=transforms,
        reader=reader,
        spark=spark,
        stability_parts=parts,
    )
    used = res.run.reader.used
    if used != reader:
        raise RuntimeError(f"asked for reader {reader!r}, classsim used {used!r}")
    phases = {k: round(v, 3) for k, v in res.run.timings_s.items()}
    parts_used = res.run.parts.count if res.run.parts else 0
    return {t: res.matrix(t) for t in transforms}, {
        "n": res.run.n,
        "phases_s": phases,
        "stability_parts": parts_used,
    }


def run_mllib(spark, data: Path, layout: str, names: list[str]):
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.functions import array_to_vector
    from pyspark.ml.stat import Correlation

    df = spark.read.parquet(str(data / "scores"))
    if layout == "array":
        features = df.select(array_to_vector("scores").alias("features"))
    else:
        assembler = VectorAssembler(inputCols=names, outputCol="features", handleInvalid="error")
        features = assembler.transform(df.select(*names)).select("features")
    matrix = Correlation.corr(features, "features", "pearson").head()[0].toArray()
    return {"logit": matrix}, {}


# --------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Contestant:
    name: str
    run: Callable[[], tuple[dict[str, np.ndarray], dict]]
    repeat: int
    times: list[float] = field(default_factory=list)
    loads: list[list[float]] = field(default_factory=list)
    extras: list[dict] = field(default_factory=list)
    max_abs_diff: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(contestants: list[Contestant], reference: dict[str, np.ndarray]) -> None:
    """Run the contestants round-robin (so a noisy spell hits all of them), checking matrices."""
    for r in range(max(c.repeat for c in contestants)):
        for c in contestants:
            if r >= c.repeat:
                continue
            load = load_average()
            t0 = time.perf_counter()
            matrices, extra = c.run()
            seconds = time.perf_counter() - t0
            c.times.append(seconds)
            c.loads.append(load)
            c.extras.append(extra)
            for t, mat in matrices.items():
                diff = float(np.max(np.abs(mat - reference[t])))
                c.max_abs_diff[t] = max(c.max_abs_diff.get(t, 0.0), diff)
            phases = extra.get("phases_s")
            detail = f"  phases {phases}" if phases else ""
            print(
                f"  [{r + 1}/{c.repeat}] {c.name:<22} {seconds:8.2f} s   load {load}{detail}",
                flush=True,
            )


def worker_blas(spark) -> list[dict]:
    """BLAS thread pools and OMP_NUM_THREADS as seen inside Spark's Python workers."""

    def probe(batches):
        from threadpoolctl import threadpool_info as info

        for _ in batches:
            pass
        pools = [f"{p['internal_api']} {p.get('version')} x{p['num_threads']}" for p in info()]
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "pid": os.getpid(),
                    "omp": os.environ.get("OMP_NUM_THREADS", ""),
                    "blas": "; ".join(pools),
                }
            ]
        )

    rows = spark.range(0, 2, 1, 2).mapInArrow(probe, "pid long, omp string, blas string")
    return [r.asDict() for r in rows.collect()]


def peak_rss(spark) -> dict[str, float]:
    """Peak resident memory (MiB) of this process, the JVM and its Python worker processes."""

    def vm_hwm(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    out = {"driver_python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        jvm = int(spark._jvm.java.lang.ProcessHandle.current().pid())
    except Exception:  # best effort: not on Connect sessions
        return out
    out["jvm"] = vm_hwm(jvm)
    workers = [vm_hwm(pid) for pid in descendants(jvm)[1:]]
    if workers:
        out["python_workers_max"] = max(workers)
        out["python_workers"] = len(workers)
    return {k: round(v, 1) for k, v in out.items()}


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def java_version(spark) -> str:
    try:
        return str(spark._jvm.java.lang.System.getProperty("java.version"))
    except Exception:
        return "?"


# --------------------------------------------------------------------------------------------
# Report


def ratio_line(label: str, value: float, target: float, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    return f"{label} = {value:.2f}x (target {sign} {target:g}x: {'met' if met else 'NOT met'})"


def report(layout: str, n: int, m: int, contestants: list[Contestant]) -> dict:
    print(f"\n== layout {layout}, {n} x {m} ==")
    print(
        f"{'contestant':<24}{'median s':>10}{'min s':>9}{'max s':>9}{'rows/s':>12}"
        f"{'runs':>6}  max|diff| vs baseline"
    )
    rows = {}
    for c in contestants:
        diff = (
            ", ".join(
                f"{t} {d:.1e}{'' if d < MAX_ABS_DIFF else ' (TOO LARGE)'}"
                for t, d in c.max_abs_diff.items()
            )
            or "-"
        )
        print(
            f"{c.name:<24}{c.median:>10.2f}{min(c.times):>9.2f}{max(c.times):>9.2f}"
            f"{n / c.median:>12,.0f}{len(c.times):>6}  {diff}"
        )
        rows[c.name] = {
            "median_s": c.median,
            "min_s": min(c.times),
            "max_s": max(c.times),
            "times_s": c.times,
            "rows_per_s": n / c.median,
            "load_before": c.loads,
            "max_abs_diff": c.max_abs_diff,
            "extras": c.extras,
            "ok": all(d < MAX_ABS_DIFF for d in c.max_abs_diff.values()),
        }
    by_name = {c.name: c for c in contestants}
    ours = [c for c in contestants if c.name.startswith("classsim")]
    summary: dict[str, float | bool | str] = {}
    lines = []
    if ours:
        best = min(ours, key=lambda c: c.median)
        summary["best_classsim"] = best.name
        if "mllib" in by_name:
            v = by_name["mllib"].median / best.median
            summary["mllib_over_classsim"] = v
            summary["mllib_target_met"] = v >= TARGET_VS_MLLIB
            lines.append(ratio_line(f"MLlib / {best.name}", v, TARGET_VS_MLLIB, True))
        base = min(
            (c for c in contestants if c.name.startswith("baseline")), key=lambda c: c.median
        )
        summary["best_baseline"] = base.name
        v = best.median / base.median
        summary["classsim_over_baseline"] = v
        summary["baseline_target_met"] = v <= TARGET_VS_BASELINE
        lines.append(ratio_line(f"{best.name} / {base.name}", v, TARGET_VS_BASELINE, False))
        for c in ours:
            plain = by_name.get(c.name.split(" parts=")[0])
            if " parts=" in c.name and plain is not None:
                v = plain.median / c.median
                summary[f"{plain.name} / {c.name}"] = v
                lines.append(
                    f"stability parts: {plain.name} / {c.name} = {v:.2f}x "
                    f"(parts {plain.extras[0].get('stability_parts')} vs "
                    f"{c.extras[0].get('stability_parts')})"
                )
        for c in ours:
            if c is not best:
                lines.append(
                    f"({c.name} / {base.name} = {c.median / base.median:.2f}x"
                    + (
                        f", MLlib / {c.name} = {by_name['mllib'].median / c.median:.2f}x"
                        if "mllib" in by_name
                        else ""
                    )
                    + ")"
                )
    for line in lines:
        print(line)
    bad = [c.name for c in contestants if not rows[c.name]["ok"]]
    if bad:
        print(f"WARNING: max |diff| >= {MAX_ABS_DIFF:g} for {', '.join(bad)}")
    print(f"summary {layout} {n}x{m}: " + "; ".join(lines[:2]))
    return {"layout": layout, "n": n, "m": m, "contestants": rows, "summary": summary}


# --------------------------------------------------------------------------------------------
# Profile of classsim's task-side Python work


def profile_batches(
    data: Path,
    layout: str,
    names: list[str],
    transforms: list[str],
    n: int,
    cores: int,
    max_batches: int = 30,
) -> dict:
    """Time classsim's per-batch steps in this process with one BLAS thread (as in a task).

    The steps are those of ``scan._accumulate`` on the batches ``parquet_reader`` yields;
    ``float64`` is measured apart (``to_numpy`` + ``astype`` of the same batch) and is also
    part of ``decode``. ``projected`` scales the per-row cost to n rows on ``cores`` tasks.
    """
    from classsim_spark.core.moments import Moments
    from classsim_spark.core.transforms import ScoreSpec, transform_block
    from classsim_spark.executor.batches import BatchLayout, decode_batch
    from classsim_spark.executor.parquet_reader import BATCH_ROWS, ReadUnit, read_units
    from classsim_spark.executor.validation import RowReport, check_scores

    m = len(names)
    files = sorted(str(p) for p in (data / "scores").rglob("*.parquet"))
    columns = ["scores"] if layout == "array" else names
    bl = BatchLayout(layout, tuple(columns), m, "sample_id")
    spec = ScoreSpec()
    keys = ["read", "decode", "(float64)", "check", "transform", "centre", "syrk", "merge"]
    steps = dict.fromkeys(keys, 0.0)
    acc = {t: Moments.empty(m) for t in transforms}
    report_ = RowReport()
    rows = batches = 0
    clock = time.perf_counter
    with threadpool_limits(1):
        it = read_units([ReadUnit(f, 0, 1) for f in files], [*columns, "sample_id"])
        for _ in range(max_batches):
            t0 = clock()
            batch = next(it, None)
            if batch is None:
                break
            t1 = clock()
            scores, ids = decode_batch(batch, bl, report_, rows)
            t2 = clock()
            check_scores(scores, ids, False, report_)
            t3 = clock()
            if layout == "array":
                batch.column("scores").flatten().to_numpy().astype(np.float64)
            else:
                np.column_stack([c.to_numpy() for c in batch.columns[:m]]).astype(np.float64)
            t4 = clock()
            steps["read"] += t1 - t0
            steps["decode"] += t2 - t1
            steps["check"] += t3 - t2
            steps["(float64)"] += t4 - t3
            rows += batch.num_rows
            batches += 1
            for t in transforms:
                s0 = clock()
                block = transform_block(scores, t, spec)
                s1 = clock()
                mean = block.mean(axis=0)
                centred = block - mean
                s2 = clock()
                part = Moments(block.shape[0], mean, centred.T @ centred)
                s3 = clock()
                acc[t] = acc[t].merge(part)
                s4 = clock()
                steps["transform"] += s1 - s0
                steps["centre"] += s2 - s1
                steps["syrk"] += s3 - s2
                steps["merge"] += s4 - s3
    total = sum(v for k, v in steps.items() if k != "(float64)")
    per_batch = {k: 1e3 * v / batches for k, v in steps.items()}
    projected = total / rows * n / cores
    print(
        f"\nprofile ({layout}, m={m}, transforms {transforms}, 1 BLAS thread): {rows} rows in "
        f"{batches} batches of <= {BATCH_ROWS}; ms per batch"
    )
    for k, v in per_batch.items():
        share = "" if k == "(float64)" else f"{100 * steps[k] / total:5.1f} %"
        print(f"  {k:<11}{v:9.1f} ms  {share}")
    print(
        f"  {'total':<11}{1e3 * total / batches:9.1f} ms  -> {rows / total:,.0f} rows/s per "
        f"core; {n} rows on {cores} tasks: {projected:.1f} s of task compute"
    )
    return {
        "batches": batches,
        "rows": rows,
        "ms_per_batch": per_batch,
        "projected_task_s": projected,
    }


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--samples", "-n", type=int, default=DEFAULT_SAMPLES)
    p.add_argument("--classes", "-m", type=int, default=DEFAULT_CLASSES)
    p.add_argument("--layout", choices=["array", "wide"], default="array")
    p.add_argument("--layouts", help="comma-separated layouts to run in turn (e.g. array,wide)")
    p.add_argument(
        "--transforms",
        default="logit",
        help="classsim transforms, comma-separated (logit; logit,rank)",
    )
    p.add_argument("--readers", default="arrow,spark", help="classsim readers to time")
    p.add_argument(
        "--stability-parts",
        default="auto",
        help="classsim's stability_parts, comma-separated, each timed as its own "
        "contestant (e.g. 0,auto: the scan's cost of keeping parts)",
    )
    p.add_argument(
        "--baselines",
        default="threads",
        help="baseline modes to time: threads (one Python thread per core, "
        "1-thread BLAS each), blas (one stream, multi-threaded BLAS)",
    )
    p.add_argument("--repeat", type=int, default=3, help="timed runs per contestant")
    p.add_argument("--mllib-repeat", type=int, default=1)
    p.add_argument("--skip-mllib", action="store_true")
    p.add_argument("--regenerate", action="store_true", help="regenerate the data")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--driver-memory", default=SPARK_CONF["spark.driver.memory"])
    p.add_argument(
        "--profile",
        action="store_true",
        help="also time classsim's per-batch Python steps in this process",
    )
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument(
        "--processes",
        action="store_true",
        help="time whole processes (the baseline alone, `classsim similarity`) instead",
    )
    p.add_argument(
        "--baseline-process",
        nargs=2,
        type=Path,
        metavar=("DATA", "OUT"),
        help="(used by --processes) run the baseline on DATA, save its matrix to OUT",
    )
    args = p.parse_args(argv)
    args.layouts = [x.strip() for x in (args.layouts or args.layout).split(",") if x.strip()]
    for layout in args.layouts:
        if layout not in ("array", "wide"):
            p.error(f"--layouts: unknown layout {layout!r}")
    args.transforms = [x.strip() for x in args.transforms.split(",") if x.strip()]
    args.readers = [x.strip() for x in args.readers.split(",") if x.strip()]
    args.stability_parts = [
        x if x.strip() == "auto" else int(x)
        for x in (x.strip() for x in args.stability_parts.split(","))
    ]
    if not set(args.transforms) <= {"logit", "rank"}:
        p.error("--transforms: logit and/or rank")
    if not set(args.readers) <= {"arrow", "spark"}:
        p.error("--readers: arrow and/or spark")
    args.baselines = [x.strip() for x in args.baselines.split(",") if x.strip()]
    if not args.baselines or not set(args.baselines) <= set(BASELINE_MODES):
        p.error(f"--baselines: one or more of {BASELINE_MODES}")
    return args


def machine_info() -> dict:
    import pyspark

    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pyarrow": pa.__version__,
        "pyspark": pyspark.__version__,
        "driver_blas": [
            f"{p['internal_api']} {p.get('version')} x{p['num_threads']} "
            f"({Path(p['filepath']).name})"
            for p in threadpool_info()
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_process:
        return baseline_process(*args.baseline_process, os.cpu_count() or 1)
    if args.processes:
        return main_processes(args)
    from classsim_spark.spark.session import get_spark
    from classsim_spark.spark.sizing import local_threads

    info = machine_info()
    info["load_start"] = load_average()
    print(f"machine: {info['nproc']} cpus ({info['affinity']} usable), {info['platform']}")
    print(
        f"versions: python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"pyarrow {info['pyarrow']}, pyspark {info['pyspark']}"
    )
    print(f"driver BLAS: {'; '.join(info['driver_blas'])}")
    print(f"load average at start: {info['load_start']}")
    data = {
        layout: ensure_data(layout, args.samples, args.classes, args.regenerate)
        for layout in args.layouts
    }

    conf = {**SPARK_CONF, "spark.driver.memory": args.driver_memory}
    t0 = time.perf_counter()
    spark = get_spark(args.master, app_name="classsim-bench", conf=conf)
    cores = info["task_slots"] = local_threads(args.master) or os.cpu_count() or 1
    results = []
    try:
        info["spark_start_s"] = round(time.perf_counter() - t0, 1)
        info["java"] = java_version(spark)
        info["spark_conf"] = conf
        info["jvm_max_heap_mib"] = round(
            spark._jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20
        )
        info["worker_blas"] = worker_blas(spark)
        print(
            f"spark {spark.version} {args.master}, java {info['java']}, JVM max heap "
            f"{info['jvm_max_heap_mib']} MiB, started in {info['spark_start_s']} s"
        )
        print(
            "worker BLAS: "
            + "; ".join(
                f"pid {w['pid']} OMP_NUM_THREADS={w['omp'] or '-'} {w['blas']}"
                for w in info["worker_blas"]
            )
        )

        for layout in args.layouts:
            path = data[layout]
            names = class_names(path)
            n, m = args.samples, len(names)
            print(
                f"\n-- {layout} {n} x {m}: transforms {args.transforms}, "
                f"repeat {args.repeat} (MLlib {0 if args.skip_mllib else args.mllib_repeat})"
            )
            # The reference: one untimed baseline run gives the matrices to check against (and
            # warms the page cache for everyone).
            ref, ref_info = run_baseline(
                path, layout, names, args.transforms, args.baselines[0], cores
            )
            if ref_info["n"] != n:
                raise RuntimeError(f"baseline read {ref_info['n']} rows, expected {n}")
            contestants = [
                Contestant(
                    f"baseline {mode}",
                    lambda p=path, lay=layout, nm=names, mo=mode: run_baseline(
                        p, lay, nm, args.transforms, mo, cores
                    ),
                    args.repeat,
                )
                for mode in args.baselines
            ]
            for reader in args.readers:
                for parts in args.stability_parts:
                    label = "" if parts == "auto" else f" parts={parts}"
                    contestants.append(
                        Contestant(
                            f"classsim {reader}{label}",
                            lambda p=path, lay=layout, r=reader, k=parts: run_classsim(
                                spark, p, lay, args.transforms, r, k
                            ),
                            args.repeat,
                        )
                    )
            if not args.skip_mllib and args.mllib_repeat > 0:
                contestants.append(
                    Contestant(
                        "mllib",
                        lambda p=path, lay=layout, nm=names: run_mllib(spark, p, lay, nm),
                        args.mllib_repeat,
                    )
                )
            measure(contestants, ref)
            results.append(report(layout, n, m, contestants))
            if args.profile:
                results[-1]["profile"] = profile_batches(
                    path, layout, names, args.transforms, n, cores
                )
        info["peak_rss_mib"] = peak_rss(spark)
    finally:
        spark.stop()
    info["load_end"] = load_average()
    print(f"\npeak RSS (MiB): {info.get('peak_rss_mib')}")
    print(f"load average at end: {info['load_end']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "args": {
                        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    },
                    "machine": info,
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {args.json}")
    ok = all(r["contestants"][c]["ok"] for r in results for c in r["contestants"])
    return 0 if ok else 1


def main_processes(args: argparse.Namespace) -> int:
    """Whole processes side by side on the array layout: the single-process baseline and
    `classsim similarity`, medians and the ratio against the baseline process."""
    import tempfile

    data = ensure_data("array", args.samples, args.classes, args.regenerate)
    names = class_names(data)
    n, m = args.samples, len(names)
    print(f"\n-- whole processes, array {n} x {m}: logit, repeat {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="gram-processes-") as tmp:
        work = Path(tmp)
        contestants = process_contestants(data, work, args.repeat)
        reference, _ = contestants[0].run()  # untimed: warms the page cache, the JVM archive
        measure(contestants, reference)
    result = report("array", n, m, contestants)
    base = result["contestants"]["baseline process"]["median_s"]
    for name in ("classsim process", "classsim process (defaults)", "classsim process (spark)"):
        ratio = result["contestants"][name]["median_s"] / base
        print(ratio_line(f"{name} / baseline process", ratio, PROCESS_TARGET, at_least=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"processes": result}, indent=2) + "\n")
    ok = all(c["ok"] for c in result["contestants"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
