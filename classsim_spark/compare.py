"""``classsim compare A B --out C``: two analysed results side by side, under one order.

Two models on the same data, two time windows, two transforms of one run: :func:`compare` puts
their similarity matrices over their common classes (A's class order; the classes only one has
are listed) under A's order, and measures how far they agree
(:mod:`classsim_spark.core.comparison`): the correlation of the matrices with a permutation
p-value, the cophenetic correlation of their trees, the adjusted Rand index of their trees cut
at A's number of top-level blocks. It ranks every class by how much its row changed, and says
which of A's top-level blocks split or merged in B and which of its second-level blocks moved
to another top-level block.

The comparison directory ``C`` holds ``compare.json`` (all of it), ``figures/compare.png``
(+ ``.svg``): A, B (one colour scale) and A − B (diverging), the most changed classes named, and
``explorer.html``: the three matrices to switch between or put beside one another, zoom, hover
(:func:`classsim_spark.render.explorer.comparison_data`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classsim_spark import __version__
from classsim_spark.core.comparison import (
    cut_agreement,
    group_changes,
    mantel,
    moved_groups,
    row_changes,
    tree_agreement,
)
from classsim_spark.errors import ClasssimError
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import (
    EXPLORER_FILE,
    FIGURES_DIR,
    SimilarityResult,
    atomic_directory,
    foreign_entries,
    load_results,
)
from classsim_spark.render.inputs import read_groups, read_linkage

log = logging.getLogger("classsim")

COMPARE_FILE = "compare.json"
SCHEMA = "classsim.compare/1"
COMPARISON_ENTRIES = re.compile(r"^(compare\.json|figures|explorer\.html|\..+\.tmp(-\w+)?)$")
"""Names a comparison directory may hold."""
NAMED = 12
"""Most changed classes named in the figure."""
CHANGED_LISTED = 50
"""Most changed classes listed on the comparison's page."""


