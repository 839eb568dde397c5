"""Structure analysis of a results directory: seriation, groups, taxonomy agreement (no Spark).

:func:`analyze` reopens what a similarity run wrote, chooses the transform, distance and linkage
(:func:`classsim_spark.core.seriation.choose`, unless fixed), orders the classes, finds the
structure (:mod:`classsim_spark.core.structure`) and, given a taxonomy, measures how well the
learned tree and the label baselines agree with it (:mod:`classsim_spark.core.taxonomy`). It adds
to the directory::

    groups.json               every finding with its numbers (schema below)
    order-<t>.json            the hclust order of transform t, with spectral/taxonomy/given orders
    linkage-<t>.npy           the tree of transform t (chosen distance and linkage)
    linkage-<kind>.npy        with a taxonomy: the tree of the label baseline ``confusion`` or
                              ``cooccurrence`` (``core.taxonomy.linkage_from_matrix``), which
                              the figures reuse
    memberships.npy           fuzzy c-means memberships (m x c) behind the failed groups

``groups.json`` (``"schema": "classsim.groups/1"``) is
:class:`~classsim_spark.io.records.GroupsRecord`'s file: the chosen combination and every
candidate's scores, the chosen transform's order, the findings (records of
:mod:`classsim_spark.core.findings`, documented by the function that makes each), their stability,
the taxonomy agreement and the phase timings.

Each file is written to a temporary name and renamed, ``groups.json`` last: an interrupted
analysis never leaves a ``groups.json`` that disagrees with the orders beside it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from classsim_spark import processes
from classsim_spark.core import seriation, stability, structure
from classsim_spark.core import taxonomy as tax_mod
from classsim_spark.io.order_file import read_order_file
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import (
    GROUPS_FILE,
    MEMBERSHIPS_FILE,
    ResultsExistError,
    SimilarityResult,
    linkage_file,
    remember,
    save_npy_atomically,
    stage,
    stage_done,
    write_text_atomically,
)
from classsim_spark.io.results import (
    order_file as order_file_name,
)
from classsim_spark.io.taxonomy_file import read_taxonomy
from classsim_spark.progress import PhaseTimer

log = logging.getLogger("classsim")

BASELINES = ("confusion", "cooccurrence")
"""The label-based matrices whose trees the taxonomy agreement measures (when present)."""


@dataclass
class Analysis:
    """What :func:`analyze` found.

    Attributes
    ----------
    record : GroupsRecord
        The findings and their numbers, as written to ``groups.json``.
    seriations : dict
        Transform -> :class:`~classsim_spark.core.seriation.Seriation` (hclust, chosen parameters).
    memberships : ndarray or None
        Fuzzy c-means memberships (m x c) of the chosen transform's classes.
    path : Path or None
        The results directory written to.
    """

    record: GroupsRecord
    seriations: dict
    memberships: np.ndarray | None
    path: Path | None = None

    @property
    def groups(self) -> dict:
        """The content of ``groups.json`` (plain JSON data)."""
        return self.record.to_json()

    @property
    def chosen(self) -> dict:
        """The chosen transform, distance, linkage and the criterion's scores."""
        return self.record.chosen


