"""Drill-down to samples: the rows that make two classes similar.

``classsim examples RESULTS --pair 'cat,dog' --top 20`` scans the results' input once more (every
input an update merged, each with its own filter) and returns, per pair, the samples with the
largest products of the two classes' standardised transformed scores — the terms of the
correlation that the similarity is the mean of — with their sample ids, both scores (as given and
transformed; ``both``: whether both lie above their means, or both below — a sample that scores
low on both adds to the similarity as much), labels and top-1 prediction
(:mod:`classsim_spark.executor.examples`). They go
into ``examples.json`` in the results directory (pairs asked before and not now are kept), and the
explorer lists them (an ``explorer.html`` already there is rewritten, with default colours).
``classsim run --examples N`` asks for the N most similar near-duplicate pairs and the closest
pair of each of the N strongest split groups.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classsim_spark.errors import ClasssimError
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import (
    EXAMPLES_FILE,
    EXPLORER_FILE,
    SimilarityResult,
    write_text_atomically,
)
from classsim_spark.update import scan_inputs

log = logging.getLogger("classsim")

SCHEMA = "classsim.examples/1"
TOP = 20
"""Samples per pair by default."""


class ExamplesError(ClasssimError, ValueError):
    """Pairs that cannot be looked up: unknown or constant classes, an input that is gone."""


def parse_pair(text: str, classes: Sequence[str]) -> tuple[str, str]:
    """Two class names from ``'a,b'``; names may hold commas as long as one split names two
    classes.

    Examples
    --------
    >>> parse_pair("cat,dog", ["cat", "dog", "a,b"])
    ('cat', 'dog')
    >>> parse_pair("a,b,cat", ["cat", "dog", "a,b"])
    ('a,b', 'cat')
    """
    known = set(classes)
    splits = [
        (text[:k].strip(), text[k + 1 :].strip())
        for k, ch in enumerate(text)
        if ch == "," and text[:k].strip() in known and text[k + 1 :].strip() in known
    ]
    if len(splits) != 1:
        parts = [p.strip() for p in text.split(",")]
        unknown = [p for p in parts if p not in known]
        raise ExamplesError(
            f"--pair {text!r}: give two class names separated by a comma"
            + (f"; not classes of these results: {', '.join(unknown[:5])}" if unknown else "")
        )
    return splits[0]


def default_pairs(groups: GroupsRecord, M: np.ndarray, classes: Sequence[str], count: int):
    """The ``count`` most similar near-duplicate pairs, then the closest pair (highest
    similarity across the two blocks) of each of the ``count`` strongest split groups."""
    pairs = [tuple(d.names) for d in sorted(groups.near_duplicates, key=lambda d: -d.similarity)]
    pairs = pairs[:count]
    blocks = {b.id: b for b in groups.blocks}
    for group in sorted(groups.split_groups, key=lambda g: -g.z)[:count]:
        a, b = (blocks[i].member_ids for i in group.blocks)
        cross = M[np.ix_(a, b)]
        i, j = np.unravel_index(np.argmax(cross), cross.shape)
        pairs.append((classes[a[i]], classes[b[j]]))
    return list(dict.fromkeys(pairs))


def examples(
    results: SimilarityResult | str | Path,
    pairs: Sequence[tuple[str, str]],
    *,
    top: int = TOP,
    transform: str | None = None,
    data: str | None = None,
    spark=None,
    engine: str = "auto",
) -> dict:
    """Look up, in one more scan of the input, the samples that make each pair similar.

    Parameters
    ----------
    results : SimilarityResult or path
        A results directory, or its loaded result (its input must still be readable).
    pairs : sequence of (str, str)
        Class names.
    top : int
        Samples per pair.
    transform : str, optional
        Default: the analysis's chosen transform, else the first computed.
    data : str, optional
        Read these paths or this table instead of the inputs ``run.json`` names (with no
        filter); needed when the results were computed from a DataFrame.
    spark : SparkSession or callable, optional
    engine : {"auto", "spark", "python"}
        As for :func:`classsim_spark.similarity`.

    Returns
    -------
    dict
        The content of ``examples.json`` (also written into ``results``).
    """
    from classsim_spark.render.inputs import as_result, read_groups

    result = as_result(results)
    groups = read_groups(result)
    t = transform or (groups.transform if groups else result.transforms[0])
    if t not in result.transforms:
        raise ExamplesError(f"transform {t!r} not computed here; have {result.transforms}")
    if top < 1:
        raise ExamplesError(f"top must be >= 1, got {top}")
    index = {name: i for i, name in enumerate(result.classes)}
    unknown = [name for pair in pairs for name in pair if name not in index]
    if unknown:
        raise ExamplesError(f"not classes of {result.path}: {', '.join(map(repr, unknown[:5]))}")
    if not pairs:
        raise ExamplesError("no pairs to look up")
    ids = [(index[a], index[b]) for a, b in pairs]
    moments = result.moments[t]
    sd = np.sqrt(np.diag(moments.comoment) / max(1, moments.n - 1))
    constant = sorted({result.classes[i] for pair in ids for i in pair if not sd[i] > 0})
    if constant:
        raise ExamplesError(f"classes with constant {t} scores have no examples: {constant}")
    found, inputs = _scan(result, t, ids, moments.mean, sd, top, data, spark, engine)
    M = result.matrix(t)
    record = _record(result, t, top, pairs, ids, found, M, inputs, moments.mean)
    target = Path(result.path) / EXAMPLES_FILE
    if target.is_file():  # keep the pairs asked before and not now
        earlier = json.loads(target.read_text())
        asked = {(p["a"], p["b"]) for p in record["pairs"]}
        record["pairs"] += [p for p in earlier.get("pairs", []) if (p["a"], p["b"]) not in asked]
    write_text_atomically(target, json.dumps(record, indent=1) + "\n")
    log.info("examples: %s (%d pairs, %d samples each)", target, len(pairs), top)
    if (Path(result.path) / EXPLORER_FILE).is_file():  # the page lists them: refresh it
        from classsim_spark.render.explorer import write_explorer

        write_explorer(result.path)
    return record


def _scan(
    result: SimilarityResult, t, ids, mean, sd, top, data, spark, engine
) -> tuple[list, list]:
    """The examples of every pair over every input the statistics hold."""
    from classsim_spark.executor.examples import ExamplesPlan, best_rows, pair_contributions
    from classsim_spark.executor.labels import LabelSpec
    from classsim_spark.executor.local_scan import run_units
    from classsim_spark.executor.parquet_reader import plan_units
    from classsim_spark.spark.examples import scan_examples
    from classsim_spark.spark.session import scans_in_process, session_for
    from classsim_spark.spark.sources import (
        InputSpec,
        check_paths,
        describe_from_footers,
        open_input,
        unreadable_files_as_input_errors,
    )
    from classsim_spark.update import check_same_classes

    run = result.run
    recorded_inputs = [(s.input, s.where, s.format or "parquet") for s in scan_inputs(run)]
    sources = [(data, None, run.format or "parquet")] if data else recorded_inputs
    if not sources or any(s[0] in (None, "DataFrame") for s in sources):
        raise ExamplesError(
            f"{result.path} was computed from a DataFrame: pass the data to read (--input)"
        )
    spec_fields = dict(run.input_spec or {})  # as scanned; the classes are checked below
    if spec_fields.get("classes") is not None:  # given by a file or list: the results' names
        spec_fields["classes"] = tuple(result.classes)
    spec = InputSpec(
        **{k: v for k, v in spec_fields.items() if k in InputSpec.__dataclass_fields__}
    )
    labels = run.labels.column if run.labels else None
    best: list[list[dict]] = [[] for _ in ids]
    session = None
    for source, where, fmt in sources:
        row_groups = check_paths(source, fmt)
        with unreadable_files_as_input_errors():
            footers = describe_from_footers(source, spec, fmt, where, "auto", labels, row_groups)
            if scans_in_process(engine, footers is not None, spark):
                opened, session = footers, None
            else:
                session = session or session_for(spark)
                opened = open_input(
                    session, source, spec, fmt, where, "auto", labels, row_groups, (), footers
                )
            check_same_classes(result.classes, opened.classes, result.path)
            names = opened.classes
            plan = ExamplesPlan(
                opened.layout,
                run.scores,
                t,
                tuple(ids),
                tuple(float(x) for x in mean),
                tuple(float(x) for x in sd),
                top,
                LabelSpec(labels, run.labels.multi, tuple(names)) if labels else None,
            )
            if session is None:  # threads of this process, one per core
                threads = os.cpu_count() or 1
                units = plan_units(opened.row_groups, len(names), slots=threads)
                found = best_rows(run_units(pair_contributions(plan, units), units, threads), plan)
            else:
                found = scan_examples(session, opened.scan, plan, opened.units)
            for k, rows in enumerate(found):
                best[k] = sorted(best[k] + rows, key=lambda r: -r["contribution"])[:top]
    return best, [{"input": s, "where": w, "format": f} for s, w, f in sources]


def _record(result, t, top, pairs, ids, found, M, inputs, mean) -> dict:
    names = result.classes
    n = result.run.n

    def labels(row):
        return None if row["labels"] is None else [names[i] for i in row["labels"]]

    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "transform": t,
        "top": top,
        "inputs": inputs,
        "pairs": [
            {
                "a": a,
                "b": b,
                "similarity": round(float(M[i, j]), 6),
                "n": n,
                "examples": [
                    {
                        "id": row["id"],
                        "contribution": round(row["contribution"], 6),
                        "share": round(row["contribution"] / ((n - 1) * M[i, j]), 6)
                        if n and n > 1 and M[i, j]
                        else None,
                        # a positive product: both above their mean, or both below it
                        "both": "above" if row["value_a"] > mean[i] else "below",
                        "score_a": row["score_a"],
                        "score_b": row["score_b"],
                        "value_a": row["value_a"],
                        "value_b": row["value_b"],
                        "labels": labels(row),
                        "top1": names[row["top1"]],
                    }
                    for row in rows
                ],
            }
            for (a, b), (i, j), rows in zip(pairs, ids, found, strict=True)
        ],
    }
