"""Benchmark: adding one day to a month of prediction logs (``--update``) vs scanning it all again,
and composing a window (``classsim window``) without Spark.

Each contestant is the ``classsim`` command as a user runs it (a whole process: interpreter, JVM,
session, scan, files), timed side by side in one run, ``--repeat`` times each, medians quoted:

``full rescan``
    ``classsim similarity --input <all days> --by date``: what a daily job does without updates.
``update by one day``
    ``classsim similarity --input <the new day> --update <results of the other days>`` (a fresh
    copy of those results each time).
``window of 7 days``
    ``classsim window <results> --from <day 1> --to <day 7>``.

Every updated matrix is checked against the full rescan's (largest absolute difference printed).

Usage (from the repository root)::

    .venv/bin/python benchmarks/update.py                         # 30 + 1 days, 310k x 527
    .venv/bin/python benchmarks/update.py --days 31 --samples 62000 --classes 300 --repeat 1

Data is generated once into ``benchmarks/out/days-<n>x<m>x<d>/`` (gitignored) and reused.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT_ROOT = Path(__file__).resolve().parent / "out"
CLASSSIM = str(Path(sys.executable).with_name("classsim"))


def run(*args: str) -> float:
    """Seconds the command took; fails loudly with its output when it fails."""
    start = time.perf_counter()
    done = subprocess.run([CLASSSIM, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"classsim {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=310_000)
    parser.add_argument("--classes", type=int, default=527)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = OUT_ROOT / f"days-{args.samples}x{args.classes}x{args.days}"
    if not (data / "answers.json").is_file():
        shutil.rmtree(data, ignore_errors=True)
        run(
            "make-demo",
            "--out",
            str(data),
            "--samples",
            str(args.samples),
            "--classes",
            str(args.classes),
            "--days",
            str(args.days),
        )
    days = sorted((data / "scores").iterdir())
    classes = str(data / "classes.csv")
    work = Path(tempfile.mkdtemp(prefix="classsim-update-"))
    try:
        earlier = ",".join(str(d) for d in days[:-1])
        base = work / "base"
        run(
            "similarity",
            "--input",
            earlier,
            "--classes",
            classes,
            "--by",
            "date",
            "--out",
            str(base),
        )
        times: dict[str, list[float]] = {
            "full rescan": [],
            "update by one day": [],
            "window of 7 days": [],
        }
        for k in range(args.repeat):
            full = work / f"full-{k}"
            times["full rescan"].append(
                run(
                    "similarity",
                    "--input",
                    str(data / "scores"),
                    "--classes",
                    classes,
                    "--by",
                    "date",
                    "--out",
                    str(full),
                )
            )
            updated = work / f"updated-{k}"
            shutil.copytree(base, updated)
            times["update by one day"].append(
                run("similarity", "--input", str(days[-1]), "--update", str(updated))
            )
            first, last = days[0].name.split("=")[1], days[6].name.split("=")[1]
            times["window of 7 days"].append(
                run(
                    "window",
                    str(updated),
                    "--from",
                    first,
                    "--to",
                    last,
                    "--out",
                    str(work / f"window-{k}"),
                )
            )
        diff = max(
            float(np.abs(np.load(updated / name) - np.load(full / name)).max())
            for name in (
                "similarity-logit.npy",
                "similarity-probability.npy",
                "similarity-rank.npy",
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"{args.samples:,} rows x {args.classes} classes over {args.days} days "
        f"({args.samples // args.days:,} rows a day); {args.repeat} runs each, whole "
        "processes, medians"
    )
    full_median = statistics.median(times["full rescan"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"  {name:18s} {median:7.1f} s  ({', '.join(f'{v:.1f}' for v in values)})"
            f"  {full_median / median:5.1f}x faster than the full rescan"
        )
    print(f"  updated vs full rescan: largest |difference| of the matrices {diff:.1e}")


if __name__ == "__main__":
    main()
