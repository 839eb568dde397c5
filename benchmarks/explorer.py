"""explorer.html at m classes: its size, the time to write it, to open it in headless Chromium,
and the time the page takes per hover and per zoom step (its frame time), medians of repeats.

    python benchmarks/explorer.py                 # m = 300 and 3,755
    python benchmarks/explorer.py 300 1000 3755

The results directories come from the demo generator through the numpy reference (no Spark):
the page depends on m, not on the number of samples, so 20,000 samples stand for any n.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from classsim_spark.analysis import analyze
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.render.explorer import write_explorer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
OPENS = 3
EVENTS = 30

FRAMES = """([kind, n]) => {
  const overlay = document.getElementById("overlay");
  const g = window.classsimExplorer.geometry;
  const box = overlay.getBoundingClientRect();
  const times = [];
  for (let k = 0; k < n; k++) {
    const x = box.left + g.left + ((k * 37) % g.size), y = box.top + g.top + ((k * 53) % g.size);
    const event = kind === "hover"
      ? new MouseEvent("mousemove", {clientX: x, clientY: y, bubbles: true})
      : new WheelEvent("wheel", {clientX: x, clientY: y, deltaY: k < n / 2 ? -120 : 120,
                                 bubbles: true, cancelable: true});
    const t0 = performance.now();
    overlay.dispatchEvent(event);
    times.push(performance.now() - t0);
  }
  return times;
}"""


def spec(m: int) -> DemoSpec:
    top, mid = (8, 120) if m >= 1000 else (6, 25)
    return DemoSpec(samples=20_000, classes=m, top_groups=top, mid_groups=mid, seed=0)


def measure(m: int, browser, work: Path) -> dict:
    start = time.perf_counter()
    path, taxonomy = numpy_results(
        generate(spec(m)), work / f"m{m}", ("logit", "probability", "rank")
    )
    analyze(path, taxonomy=taxonomy)
    prepared = time.perf_counter() - start
    start = time.perf_counter()
    page_file = write_explorer(path)
    written = time.perf_counter() - start
    opens, hovers, zooms = [], [], []
    for _ in range(OPENS):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(page_file.resolve().as_uri())
        page.evaluate("window.classsimExplorer.ready")
        opens.append(time.perf_counter() - start)
        hovers += page.evaluate(FRAMES, ["hover", EVENTS])
        zooms += page.evaluate(FRAMES, ["zoom", EVENTS])
        page.close()
    return {
        "m": m,
        "MB": page_file.stat().st_size / 1e6,
        "prepare s": prepared,
        "write s": written,
        "open s": statistics.median(opens),
        "hover ms": statistics.median(hovers),
        "hover max ms": max(hovers),
        "zoom ms": statistics.median(zooms),
        "zoom max ms": max(zooms),
    }


def main(sizes: list[int]) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows = [measure(m, browser, Path(tmp)) for m in sizes]
        browser.close()
    keys = list(rows[0])
    print("  ".join(f"{k:>12}" for k in keys))
    for row in rows:
        print(
            "  ".join(
                f"{row[k]:>12.2f}" if isinstance(row[k], float) else f"{row[k]:>12}" for k in keys
            )
        )
    print(f"(open: median of {OPENS}; frame times: medians and maxima of {OPENS * EVENTS} events)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [300, 3755])
