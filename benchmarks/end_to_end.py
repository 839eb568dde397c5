"""Benchmark: the whole `classsim run` at the paper's sizes, next to the single-process limit.

For each size the data comes from the demo generator (``classsim make-demo``, as a user makes it;
kept in ``benchmarks/out/e2e-<size>/`` and reused), then two whole processes run side by side:

``classsim run``
    With its defaults (similarity, analysis against the generated taxonomy, figures, explorer):
    what a new user waits for. Its phases come from its log lines (``... done in X s``).
``limit``
    ``python benchmarks/gram.py --baseline-process``: pyarrow + numpy in one process, one thread
    per core, computing the ``logit`` Gram of the same files (the transform the figures show):
    the least any tool must spend reading and multiplying.

Peak memory is read per process (``VmHWM``, the kernel's high-water mark) over the command's
whole process tree, polled every 0.2 s: the driver, and a JVM and its Python workers when Spark
runs.

Usage (from the repository root)::

    .venv/bin/python benchmarks/end_to_end.py casia vggface
    .venv/bin/python benchmarks/end_to_end.py audioset
    .venv/bin/python benchmarks/end_to_end.py m2500 m5000 m10000
    .venv/bin/python benchmarks/end_to_end.py tiny --repeat 1      # a smoke test
    .venv/bin/python benchmarks/end_to_end.py casia --run-args=--engine=spark

Sizes: ``casia`` 225,000 x 3,755 (CASIA-HWDB1.1's classes and test set), ``vggface`` 262,200 x
2,622, ``audioset`` 2,000,000 x 527 multi-label, ``m2500`` / ``m5000`` / ``m10000`` 20,000 rows
of that many classes (the driver's m x m work), ``tiny`` 2,000 x 50.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gram import descendants  # this folder: run as a script

ROOT = Path(__file__).resolve().parent
OUT_ROOT = ROOT / "out"
PHASE = re.compile(r"classsim: (.+?) done in ([0-9.]+) s")


@dataclass(frozen=True)
class Size:
    samples: int
    classes: int
    extra: tuple[str, ...] = ()


SIZES = {
    "casia": Size(225_000, 3755, ("--top-groups", "8", "--mid-groups", "120")),
    "vggface": Size(262_200, 2622, ("--top-groups", "8", "--mid-groups", "100")),
    "audioset": Size(2_000_000, 527, ("--multi-label",)),
    "m2500": Size(20_000, 2500, ("--top-groups", "8", "--mid-groups", "100")),
    "m5000": Size(20_000, 5000, ("--top-groups", "8", "--mid-groups", "150")),
    "m10000": Size(20_000, 10_000, ("--top-groups", "10", "--mid-groups", "250")),
    "tiny": Size(2_000, 50),
}


def classsim() -> str:
    return str(Path(sys.executable).with_name("classsim"))


def ensure_data(name: str, size: Size) -> Path:
    """The demo data of this size, generated once by ``classsim make-demo``."""
    out = OUT_ROOT / f"e2e-{name}"
    if (out / "scores").is_dir() and (out / "classes.csv").is_file():
        return out
    print(f"data: classsim make-demo {size.samples} x {size.classes} into {out}", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            classsim(),
            "make-demo",
            "--out",
            str(out),
            "--samples",
            str(size.samples),
            "--classes",
            str(size.classes),
            "--overwrite",
            *size.extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"data: {time.perf_counter() - t0:.0f} s", flush=True)
    return out


@dataclass
class Watched:
    """A finished process tree: seconds, exit status, output, peak RSS per process (MiB)."""

    seconds: float
    returncode: int
    stderr: str
    peaks_mib: dict[str, float] = field(default_factory=dict)


def _peak(pid: int) -> tuple[str, float] | None:
    """A process's kind (driver, jvm, worker) and its peak RSS in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    if not match:
        return None
    if "java" in cmdline.split(" ")[0]:
        kind = "jvm"
    elif "pyspark.daemon" in cmdline or "pyspark/daemon" in cmdline or "worker" in cmdline:
        kind = "python worker"
    else:
        kind = "driver"
    return kind, int(match.group(1)) / 1024


