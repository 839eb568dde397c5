"""Check: a change to the code left every output of a default run unchanged.

``record`` runs ``classsim run`` with default settings on the default demo and on every real set
under ``../shared/data`` (scores, class file and taxonomy as a new user would give them) and
keeps the results directories; ``compare`` says, file by file, whether two recordings are equal:

- arrays (``.npy``, ``.npz``) and ``classes.csv``: byte for byte; where not, the largest
  absolute difference of the arrays is printed too;
- PNG figures: their decoded pixels;
- SVG and PDF figures: their bytes (classsim writes them without a date, with fixed ids);
- ``run.json``, ``groups.json`` and ``order-*.json``: their content without what a run cannot
  repeat (timings, versions, the output path).

    .venv/bin/python benchmarks/identity.py record /tmp/before     # on the old code
    .venv/bin/python benchmarks/identity.py record /tmp/after      # on the new code
    .venv/bin/python benchmarks/identity.py compare /tmp/before /tmp/after

``compare`` exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLASSSIM = [sys.executable, "-m", "classsim_spark.cli"]

VOLATILE_KEYS = {"created", "timings_s", "versions", "started", "updated", "pid", "host"}
"""JSON keys whose values no two runs share."""


def real_sets() -> dict[str, Path]:
    """Every folder under ../shared/data with scores.parquet and classes.csv, by relative name."""
    return {
        str(p.parent.relative_to(DATA)): p.parent
        for p in sorted(DATA.rglob("scores.parquet"))
        if (p.parent / "classes.csv").is_file()
    }


def record(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=False)
    runs = {"demo": CLASSSIM + ["demo", "--dir", str(out / "demo")]}
    for name, folder in real_sets().items():
        runs[name] = CLASSSIM + [
            "run",
            "--input",
            str(folder / "scores.parquet"),
            "--classes",
            str(folder / "classes.csv"),
            "--taxonomy",
            str(folder / "classes.csv"),
            "--out",
            str(out / name.replace("/", "-")),
        ]
    for name, cmd in runs.items():
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{name}: classsim failed ({done.returncode}):\n{done.stderr[-3000:]}")
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)


def _results_dirs(base: Path) -> dict[str, Path]:
    return {
        str(p.parent.relative_to(base)): p.parent
        for p in sorted(base.rglob("run.json"))
        if "figures" not in p.parts
    }


def _strip(value, out_dir: str):
    if isinstance(value, dict):
        return {k: _strip(v, out_dir) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(v, out_dir) for v in value]
    if isinstance(value, str):
        return value.replace(out_dir, "<out>")
    return value


def _arrays(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npy":
        return {"": np.load(path, allow_pickle=False)}
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _fingerprint(path: Path, base: Path) -> str:
    """What must be equal for ``path`` (recorded under ``base``) to count as unchanged."""
    data = path.read_bytes()
    if path.suffix == ".json":
        content = _strip(json.loads(data), str(base))
        data = json.dumps(content, sort_keys=True).encode()
    elif path.suffix == ".png":
        import matplotlib.image as mpimg

        pixels = mpimg.imread(io.BytesIO(data), format="png")
        data = pixels.tobytes() + str(pixels.shape).encode()
    return hashlib.sha256(data).hexdigest()


def _array_difference(a: Path, b: Path) -> str:
    try:
        left, right = _arrays(a), _arrays(b)
    except (ValueError, OSError, zipfile.BadZipFile):
        return ""
    if left.keys() != right.keys():
        return f"arrays {sorted(left)} vs {sorted(right)}"
    worst = 0.0
    for key in left:
        if left[key].shape != right[key].shape:
            return f"shape {left[key].shape} vs {right[key].shape}"
        if left[key].dtype.kind in "fiu":
            diff = np.abs(left[key].astype(np.float64) - right[key].astype(np.float64))
            worst = max(worst, float(diff.max(initial=0.0)))
    return f"max |difference| {worst:.3g}"


def compare(a: Path, b: Path) -> int:
    left, right = _results_dirs(a), _results_dirs(b)
    differing = 0
    for name in sorted(set(left) | set(right)):
        if name not in left or name not in right:
            print(f"{name}: only in {a if name in left else b}")
            differing += 1
            continue
        files_a = {p.relative_to(left[name]) for p in left[name].rglob("*") if p.is_file()}
        files_b = {p.relative_to(right[name]) for p in right[name].rglob("*") if p.is_file()}
        problems = [f"only on one side: {f}" for f in sorted(files_a ^ files_b)]
        for f in sorted(files_a & files_b):
            pa, pb = left[name] / f, right[name] / f
            if _fingerprint(pa, a) != _fingerprint(pb, b):
                problems.append(f"{f} differs {_array_difference(pa, pb)}".rstrip())
        same = len(files_a & files_b) - sum(1 for p in problems if "differs" in p)
        print(f"{name}: {same} of {len(files_a | files_b)} files identical")
        for p in problems:
            print(f"    {p}")
        differing += len(problems)
    print("identical" if not differing else f"{differing} differences")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run classsim on the demo and every real set")
    rec.add_argument("out", type=Path)
    cmp_ = sub.add_parser("compare", help="compare two recordings file by file")
    cmp_.add_argument("a", type=Path)
    cmp_.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        record(args.out)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
