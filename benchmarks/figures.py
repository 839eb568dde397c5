"""Benchmark: the full figure set of a results directory at large m (issue 4: m = 3,755).

Builds a results directory without Spark (demo latent model, numpy statistics, a confusion
matrix from the demo labels), analyses it with the demo taxonomy, then times ``render`` (every
figure: layout + drawing + PNG + SVG, written atomically into ``figures/``) in one process and
in one process per core, alternating, and prints the medians and their ratio. One line per
figure from the last in-process render shows where the time goes.

    .venv/bin/python benchmarks/figures.py                 # m = 3755
    .venv/bin/python benchmarks/figures.py --classes 300   # quick
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from classsim_spark.analysis import analyze
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.render.figures import render


class _FigureTimes(logging.Handler):
    """Keeps the per-figure lines ``render`` logs."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("figure "):
            self.lines.append(record.getMessage())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=3755)
    parser.add_argument("--samples", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        spec = DemoSpec(
            samples=args.samples,
            classes=args.classes,
            top_groups=12,
            mid_groups=max(25, args.classes // 12),
            seed=0,
        )
        path, taxonomy = numpy_results(generate(spec), Path(tmp))
        print(f"results dir {args.samples} x {args.classes}: {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        analyze(path, taxonomy=taxonomy, taxonomy_levels="level1,level2")
        print(f"analyze: {time.perf_counter() - start:.1f} s")
        cores = os.cpu_count() or 1
        handler = _FigureTimes()
        log = logging.getLogger("classsim")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        times: dict[int, list[float]] = {1: [], cores: []}
        for _ in range(args.repeat):
            for workers in times:
                handler.lines.clear()
                start = time.perf_counter()
                render(path, overwrite=True, workers=workers)
                times[workers].append(time.perf_counter() - start)
                if workers == 1:
                    per_figure = list(handler.lines)
        for line in per_figure:
            print(f"  {line}  (in-process)")
        for workers, seconds in times.items():
            print(
                f"full figure set, m = {args.classes}, {workers} process(es): median "
                f"{statistics.median(seconds):.1f} s (min {min(seconds):.1f}, "
                f"max {max(seconds):.1f}) over {len(seconds)} renders"
            )
        if cores > 1:
            ratio = statistics.median(times[1]) / statistics.median(times[cores])
            print(f"one process / {cores} processes: {ratio:.2f}x")


if __name__ == "__main__":
    main()