def analyze(
    results: SimilarityResult | str | Path,
    *,
    taxonomy: str | Path | None = None,
    taxonomy_levels: list[str] | str | None = None,
    transform: str = "auto",
    distance: str = "auto",
    linkage: str = "auto",
    criterion: str = "fixed",
    clip_negative: bool = False,
    order_file: str | Path | None = None,
    fuzzy_groups: int | None = None,
    core: float = 0.5,
    seed: int = 0,
    stability_resamples: int = stability.DEFAULT_RESAMPLES,
    write: bool = True,
    overwrite: bool = False,
) -> Analysis:
    """Find the groups a classifier has learned, from a results directory.

    Parameters
    ----------
    results : SimilarityResult or path
        A similarity result, or the directory it was saved to.
    taxonomy : path, optional
        Taxonomy CSV (``name`` or ``class_id`` column plus one column per level, coarse to fine).
    taxonomy_levels : list or comma-separated str, optional
        Which level columns to use, coarse to fine.
    transform, distance, linkage : str
        ``"auto"`` lets the unsupervised criterion choose; a name fixes that dimension.
    criterion : {"fixed", "normality>cophenetic"}
        How ``"auto"`` dimensions are chosen (:func:`classsim_spark.core.seriation.choose`): by
        default ``logit``, ``1-r``, ``average``, the combination that recovered real
        taxonomies best (docs/seriation.md).
    clip_negative : bool
        Treat negative similarities as 0 (sharper blocks).
    order_file : path, optional
        An extra display order (JSON list or one class name per line), exported beside the
        hclust order.
    fuzzy_groups : int, optional
        Number of fuzzy c-means groups; default: chosen by the Xie-Beni index.
    core : float
        Membership from which a class is a core member of a fuzzy group.
    seed : int
        Seed of fuzzy c-means, of the candidate subset for very large m and of the resamples.
    stability_resamples : int
        When the results hold the chosen transform's statistics in parts of the rows
        (``similarity(stability_parts=...)``), re-run the analysis on this many subsamples of
        about half the rows and give every finding a ``stability`` in [0, 1]
        (:mod:`classsim_spark.core.stability`); 0 skips it.
    write : bool
        Write ``groups.json`` and the order/linkage files into the results directory.
    overwrite : bool
        Replace an earlier analysis in that directory.

    Returns
    -------
    Analysis
    """
    res = results if isinstance(results, SimilarityResult) else SimilarityResult.load(results)
    path = res.path
    if write:
        if path is None:
            raise ValueError("save the similarity result first (out=...), or pass write=False")
        # Files of an analysis that did not finish are replaced without being asked.
        if (path / GROUPS_FILE).exists() and not overwrite and stage_done(path, "analyze"):
            raise ResultsExistError(
                f"{path / GROUPS_FILE} exists; pass --overwrite to replace the earlier analysis"
            )
    timer = PhaseTimer()
    names = res.classes
    tax = read_taxonomy(taxonomy, names, taxonomy_levels) if taxonomy else None

    # Checked and copied once here; every function below is handed these (read-only) matrices.
    matrices = {
        t: seriation.validate_similarity(M, name=f"similarity-{t}") for t, M in res.matrices.items()
    }
    with timer.phase("choose seriation") as info:
        chosen, candidates = seriation.choose(
            matrices,
            transforms=(transform,) if transform != "auto" else ("auto",),
            distances=(distance,),
            linkages=(linkage,),
            criterion=criterion,
            clip_negative=clip_negative,
            seed=seed,
        )
        info["note"] = (
            f"{chosen['transform']}, {chosen['distance']}, {chosen['linkage']} "
            f"({chosen['criterion']} {chosen['score']:.3f})"
        )

    with timer.phase("seriation"):
        seriations = {
            t: seriation.hclust(
                M,
                distance=chosen["distance"],
                linkage=chosen["linkage"],
                clip_negative=clip_negative,
            )
            for t, M in matrices.items()
        }
        alternatives = _alternative_orders(matrices, res, tax, order_file, chosen, clip_negative)

    t = chosen["transform"]
    M, ser = matrices[t], seriations[t]
    Z, order = ser.Z, ser.order
    with timer.phase("structure") as info:
        block_list = structure.blocks(M, Z, order, names, taxonomy=tax.paths if tax else None)
        found_flames = structure.flames(M, order, block_list, names=names)
        splits = structure.split_groups(M, Z, order, block_list)
        failed, memberships, fuzzy_info = structure.failed_groups(
            M, order, block_list, c=fuzzy_groups, core=core, seed=seed, names=names
        )
        duplicates = structure.near_duplicates(M, names)
        star_list = structure.stars(
            M, names, cooccurrence=res.counts.get("cooccurrence"), block_list=block_list
        )
        info["note"] = (
            f"{len(block_list)} blocks, {len(splits)} split groups, "
            f"{len(failed)} failed groups, {len(duplicates)} near-duplicate pairs"
        )

    stability_report = None
    if stability_resamples and t in res.parts:
        with timer.phase("stability") as info:
            stability_report, scores = _stability(
                res,
                t,
                Z,
                chosen,
                clip_negative,
                names,
                seed,
                stability_resamples,
                findings=(block_list, splits, failed, duplicates, star_list),
                fuzzy_info=fuzzy_info,
            )
            block_list, splits, failed, duplicates, star_list = (
                [replace(finding, stability=value) for finding, value in zip(f, v, strict=True)]
                for f, v in zip(
                    (block_list, splits, failed, duplicates, star_list),
                    scores.values(),
                    strict=True,
                )
            )
            info["note"] = (
                f"{stability_report['resamples']} resamples of "
                f"{stability_report['parts_per_resample']} of "
                f"{stability_report['parts']} parts; tree "
                f"{stability_report['tree']:.2f}, top-level blocks "
                f"{_format_optional(stability_report['top_level_blocks'])}"
            )
    elif stability_resamples:
        log.info(
            "stability: the results hold no parts of %s (stability_parts=0 or an older "
            "run); skipped",
            t,
        )

    taxonomy_report, baseline_trees = None, {}
    if tax is not None:
        with timer.phase("taxonomy agreement"):
            baseline_trees = {
                kind: tax_mod.linkage_from_matrix(res.counts[kind], kind)
                for kind in BASELINES
                if kind in res.counts
            }
            taxonomy_report = _taxonomy_report(tax, seriations, t, taxonomy, baseline_trees)

    record = GroupsRecord(
        results={"n": res.run.n, "m": res.m, "transforms": res.transforms},
        chosen=chosen,
        candidates=candidates,
        order={"transform": t, **ser.to_json(), "classes": [names[i] for i in order]},
        blocks=block_list,
        spans=found_flames,
        split_groups=splits,
        failed_groups=failed,
        fuzzy=fuzzy_info,
        near_duplicates=duplicates,
        stars=star_list,
        stability=stability_report,
        taxonomy=taxonomy_report,
        timings_s=timer.seconds,
    )
    analysis = Analysis(record, seriations, memberships)
    if write:
        with stage(path, "analyze"):
            _write(res, analysis, alternatives, tax, baseline_trees)
        analysis.path = path
    return analysis


