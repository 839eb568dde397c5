"""Benchmark: how well the default analysis recovers the known taxonomies of real classifiers.

For every real set (a folder with ``scores.parquet`` and ``classes.csv``, by default every one
under ``../shared/data/``) it computes the similarity matrices exactly as the scan does
(:func:`classsim_spark.core.transforms.transform_block` and
:class:`classsim_spark.core.moments.Moments`,
tested equal to the Spark scan to 1e-9), runs the default analysis exactly as ``classsim run``
does (:func:`classsim_spark.analysis.analyze`, default options) and builds the tree of every
candidate combination (transform x distance x linkage, plus the raw logits that the method
paper correlated). Each tree is scored against every taxonomy level
(:func:`classsim_spark.core.taxonomy.agreement`): ARI and NMI of the tree cut into as many groups
as the level has, dendrogram purity, and the correlation of its cophenetic distances with the
taxonomy distance.

One draw of the data is a noisy judge (20news: the paper's complete-linkage tree cuts to ARI
0.67 at the top level on the full data and to 0.43 on average over bootstrap resamples), so
every score is the mean over the full data and ``--replicates`` bootstrap resamples of the
samples. Data sets count equally: the four CIFAR-100 models (one data set, four classifiers)
are averaged into one before the mean over data sets.

Rules compared (none sees the taxonomy): the default (``classsim run``), the previous default
(``normality>cophenetic`` on raw logits), the paper's recipe (raw logits, ``1-r``, complete),
every fixed combination, and the best combination per set (an oracle). Leave-one-data-set-out:
for each data set, the rule with the best mean over the *other* data sets is picked among the
fixed combinations and the criteria, and scored on the held-out one.

    .venv/bin/python benchmarks/fidelity.py                      # every set in ../shared/data
    .venv/bin/python benchmarks/fidelity.py DIR [DIR ...] --replicates 5 --json out.json

Prints one table (default vs paper vs best fixed vs per-set best, per set and means, and the
leave-one-data-set-out table) and writes everything to ``--json``
(default ``benchmarks/out/fidelity.json``).
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.special import logsumexp

from classsim_spark.analysis import analyze
from classsim_spark.core import seriation
from classsim_spark.core import taxonomy as tax_mod
from classsim_spark.core.moments import Moments
from classsim_spark.core.transforms import TRANSFORMS, ScoreSpec, transform_block
from classsim_spark.io.records import RunRecord
from classsim_spark.io.results import SimilarityResult
from classsim_spark.io.taxonomy_file import RESERVED_COLUMNS, read_taxonomy

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ALTERNATIVE_VIEWS = ("log-probability", "centred logit")
"""Log views of a softmax model that classsim does not compute, scored beside its transforms:
logits minus their row's log-sum-exp, and logits minus their row mean (the centred log-ratio).
Both are the same whatever the model logged; docs/seriation.md says why neither is the default."""
PAPER = ("logit", "1-r", "complete")
PREVIOUS_PREFIX = "previous default (criterion"
PREVIOUS = f"{PREVIOUS_PREFIX} normality>cophenetic)"
DEFAULT = "default (classsim run)"
DEFAULT_CRITERION = inspect.signature(analyze).parameters["criterion"].default
ORACLE = "per-set best (oracle)"
METRICS = ("mean_ari", "top_ari", "mean_nmi", "purity", "cophenetic")
PRIMARY = "mean_ari"
"""The judge: ARI averaged over the levels of each taxonomy (every grouping the data set defines,
not one cut), then over replicates, then over data sets."""


@dataclass
class RealSet:
    """One classifier output with its taxonomy."""

    name: str
    dataset: str
    scores: np.ndarray  # (n, m) as logged
    labels: np.ndarray | None
    classes: list[str]
    kind: str  # "logits" or "log-probabilities"
    taxonomy: tax_mod.Taxonomy
    taxonomy_file: Path


def discover(roots: list[Path]) -> list[Path]:
    """Folders holding ``scores.parquet`` and ``classes.csv``, at or below each root."""
    found = []
    for root in roots:
        for scores in sorted(root.rglob("scores.parquet")):
            if (scores.parent / "classes.csv").is_file():
                found.append(scores.parent)
    return found


def level_columns(path: Path, m: int) -> list[str]:
    """Taxonomy levels of a class file: every column that groups the classes into 2..m-1 groups,
    in file order (coarse to fine), a column repeating an earlier grouping dropped."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    levels, seen = [], set()
    for column in rows[0]:
        if column in RESERVED_COLUMNS:
            continue
        values = [row[column] for row in rows]
        first = {}
        partition = tuple(first.setdefault(v, len(first)) for v in values)
        if 2 <= len(first) < m and partition not in seen:
            levels.append(column)
            seen.add(partition)
    return levels