class CompareError(ClasssimError, ValueError):
    """Two results that cannot be compared (no analysis, no common transform or classes)."""


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found (``record`` is ``compare.json``), with the matrices it
    compared (common classes, A's class order) and the order they are shown in."""

    record: dict
    names: list[str]
    a: np.ndarray
    b: np.ndarray
    order: np.ndarray
    path: Path | None = None


def default_permutations(m: int) -> int:
    """Permutations of the Mantel test: 999 up to 1,000 classes, fewer above (each costs a
    pass over the m^2 / 2 pairs): 199 up to 4,000, else 99."""
    return 999 if m <= 1000 else 199 if m <= 4000 else 99


def compare(
    a: str | Path,
    b: str | Path,
    out: str | Path | None = None,
    *,
    transform: str | None = None,
    transform_b: str | None = None,
    permutations: int | None = None,
    overwrite: bool = False,
) -> Comparison:
    """Compare two analysed results directories.

    Parameters
    ----------
    a, b : path
        Results directories, both analysed (``classsim analyze``).
    out : path, optional
        Write the comparison directory here (atomically; an earlier one replaced only with
        ``overwrite``).
    transform : str, optional
        The transform compared (both must have it); default A's chosen transform when B has it,
        else their first common one.
    transform_b : str, optional
        B's transform, when it is another (two transforms of one run: ``compare(a, a,
        transform="logit", transform_b="rank")``); default ``transform``. The blocks compared
        are each side's analysis, made for its chosen transform.
    permutations : int, optional
        Of the Mantel test (default :func:`default_permutations`).

    Returns
    -------
    Comparison

    Raises
    ------
    CompareError
        A side not analysed, no common transform, fewer than 3 common classes.
    """
    ra, rb = load_results(a), load_results(b)
    ga, gb = _groups(ra, a), _groups(rb, b)
    if transform_b is None:
        t = tb = _transform(ra, rb, ga, transform)
    else:  # each side its own transform
        t, tb = transform or ga.transform, transform_b
        for side, name, have in (("A", t, ra.transforms), ("B", tb, rb.transforms)):
            if name not in have:
                raise CompareError(f"transform {name!r} is not in {side} ({have})")
    common = [n for n in ra.classes if n in set(rb.classes)]
    if len(common) < 3:
        raise CompareError(f"{a} and {b} share {len(common)} classes; at least 3 are needed")
    ia = _indices(ra.classes, common)
    ib = _indices(rb.classes, common)
    A = ra.matrix(t)[np.ix_(ia, ia)]
    B = rb.matrix(tb)[np.ix_(ib, ib)]
    m = len(common)
    k = max(2, sum(1 for blk in ga.blocks if blk.level == 1))
    za, zb = _linkage(ra, t, a), _linkage(rb, tb, b)
    permutations = default_permutations(m) if permutations is None else permutations
    r, p = mantel(A, B, permutations=permutations)
    cophenetic = tree_agreement(za, zb, ia, ib)
    ari = cut_agreement(za, zb, k, ia, ib)[0]
    mean_abs, row_r = row_changes(A, B)
    rank = np.argsort(-mean_abs, kind="stable")
    top_a, top_b = _top_blocks(ga, ra.classes, common), _top_blocks(gb, rb.classes, common)
    record = {
        "schema": SCHEMA,
        "classsim_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "a": {"path": str(a), "n": ra.run.n, "m": ra.m, "chosen": ga.transform, "transform": t},
        "b": {"path": str(b), "n": rb.run.n, "m": rb.m, "chosen": gb.transform, "transform": tb},
        "transform": t if tb == t else f"{t} vs {tb}",
        "classes": {
            "common": m,
            "only_in_a": [n for n in ra.classes if n not in set(common)],
            "only_in_b": [n for n in rb.classes if n not in set(common)],
        },
        "agreement": {
            "correlation": round(r, 6),
            "p_value": p,
            "permutations": permutations,
            "cophenetic": round(cophenetic, 6),
            "ari": round(ari, 6),
            "k": k,
        },
        "changed": [
            {
                "name": common[i],
                "mean_abs_change": round(float(mean_abs[i]), 6),
                "row_correlation": None if np.isnan(row_r[i]) else round(float(row_r[i]), 6),
                "block_a": top_a["label_of"].get(i),
                "block_b": top_b["label_of"].get(i),
            }
            for i in rank
        ],
        "blocks": _block_changes(top_a, top_b),
    }
    order = _order(ga, ra.classes, common)
    record["order"] = [common[i] for i in order]  # the common classes as every panel shows them
    result = Comparison(record, common, A, B, order)
    _log(record)
    if out is not None:
        result = _write(result, Path(out), overwrite)
    return result


def _groups(result: SimilarityResult, where) -> GroupsRecord:
    groups = read_groups(result)
    if groups is None:
        raise CompareError(f"{where} is not analysed: run `classsim analyze {where}` first")
    return groups


def _transform(ra, rb, ga: GroupsRecord, transform: str | None) -> str:
    both = [t for t in ra.transforms if t in rb.transforms]
    if transform is not None:
        if transform not in both:
            raise CompareError(
                f"transform {transform!r} is not in both results (A: {ra.transforms}, "
                f"B: {rb.transforms})"
            )
        return transform
    if not both:
        raise CompareError(f"no common transform (A: {ra.transforms}, B: {rb.transforms})")
    return ga.transform if ga.transform in both else both[0]


def _indices(classes: list[str], names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(classes)}
    return np.array([index[n] for n in names], dtype=np.int64)


def _linkage(result: SimilarityResult, t: str, where) -> np.ndarray:
    Z = read_linkage(result, t)
    if Z is None:
        raise CompareError(f"{where} has no tree for {t}: run `classsim analyze {where}` again")
    return Z


def _top_blocks(groups: GroupsRecord, classes: list[str], common: list[str]) -> dict:
    """A side's blocks of one level over the common classes: their members (common indices),
    labels, parents, and the level-1 label of each class."""
    position = {n: i for i, n in enumerate(common)}
    out: dict = {"label_of": {}}
    for level in (1, 2):
        blocks = [blk for blk in groups.blocks if blk.level == level]
        out[level] = {
            "ids": [blk.id for blk in blocks],
            "members": [
                [position[classes[c]] for c in blk.member_ids if classes[c] in position]
                for blk in blocks
            ],
            "labels": [blk.label for blk in blocks],
            "parents": [blk.parent for blk in blocks],
        }
        if level == 1:
            for label, members in zip(out[1]["labels"], out[1]["members"], strict=True):
                out["label_of"].update({i: label for i in members})
    return out


def _block_changes(ta: dict, tb: dict) -> dict:
    """Which of A's top-level blocks split or merged in B, which second-level ones moved
    (``ta``, ``tb``: each side's blocks over the common classes, :func:`_top_blocks`)."""
    one = group_changes(ta[1]["members"], tb[1]["members"])
    two = group_changes(ta[2]["members"], tb[2]["members"])

    def parent_index(side: dict) -> dict[int, int]:
        ids = {bid: k for k, bid in enumerate(side[1]["ids"])}
        return {k: ids[p] for k, p in enumerate(side[2]["parents"]) if p in ids}

    kept_parents = {k["group"]: k["as"] for k in one["kept"]}
    moved = moved_groups(two["kept"], parent_index(ta), parent_index(tb), kept_parents)

    def label(side: dict, level: int, k: int) -> str:
        return f"{side[level]['labels'][k]} (block {side[level]['ids'][k]})"

    return {
        "split": [
            {"a": label(ta, 1, s["group"]), "into": [label(tb, 1, j) for j in s["into"]]}
            for s in one["split"]
        ],
        "merged": [
            {"b": label(tb, 1, s["group"]), "from": [label(ta, 1, i) for i in s["from"]]}
            for s in one["merged"]
        ],
        "moved": [
            {
                "a": label(ta, 2, mv["group"]),
                "b": label(tb, 2, mv["as"]),
                "from": label(ta, 1, mv["parent"]),
                "to": label(tb, 1, mv["new_parent"]),
            }
            for mv in moved
        ],
        "kept": len(one["kept"]),
        "top_level": [len(ta[1]["ids"]), len(tb[1]["ids"])],
    }


def _order(groups: GroupsRecord, classes: list[str], common: list[str]) -> np.ndarray:
    """A's order over the common classes (indices into ``common``)."""
    position = {n: i for i, n in enumerate(common)}
    chosen = groups.order.get("order") or list(range(len(classes)))
    return np.array([position[classes[i]] for i in chosen if classes[i] in position])


def _log(record: dict) -> None:
    agreement, blocks = record["agreement"], record["blocks"]
    log.info(
        "compare %s: correlation %.3f (p %.3g, %d permutations), cophenetic %.3f, "
        "ARI %.3f at k = %d",
        record["transform"],
        agreement["correlation"],
        agreement["p_value"],
        agreement["permutations"],
        agreement["cophenetic"],
        agreement["ari"],
        agreement["k"],
    )
    changed = ", ".join(f"{c['name']} {c['mean_abs_change']:.3f}" for c in record["changed"][:5])
    log.info("most changed classes (mean |A - B|): %s", changed)
    log.info(
        "top-level blocks: %d split, %d merged; %d second-level blocks moved",
        len(blocks["split"]),
        len(blocks["merged"]),
        len(blocks["moved"]),
    )


def comparison_foreign_entries(path: Path) -> list[str]:
    """What keeps ``path`` from being a comparison directory (see :func:`foreign_entries`)."""
    return foreign_entries(path, COMPARISON_ENTRIES, (COMPARE_FILE,))


def _write(result: Comparison, out: Path, overwrite: bool) -> Comparison:
    from classsim_spark.render.comparison import comparison_figure
    from classsim_spark.render.explorer import comparison_data, explorer_html
    from classsim_spark.render.heatmap import save_figure

    record = result.record
    titles = (
        f"A: {_name(record['a']['path'])}",
        f"B: {_name(record['b']['path'])}",
        f"A − B ({record['transform']}; r = {record['agreement']['correlation']:.3f})",
    )
    changed = [c["name"] for c in record["changed"][:NAMED]]
    with atomic_directory(
        out,
        overwrite,
        foreign=comparison_foreign_entries,
        what="classsim comparison directory",
    ) as tmp:
        (tmp / COMPARE_FILE).write_text(json.dumps(record, indent=1) + "\n")
        (tmp / FIGURES_DIR).mkdir()
        figure = comparison_figure(result.names, result.a, result.b, result.order, titles, changed)
        for suffix in (".png", ".svg"):
            save_figure(figure, tmp / FIGURES_DIR / f"compare{suffix}")
        labels = tuple(
            f"{side.upper()} {_name(record[side]['path'])}"
            + (f" ({record[side]['transform']})" if " vs " in record["transform"] else "")
            for side in ("a", "b")
        )
        page = comparison_data(
            result.names,
            result.a,
            result.b,
            result.order.tolist(),
            labels,
            title=f"{labels[0]} vs {labels[1]} ({record['transform']})",
            notes=_notes(record),
            changed=[
                {**c, "class_id": result.names.index(c["name"])}
                for c in record["changed"][:CHANGED_LISTED]
            ],
        )
        (tmp / EXPLORER_FILE).write_text(explorer_html(page), encoding="utf-8")
    log.info("comparison: %s", out)
    return Comparison(record, result.names, result.a, result.b, result.order, out)


def _notes(record: dict) -> list[str]:
    """What the comparison page says under its findings: the agreement, the class sets, the
    most changed classes."""
    agreement, classes = record["agreement"], record["classes"]
    notes = [
        f"correlation {agreement['correlation']:.3f} (p {agreement['p_value']:.3g}), "
        f"cophenetic {agreement['cophenetic']:.3f}, ARI {agreement['ari']:.3f} at "
        f"k = {agreement['k']}",
        f"{classes['common']} common classes; {len(classes['only_in_a'])} only in A, "
        f"{len(classes['only_in_b'])} only in B",
        "most changed: "
        + ", ".join(f"{c['name']} ({c['mean_abs_change']:.3f})" for c in record["changed"][:8]),
    ]
    return notes


def _name(path: str) -> str:
    """A results directory's last two path parts, as the explorer titles it."""
    return "/".join(Path(path).resolve().parts[-2:])
