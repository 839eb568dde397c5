"""Benchmark: the full figure set of a results directory at large m (issue 4: m = 3,755).

Builds a results directory without Spark (demo latent model, numpy statistics, a confusion
matrix from the demo labels), analyses it with the demo taxonomy, then times every figure
(layout + drawing + PNG + SVG) the way ``classsim render`` writes them. Prints one line per
figure and the total; medians over ``--repeat`` renders.

    .venv/bin/python benchmarks/figures.py                 # m = 3755
    .venv/bin/python benchmarks/figures.py --classes 300   # quick
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from classsim_spark.analysis import analyze  # noqa: E402
from classsim_spark.demo_data import DemoSpec, generate, numpy_results  # noqa: E402
from classsim_spark.render.figures import figure_makers  # noqa: E402
from classsim_spark.render.heatmap import save_figure  # noqa: E402
from classsim_spark.results import SimilarityResult  # noqa: E402


def build(base: Path, samples: int, classes: int) -> tuple[Path, Path]:
    spec = DemoSpec(samples=samples, classes=classes, top_groups=12,
                    mid_groups=max(25, classes // 12), seed=0)
    return numpy_results(generate(spec), base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=3755)
    parser.add_argument("--samples", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        start = time.perf_counter()
        path, taxonomy = build(base, args.samples, args.classes)
        print(f"results dir {args.samples} x {args.classes}: {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        analyze(path, taxonomy=taxonomy, taxonomy_levels="level1,level2")
        print(f"analyze: {time.perf_counter() - start:.1f} s")
        result = SimilarityResult.load(path)
        totals = []
        for _ in range(args.repeat):
            times = {}
            for name, make in figure_makers(result).items():
                t0 = time.perf_counter()
                fig = make()
                for suffix in ("png", "svg"):
                    save_figure(fig, base / f"{name}.{suffix}")
                size = fig.canvas.get_width_height()
                plt.close(fig)
                times[name] = (time.perf_counter() - t0, size)
            totals.append(sum(t for t, _ in times.values()))
        for name, (seconds, (w, h)) in times.items():
            print(f"  {name:22s} {seconds:6.2f} s  {w} x {h} px  (last run)")
        print(f"full figure set, m = {args.classes}: median {statistics.median(totals):.1f} s "
              f"(min {min(totals):.1f}, max {max(totals):.1f}) over {len(totals)} renders")


if __name__ == "__main__":
    main()