def load(folder: Path, root: Path) -> RealSet:
    table = pq.read_table(folder / "scores.parquet")
    flat = table.column("scores").combine_chunks().flatten()
    scores = np.asarray(flat, dtype=np.float64).reshape(table.num_rows, -1)
    labels = np.asarray(table.column("label")) if "label" in table.column_names else None
    with open(folder / "classes.csv", newline="", encoding="utf-8-sig") as fh:
        classes = [row["name"] for row in csv.DictReader(fh)]
    levels = level_columns(folder / "classes.csv", len(classes))
    taxonomy = read_taxonomy(folder / "classes.csv", classes, levels)
    # Log-probabilities when every row's exponentials sum to 1 (a user would say so with
    # --scores log-probabilities); the logit view is the same either way.
    kind = "log-probabilities" if np.abs(logsumexp(scores, axis=1)).max() < 1e-3 else "logits"
    relative = folder.relative_to(root) if folder.is_relative_to(root) else Path(folder.name)
    return RealSet(
        str(relative),
        relative.parts[0],
        scores,
        labels,
        classes,
        kind,
        taxonomy,
        folder / "classes.csv",
    )


def moments(s: RealSet, rows: np.ndarray | None) -> dict[str, Moments]:
    """Moments of every transform and alternative view over ``rows`` (None: all rows)."""
    x = s.scores if rows is None else s.scores[rows]
    spec = ScoreSpec(s.kind)
    out = {t: Moments.from_block(transform_block(x, t, spec)) for t in TRANSFORMS}
    logit = transform_block(x, "logit", spec)
    out["log-probability"] = Moments.from_block(logit - logsumexp(logit, axis=1, keepdims=True))
    out["centred logit"] = Moments.from_block(logit - logit.mean(axis=1, keepdims=True))
    return out


def agreement_scores(Z: np.ndarray, taxonomy: tax_mod.Taxonomy) -> dict[str, float]:
    a = tax_mod.agreement(Z, taxonomy)
    levels = a["levels"]
    purities = [lv["dendrogram_purity"] for lv in levels if lv["dendrogram_purity"] is not None]
    return {
        "mean_ari": float(np.mean([lv["ari"] for lv in levels])),
        "top_ari": levels[0]["ari"],
        "mean_nmi": float(np.mean([lv["nmi"] for lv in levels])),
        "purity": float(np.mean(purities)) if purities else float("nan"),
        "cophenetic": a["cophenetic_correlation"],
        "levels": {lv["level"]: lv["ari"] for lv in levels},
    }


def combinations(views=TRANSFORMS) -> list[tuple[str, str, str]]:
    return [(t, d, link) for t in views for d in seriation.DISTANCES for link in seriation.LINKAGES]


def criterion_picks(matrices: dict[str, np.ndarray]) -> dict[str, tuple[str, str, str]]:
    """What each unsupervised rule picks from one replicate's matrices."""
    views = {t: matrices[t] for t in TRANSFORMS}
    picks = {}
    for criterion in seriation.CRITERIA:
        chosen, _ = seriation.choose(views, criterion=criterion)
        rule = DEFAULT if criterion == DEFAULT_CRITERION else f"{PREVIOUS_PREFIX} {criterion})"
        picks[rule] = (chosen["transform"], chosen["distance"], chosen["linkage"])
    return picks