def watch(command: list[str]) -> Watched:
    """Run ``command``, polling the peak RSS of every process it starts."""
    peaks: dict[int, tuple[str, float]] = {}
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True)
    reader.start()
    while proc.poll() is None:
        for pid in descendants(proc.pid):
            seen = _peak(pid)
            if seen is not None:
                peaks[pid] = max(peaks.get(pid, seen), seen, key=lambda x: x[1])
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    reader.join()
    by_kind: dict[str, float] = {}
    for kind, mib in peaks.values():
        by_kind[kind] = max(by_kind.get(kind, 0.0), mib)
    return Watched(seconds, proc.returncode, "".join(stderr), by_kind)


def phases(stderr: str) -> dict[str, float]:
    """Phase -> seconds, from the log lines ``classsim: <phase> done in <s> s``."""
    found: dict[str, float] = {}
    for name, seconds in PHASE.findall(stderr):
        found[name] = found.get(name, 0.0) + float(seconds)
    return found


def run_once(data: Path, work: Path, run_args: list[str]) -> tuple[Watched, Watched]:
    results = work / "results"
    shutil.rmtree(results, ignore_errors=True)
    run = watch(
        [
            classsim(),
            "run",
            "--input",
            str(data / "scores"),
            "--classes",
            str(data / "classes.csv"),
            "--taxonomy",
            str(data / "classes.csv"),
            "--out",
            str(results),
            *run_args,
        ]
    )
    if run.returncode != 0:
        raise RuntimeError(f"classsim run failed:\n{run.stderr[-3000:]}")
    limit = watch(
        [sys.executable, str(ROOT / "gram.py"), "--baseline-process", str(data), str(work / "l")]
    )
    if limit.returncode != 0:
        raise RuntimeError(f"the baseline failed:\n{limit.stderr[-3000:]}")
    return run, limit


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sizes", nargs="+", choices=sorted(SIZES))
    p.add_argument("--repeat", type=int, default=1, help="runs of each (medians reported)")
    p.add_argument("--run-args", default="", help="more `classsim run` options, space-separated")
    p.add_argument("--json", type=Path, help="write every measurement here")
    args = p.parse_args(argv)
    report = []
    for name in args.sizes:
        size = SIZES[name]
        data = ensure_data(name, size)
        work = OUT_ROOT / f"e2e-{name}-work"
        work.mkdir(parents=True, exist_ok=True)
        runs = [run_once(data, work, args.run_args.split()) for _ in range(args.repeat)]
        run_s = statistics.median(r.seconds for r, _ in runs)
        limit_s = statistics.median(lim.seconds for _, lim in runs)
        phase_s = phases(runs[-1][0].stderr)
        row = {
            "size": name,
            "samples": size.samples,
            "classes": size.classes,
            "run_s": round(run_s, 1),
            "limit_s": round(limit_s, 1),
            "ratio": round(run_s / limit_s, 2),
            "phases_s": {k: round(v, 1) for k, v in phase_s.items()},
            "peak_mib": {k: round(v) for k, v in runs[-1][0].peaks_mib.items()},
            "limit_peak_mib": {k: round(v) for k, v in runs[-1][1].peaks_mib.items()},
        }
        report.append(row)
        print(f"\n== {name}: {size.samples:,} x {size.classes:,} ==")
        print(f"classsim run {run_s:.1f} s, limit (logit Gram, one process) {limit_s:.1f} s")
        print(f"ratio {row['ratio']}x; peak RSS MiB {row['peak_mib']}")
        for phase, seconds in phase_s.items():
            print(f"  {phase:<28}{seconds:8.1f} s")
    print("\n| size | n x m | run | limit | ratio | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for r in report:
        peaks = ", ".join(f"{k} {v:,}" for k, v in r["peak_mib"].items())
        print(
            f"| {r['size']} | {r['samples']:,} x {r['classes']:,} | {r['run_s']} s | "
            f"{r['limit_s']} s | {r['ratio']}x | {peaks} |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