def _format_optional(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _stability(
    res, t, Z, chosen, clip_negative, names, seed, resamples, findings, fuzzy_info
) -> tuple[dict, dict[str, list[float]]]:
    """Re-run the analysis of transform ``t`` on subsamples and score every finding.

    Returns the summary for ``groups.json`` and, per kind of finding (``blocks``,
    ``split_groups``, ``failed_groups``, ``near_duplicates``, ``stars``), the stability of each.
    """
    block_list, splits, failed, duplicates, star_list = findings
    parts = res.parts[t]
    subsets = stability.part_subsets(len(parts), resamples, seed)
    cooccurrence = res.counts.get("cooccurrence")
    policy = res.run.zero_variance_policy
    found: dict[str, list] = {
        "blocks": [],
        "splits": [],
        "failed": [],
        "pairs": [],
        "stars": [],
        "trees": [],
    }

    reference = stability.cophenetic(Z)

    def resample(subset) -> tuple[int, dict]:
        """The findings of one subsample (its rows, and each kind's sets)."""
        moments = stability.resample_moments(parts, subset)
        M = seriation.validate_similarity(moments.correlation(policy).matrix)
        ser = seriation.hclust(
            M,
            distance=chosen["distance"],
            linkage=chosen["linkage"],
            clip_negative=clip_negative,
            optimal_ordering="greedy",
        )
        b = structure.blocks(M, ser.Z, ser.order, names)
        member_sets = {x.id: frozenset(x.member_ids) for x in b}
        one = {
            "trees": stability.tree_agreement(reference, ser.Z),
            "blocks": list(member_sets.values()),
            "splits": [
                (member_sets[s.blocks[0]], member_sets[s.blocks[1]])
                for s in structure.split_groups(M, ser.Z, ser.order, b)
            ],
            "pairs": {tuple(d.class_ids) for d in structure.near_duplicates(M, names)},
            "stars": {
                s.class_id
                for s in structure.stars(M, names, cooccurrence=cooccurrence, block_list=b)
            },
        }
        if failed:  # the full data's number of fuzzy groups, not chosen anew
            groups_r, _, _ = structure.failed_groups(
                M, ser.order, b, c=fuzzy_info["c"], seed=seed, names=names
            )
            one["failed"] = [frozenset(g.member_ids) for g in groups_r]
        return moments.n, one

    done = _map_resamples(resample, subsets)
    rows = [n for n, _ in done]
    for _, one in done:
        for key, value in one.items():
            found[key].append(value)

    full_sets = {x.id: frozenset(x.member_ids) for x in block_list}
    scores = {
        "blocks": stability.set_stability(list(full_sets.values()), found["blocks"]),
        "split_groups": stability.split_stability(
            [(full_sets[s.blocks[0]], full_sets[s.blocks[1]]) for s in splits],
            found["splits"],
        ),
        "failed_groups": stability.set_stability(
            [frozenset(g.member_ids) for g in failed], found["failed"]
        ),
        "near_duplicates": stability.item_stability(
            [tuple(d.class_ids) for d in duplicates], found["pairs"]
        ),
        "stars": stability.item_stability([s.class_id for s in star_list], found["stars"]),
    }
    top = [v for b, v in zip(block_list, scores["blocks"], strict=True) if b.level == 1]
    summary = {
        "transform": t,
        "parts": len(parts),
        "part_rows": [p.n for p in parts],
        "parts_per_resample": len(subsets[0]),
        "resamples": len(subsets),
        "rows_per_resample": {"min": int(min(rows)), "max": int(max(rows))},
        "tree": float(np.mean(found["trees"])),
        "top_level_blocks": float(np.mean(top)) if top else None,
        "unstable_below": stability.UNSTABLE_BELOW,
        "unstable": {
            key: sum(v < stability.UNSTABLE_BELOW for v in values) for key, values in scores.items()
        },
    }
    return summary, scores


def _run_resample(subset):
    """One resample in a forked process, by the function its parent handed it."""
    return processes.handed()(subset)


def _map_resamples(resample: Callable, subsets: list) -> list:
    """``[resample(s) for s in subsets]``, one worker per core, each with one BLAS thread.

    The workers are forked processes where :func:`classsim_spark.processes.can_fork` allows
    (most of a resample's analysis holds the GIL: two threads took as long as one), else
    threads of this process (a Spark driver).
    """
    workers = min(len(subsets), os.cpu_count() or 1)
    forked = workers > 1 and processes.can_fork()
    log.info(
        "stability: %d resamples, %d at a time in %s",
        len(subsets),
        workers,
        "forked processes" if forked else "threads" if workers > 1 else "this thread",
    )
    if forked:
        with processes.pool(workers, "fork", resample, threadpool_limits, (1, "blas")) as pool:
            return list(pool.map(_run_resample, subsets))
    with (
        threadpool_limits(1 if workers > 1 else None, user_api="blas"),
        ThreadPoolExecutor(workers) as pool,
    ):
        return list(pool.map(resample, subsets))


def _alternative_orders(
    matrices, res, tax, given_order_file, chosen, clip_negative
) -> dict[str, dict]:
    """Display orders besides the hclust one, per transform: spectral, taxonomy, given."""
    out: dict[str, dict] = {t: {} for t in matrices}
    for t, M in matrices.items():
        out[t]["spectral"] = seriation.spectral(M, clip_negative=True).to_json()
        if tax is not None:
            out[t]["taxonomy"] = seriation.taxonomy_order(
                M,
                tax.paths,
                distance=chosen["distance"],
                linkage=chosen["linkage"],
                clip_negative=clip_negative,
            ).to_json()
        if given_order_file is not None:
            out[t]["given"] = read_order_file(given_order_file, res.classes).to_json()
    return out


def _taxonomy_report(tax, seriations, chosen_transform, taxonomy_path, baseline_trees) -> dict:
    """How well every tree (each transform's, each label baseline's) agrees with ``tax``."""
    distance = tax_mod.taxonomy_distance(tax)  # the same for every tree
    per_transform = {t: tax_mod.agreement(s.Z, tax, distance) for t, s in seriations.items()}
    baselines = {kind: tax_mod.agreement(Z, tax, distance) for kind, Z in baseline_trees.items()}
    return {
        "file": str(taxonomy_path),
        "matched_by": tax.matched_by,
        "levels": list(tax.levels),
        "agreement": per_transform[chosen_transform],
        "by_transform": per_transform,
        "baselines": baselines,
    }


def _write(
    res: SimilarityResult, analysis: Analysis, alternatives: dict, tax, baseline_trees: dict
) -> None:
    """Write the analysis's files; ``res`` remembers what they hold, so that the figures of the
    same command (``classsim run``) parse none of them again. A baseline tree of an earlier
    analysis that this one did not compute is removed (the figures then compute their own)."""
    path, names = res.path, res.classes
    for kind in BASELINES:
        file = path / linkage_file(kind)
        if kind in baseline_trees:
            save_npy_atomically(file, baseline_trees[kind])
            remember(res, file, baseline_trees[kind])
        else:
            file.unlink(missing_ok=True)
    for t, ser in analysis.seriations.items():
        save_npy_atomically(path / linkage_file(t), ser.Z)
        remember(res, path / linkage_file(t), ser.Z)
        order_doc = {
            "transform": t,
            **ser.to_json(),
            "classes": [names[i] for i in ser.order],
            "alternatives": alternatives.get(t, {}),
        }
        text = json.dumps(order_doc, indent=1) + "\n"
        write_text_atomically(path / order_file_name(t), text)
        remember(res, path / order_file_name(t), json.loads(text))
    if analysis.memberships is not None:
        save_npy_atomically(path / MEMBERSHIPS_FILE, analysis.memberships)
    write_text_atomically(path / GROUPS_FILE, json.dumps(analysis.groups, indent=1) + "\n")
    remember(res, path / GROUPS_FILE, analysis.record)
    if tax is not None:
        remember(res, Path(analysis.record.taxonomy["file"]), tax)