def evaluate_set(s: RealSet, replicates: int, seed: int) -> dict:
    """Scores of every combination and rule on the full data and each bootstrap replicate."""
    rng = np.random.default_rng(seed)
    n = s.scores.shape[0]
    per_replicate = []
    default_check = None
    for b in range(replicates + 1):
        rows = None if b == 0 else rng.integers(0, n, n)
        mo = moments(s, rows)
        matrices = {t: m.correlation().matrix for t, m in mo.items()}
        trees = {}
        for combo in combinations((*TRANSFORMS, *ALTERNATIVE_VIEWS)):
            t, d, link = combo
            trees[combo] = seriation.hclust(matrices[t], d, link, optimal_ordering="none").Z
        scores = {"|".join(c): agreement_scores(Z, s.taxonomy) for c, Z in trees.items()}
        picks = criterion_picks(matrices)
        if b == 0:
            default_check = _default_analysis(s, mo, matrices, picks)
        per_replicate.append(
            {"scores": scores, "picks": {k: "|".join(v) for k, v in picks.items()}}
        )
    return {"replicates": per_replicate, "default_analysis": default_check}


def _default_analysis(s: RealSet, mo: dict, matrices: dict, picks: dict) -> dict:
    """Run :func:`analyze` with its defaults, as ``classsim run`` does after the scan."""
    n = s.scores.shape[0]
    counts = {}
    if s.labels is not None:
        m = len(s.classes)
        confusion = np.zeros((m, m), dtype=np.int64)
        np.add.at(confusion, (s.labels, s.scores.argmax(axis=1)), 1)
        counts = {"confusion": confusion, "frequencies": np.bincount(s.labels, minlength=m)}
    res = SimilarityResult(
        s.classes,
        {t: mo[t] for t in TRANSFORMS},
        {t: matrices[t] for t in TRANSFORMS},
        run=RunRecord(list(TRANSFORMS), n=n, m=len(s.classes)),
        counts=counts,
    )
    start = time.perf_counter()
    analysis = analyze(
        res, taxonomy=s.taxonomy_file, taxonomy_levels=list(s.taxonomy.levels), write=False
    )
    chosen = analysis.chosen
    combo = (chosen["transform"], chosen["distance"], chosen["linkage"])
    expected = picks[DEFAULT]
    if combo != expected:
        raise AssertionError(f"{s.name}: analyze chose {combo}, choose() {expected}")
    Z = analysis.seriations[chosen["transform"]].Z
    return {
        "combination": "|".join(combo),
        "seconds": time.perf_counter() - start,
        "scores": agreement_scores(Z, s.taxonomy),
        "blocks": len(analysis.groups["blocks"]),
        "split_groups": len(analysis.groups["split_groups"]),
        "failed_groups": len(analysis.groups["failed_groups"]),
        "near_duplicates": len(analysis.groups["near_duplicates"]),
    }


# ------------------------------------------------------------------------------ aggregation


def rule_scores(results: dict[str, dict]) -> dict[str, dict[str, dict[str, float]]]:
    """rule -> set -> metric -> mean over replicates (the full data counts as one replicate)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, res in results.items():
        reps = res["replicates"]
        rules = {
            "|".join(c): ["|".join(c)] * len(reps)
            for c in combinations((*TRANSFORMS, *ALTERNATIVE_VIEWS))
        }
        for key in reps[0]["picks"]:
            rules[key] = [r["picks"][key] for r in reps]
        for rule, combos in rules.items():
            out.setdefault(rule, {})[name] = {
                metric: float(
                    np.nanmean([r["scores"][c][metric] for r, c in zip(reps, combos, strict=True)])
                )
                for metric in METRICS
            }
            out[rule][name]["full_data_top_ari"] = reps[0]["scores"][combos[0]]["top_ari"]
    return out


def by_dataset(per_set: dict[str, float], datasets: dict[str, str]) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for name, value in per_set.items():
        groups.setdefault(datasets[name], []).append(value)
    return {d: float(np.mean(v)) for d, v in groups.items()}


def mean_over_datasets(
    rule: dict[str, dict[str, float]],
    datasets: dict[str, str],
    metric: str,
    exclude: str | None = None,
) -> float:
    values = by_dataset({s: v[metric] for s, v in rule.items()}, datasets)
    return float(np.mean([v for d, v in values.items() if d != exclude]))


def leave_one_dataset_out(scores: dict, datasets: dict[str, str]) -> list[dict]:
    """Per held-out data set: the rule best on the others, and its held-out score."""
    alternative = {"|".join(c) for c in combinations(ALTERNATIVE_VIEWS)}
    candidates = [r for r in scores if r not in (DEFAULT, ORACLE) and r not in alternative]
    folds = []
    for held_out in sorted(set(datasets.values())):
        train = {
            r: mean_over_datasets(scores[r], datasets, PRIMARY, exclude=held_out)
            for r in candidates
        }
        picked = max(train, key=train.get)
        held = {
            r: by_dataset({s: v[PRIMARY] for s, v in scores[r].items()}, datasets)[held_out]
            for r in (picked, DEFAULT, "|".join(PAPER))
        }
        folds.append(
            {
                "held_out": held_out,
                "picked": picked,
                "picked_train": train[picked],
                "picked_held_out": held[picked],
                "default_held_out": held[DEFAULT],
                "paper_held_out": held["|".join(PAPER)],
            }
        )
    return folds


def report(results: dict, sets: list[RealSet], replicates: int) -> dict:
    datasets = {s.name: s.dataset for s in sets}
    scores = rule_scores(results)
    fixed = ["|".join(c) for c in combinations()]
    best_fixed = max(fixed, key=lambda r: mean_over_datasets(scores[r], datasets, PRIMARY))
    paper = "|".join(PAPER)
    names = [s.name for s in sets]
    per_set_best = {n: max(fixed, key=lambda r, n=n: scores[r][n][PRIMARY]) for n in names}
    folds = leave_one_dataset_out(scores, datasets)  # before the oracle joins the rules
    scores[ORACLE] = {n: scores[per_set_best[n]][n] for n in names}
    rows = [
        DEFAULT,
        PREVIOUS,
        paper,
        best_fixed,
        ORACLE,
        *("|".join((v, "1-r", "average")) for v in ALTERNATIVE_VIEWS),
    ]

    print(
        f"\nScores: mean over the full data and {replicates} bootstrap replicates. "
        f"mean_ari = ARI averaged over each taxonomy's levels (the judge); top_ari = ARI at "
        f"the coarsest level. Means over data sets count the CIFAR-100 models as one.\n"
    )
    for metric in (PRIMARY, "top_ari", "mean_nmi", "purity", "cophenetic"):
        print(f"### {metric}\n")
        print("| rule | " + " | ".join(names) + " | mean (sets) | mean (data sets) |")
        print("|---|" + "---:|" * (len(names) + 2))
        for r in rows:
            label = r if r not in fixed else r.replace("|", " · ")
            if r == best_fixed:
                label = f"best fixed: {label}"
            if r == paper:
                label = f"paper: {label}"
            if r.split("|")[0] in ALTERNATIVE_VIEWS:
                label = f"(not computed by classsim) {label}"
            vals = [scores[r][n][metric] for n in names]
            print(
                f"| {label} | "
                + " | ".join(f"{v:.3f}" for v in vals)
                + f" | {np.mean(vals):.3f} | "
                f"{mean_over_datasets(scores[r], datasets, metric):.3f} |"
            )
        print()
    print("### top_ari on the full data alone (one draw, as the issue first measured it)\n")
    print("| rule | " + " | ".join(names) + " | mean (sets) | mean (data sets) |")
    print("|---|" + "---:|" * (len(names) + 2))
    for r in rows[:4]:
        vals = [scores[r][n]["full_data_top_ari"] for n in names]
        print(
            f"| {r.replace('|', ' · ')} | "
            + " | ".join(f"{v:.3f}" for v in vals)
            + f" | {np.mean(vals):.3f} | "
            f"{mean_over_datasets(scores[r], datasets, 'full_data_top_ari'):.3f} |"
        )
    print()
    print(
        "per-set best: " + ", ".join(f"{n}: {per_set_best[n].replace('|', ' · ')}" for n in names)
    )

    print("\n### top fixed combinations by mean_ari (mean over data sets)\n")
    ranked = sorted(fixed, key=lambda r: -mean_over_datasets(scores[r], datasets, PRIMARY))
    for r in ranked[:8]:
        mean_ari = mean_over_datasets(scores[r], datasets, PRIMARY)
        top_ari = mean_over_datasets(scores[r], datasets, "top_ari")
        print(f"  {r.replace('|', ' · '):34s} mean_ari {mean_ari:.3f}  top_ari {top_ari:.3f}")

    print("\n### leave-one-data-set-out (mean_ari)\n")
    print("| held out | picked on the others | its score there | default | paper |")
    print("|---|---|---:|---:|---:|")
    for f in folds:
        print(
            f"| {f['held_out']} | {f['picked'].replace('|', ' · ')} | "
            f"{f['picked_held_out']:.3f} | {f['default_held_out']:.3f} | "
            f"{f['paper_held_out']:.3f} |"
        )
    lodo = float(np.mean([f["picked_held_out"] for f in folds]))
    print(
        f"| mean | | {lodo:.3f} | {np.mean([f['default_held_out'] for f in folds]):.3f} | "
        f"{np.mean([f['paper_held_out'] for f in folds]):.3f} |"
    )

    default_mean = mean_over_datasets(scores[DEFAULT], datasets, PRIMARY)
    checks = {
        "default_beats_paper": default_mean > mean_over_datasets(scores[paper], datasets, PRIMARY),
        "default_at_least_best_fixed": default_mean
        >= mean_over_datasets(scores[best_fixed], datasets, PRIMARY) - 1e-12,
        "worst_set_vs_paper": min(
            scores[DEFAULT][n][PRIMARY] - scores[paper][n][PRIMARY] for n in names
        ),
        "worst_set_vs_paper_top_ari": min(
            scores[DEFAULT][n]["top_ari"] - scores[paper][n]["top_ari"] for n in names
        ),
    }
    print(f"\nchecks: {json.dumps(checks)}")
    return {
        "scores": scores,
        "best_fixed": best_fixed,
        "per_set_best": per_set_best,
        "leave_one_dataset_out": folds,
        "checks": checks,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folders", nargs="*", type=Path, help=f"real sets or folders of them (default {DATA})"
    )
    parser.add_argument(
        "--replicates",
        type=int,
        default=20,
        help="bootstrap resamples of the samples per set (default 20)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "fidelity.json")
    args = parser.parse_args(argv)
    logging.getLogger("classsim").setLevel(logging.WARNING)
    roots = args.folders or [DATA]
    folders = discover(roots)
    if not folders:
        raise SystemExit(f"no real sets (scores.parquet + classes.csv) under {roots}")
    common = DATA if not args.folders else Path(*_common_parts(folders))
    start = time.perf_counter()
    sets, results = [], {}
    for folder in folders:
        s = load(folder, common)
        t0 = time.perf_counter()
        results[s.name] = evaluate_set(s, args.replicates, args.seed)
        sets.append(s)
        levels = ", ".join(f"{lv} ({s.taxonomy.n_groups(lv)})" for lv in s.taxonomy.levels)
        d = results[s.name]["default_analysis"]
        print(
            f"{s.name}: {s.scores.shape[0]:,} x {len(s.classes)} {s.kind}, levels {levels}; "
            f"default {d['combination'].replace('|', ' · ')} ({d['blocks']} blocks, "
            f"{d['split_groups']} split, {d['failed_groups']} failed groups, "
            f"{d['near_duplicates']} near-duplicates; analyze {d['seconds']:.1f} s); "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    summary = report(results, sets, args.replicates)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "replicates": args.replicates,
                "seed": args.seed,
                "primary": PRIMARY,
                "sets": {
                    s.name: {
                        "dataset": s.dataset,
                        "n": s.scores.shape[0],
                        "m": len(s.classes),
                        "kind": s.kind,
                        "levels": list(s.taxonomy.levels),
                        "default_analysis": results[s.name]["default_analysis"],
                        "picks": [r["picks"] for r in results[s.name]["replicates"]],
                    }
                    for s in sets
                },
                **summary,
            },
            indent=1,
            default=float,
        )
        + "\n"
    )
    print(f"wrote {args.json}")


def _common_parts(folders: list[Path]) -> tuple[str, ...]:
    parts = [f.resolve().parent.parts for f in folders]
    common = []
    for items in zip(*parts, strict=False):
        if len(set(items)) != 1:
            break
        common.append(items[0])
    return tuple(common) or ("/",)


if __name__ == "__main__":
    main()
