"""Adding new rows to a results directory without reading the old ones again.

A results directory keeps mergeable statistics: per transform the count, mean and co-moment of
the transformed scores (:class:`~classsim_spark.core.moments.Moments`), the same in disjoint parts
of the rows, the label counts and a uniform row sample. The statistics of new rows, from a scan
made with the same settings, merge with them into exactly those of all rows (to rounding:
Chan's formula for the moments, sums for the counts, a uniform merge for the sample), so a
daily update costs a scan of one day.

:func:`classsim_spark.similarity` with ``update=`` does the scan; this module decides its
settings and merges its statistics:

- :func:`settings_for_update`: the settings the new scan must share (transforms, scores, labels,
  sample, parts, zero-variance policy) are taken from the results; the input's description
  (layout, columns, class names) too, unless given; anything given that disagrees is refused
  (:class:`IncompatibleUpdateError`) before a session starts.
- :func:`check_same_classes`: the new input's classes, in the same order (checked before the scan).
- :func:`check_not_merged`: a local file already merged is refused, so no row counts twice.
- :func:`statistics_of`, :func:`merge_windows`: the old statistics (and those per value of
  ``by``) to merge the new ones into; :func:`merged_totals`: the run record's row counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from classsim_spark.core.moments import Moments
from classsim_spark.errors import ClasssimError
from classsim_spark.executor.sampling import RowSample
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.io.records import RunRecord, ScanInput, TasksRecord
from classsim_spark.io.results import SimilarityResult
from classsim_spark.io.windows import Windows

STATISTICS_SETTINGS = (
    "by",
    "transforms",
    "scores",
    "activation",
    "eps",
    "zero_variance",
    "sample_rows",
    "stability_parts",
    "labels",
)
"""Keyword arguments of :func:`classsim_spark.similarity` that decide what the statistics are:
an update must scan with the values of the results it adds to."""

INPUT_SETTINGS = (
    "layout",
    "scores_col",
    "class_col",
    "id_col",
    "classes",
    "prefix",
    "regex",
    "fill_value",
    "fmt",
)
"""Keyword arguments that describe the input: taken from the results unless given (new
partitions in another layout may be described anew; their classes must still be the same)."""

UPDATE_SETTINGS = (*STATISTICS_SETTINGS, *INPUT_SETTINGS)

EXAMPLES = 5
"""How many names an error lists."""


class IncompatibleUpdateError(ClasssimError, ValueError):
    """New rows whose statistics cannot be merged with a results directory's."""


def inherited_settings(result: SimilarityResult) -> dict[str, Any]:
    """The keyword arguments of :func:`classsim_spark.similarity` that scan new rows as
    ``result``'s rows were scanned: the input described as it was — classes given by a file or
    a list become ``result``'s names (a class file may have moved or changed since), classes
    found from a prefix, a regex or the input stay found so (the names are checked against
    ``result``'s before the scan)."""
    run = _run_of(result)
    spec = dict(run.input_spec or {})
    return {
        "by": run.by,
        "transforms": list(run.transforms),
        "scores": run.scores.kind,
        "activation": run.scores.activation,
        "eps": run.scores.eps,
        "zero_variance": run.zero_variance_policy,
        "sample_rows": run.sample.capacity if run.sample else 0,
        "stability_parts": run.parts.count if run.parts else 0,
        "labels": run.labels.column if run.labels else None,
        **{k: spec[k] for k in INPUT_SETTINGS if k in spec},
        "classes": list(result.classes) if spec.get("classes") is not None else None,
        "fmt": run.format or "parquet",
    }


def settings_for_update(
    given: Mapping[str, Any], defaults: Mapping[str, Any], result: SimilarityResult
) -> dict[str, Any]:
    """The settings of a scan whose statistics merge with ``result``'s.

    Parameters
    ----------
    given : mapping
        The caller's keyword arguments of :func:`classsim_spark.similarity`.
    defaults : mapping
        That function's defaults: a setting left at its default is taken from ``result``.
    result : SimilarityResult
        The results to add to.

    Returns
    -------
    dict
        ``given``, with every setting of :data:`STATISTICS_SETTINGS` and
        :data:`INPUT_SETTINGS` left at its default replaced by ``result``'s.

    Raises
    ------
    IncompatibleUpdateError
        A statistics setting given with another value than ``result``'s (all of them named).
    """
    theirs = inherited_settings(result)
    settings = dict(given)
    differ = []
    for key in UPDATE_SETTINGS:
        if key not in theirs:
            continue
        if _same(given.get(key), defaults.get(key)):
            settings[key] = theirs[key]
        elif key in STATISTICS_SETTINGS and not _same(given[key], theirs[key]):
            differ.append(f"{key} {_show(given[key])} here, {_show(theirs[key])} there")
    if differ:
        raise IncompatibleUpdateError(
            f"cannot add to {result.path}: its statistics were computed with other settings "
            f"({'; '.join(differ)}). Leave these settings out to use the results' own, or write "
            "a new results directory"
        )
    return settings


def check_same_classes(old: Sequence[str], new: Sequence[str], where: object) -> None:
    """Refuse new rows whose classes are not ``old``, in the same order.

    Raises
    ------
    IncompatibleUpdateError
        Naming the classes only one side has, or the first positions where the orders differ.
    """
    old, new = list(old), list(new)
    if old == new:
        return
    only_new = [c for c in new if c not in set(old)]
    only_old = [c for c in old if c not in set(new)]
    if only_new or only_old:
        parts = []
        if only_new:
            parts.append(f"{len(only_new)} classes not in it ({_names(only_new)})")
        if only_old:
            parts.append(f"{len(only_old)} of its classes missing ({_names(only_old)})")
        detail = "; ".join(parts)
    else:
        moved = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        detail = (
            f"the same {len(old)} classes in another order ({len(moved)} positions differ, e.g. "
            + ", ".join(f"position {i}: {new[i]!r} here, {old[i]!r} there" for i in moved[:3])
            + ")"
        )
    raise IncompatibleUpdateError(
        f"cannot add the new rows to {where}: {detail}. The statistics merge only over the same "
        "classes in the same order"
    )


def check_not_merged(run: RunRecord, new: ScanInput, where: object) -> None:
    """Refuse an input whose rows are already in the statistics: local files merged before
    that were read without a filter then or now, or with the same filter; where the files are
    not known (tables, remote paths, Parquet read with a filter), the same input with the same
    filter. DataFrames cannot be checked.

    Raises
    ------
    IncompatibleUpdateError
        Naming the files (or the input) merged before and when.
    """
    for earlier in scan_inputs(run):
        same_files = sorted(set(new.files or ()) & set(earlier.files or ()))
        if same_files and (
            new.where is None or earlier.where is None or new.where == earlier.where
        ):
            raise IncompatibleUpdateError(
                f"{len(same_files)} of the new input's files are already in {where} (merged "
                f"{earlier.created}): {_names(same_files)}. Each row may be counted once; "
                "give only the new files (or a filter that selects only new rows)"
            )
        unknown = new.files is None or earlier.files is None  # a table: only its name to go by
        same_input = (new.input, new.where) == (earlier.input, earlier.where)
        if unknown and same_input and new.input != "DataFrame":
            raise IncompatibleUpdateError(
                f"{new.input!r}{f' where {new.where}' if new.where else ''} is already in "
                f"{where} (merged {earlier.created}); each row may be counted once"
            )


def scan_inputs(run: RunRecord) -> list[ScanInput]:
    """Every scan whose rows a run's statistics hold (a run from before updates existed: one,
    described by its own fields)."""
    if run.inputs:
        return list(run.inputs)
    if run.input is None:
        return []
    return [
        ScanInput(
            input=run.input,
            format=run.format,
            where=run.where,
            layout=run.layout,
            created=run.created,
            rows_read=run.rows_read,
            rows_kept=run.n,
            rows_dropped=run.rows_dropped,
            files=None,
        )
    ]


def statistics_of(result: SimilarityResult) -> RowStatistics:
    """A results directory's statistics as one mergeable value."""
    run = _run_of(result)
    sample = None
    if result.sample is not None and run.sample is not None:
        sample = RowSample(run.sample.capacity, result.sample, run.sample.of)
    return RowStatistics(dict(result.moments), dict(result.counts), sample, dict(result.parts))


def merge_windows(
    base: Windows, new: Mapping[str | None, RowStatistics]
) -> dict[str | None, RowStatistics]:
    """The statistics per value after an update: ``base``'s (with their arrays), each merged
    with the new rows of the same value; new values added."""
    merged = {
        value: RowStatistics.from_arrays(arrays)
        for value, arrays in zip(base.values, base.arrays or [], strict=True)
    }
    for value, stats in new.items():
        merged[value] = merged[value].merge(stats) if value in merged else stats
    return merged


def merged_totals(base: RunRecord, new: RunRecord) -> dict[str, Any]:
    """The run record's fields that count rows, over the base's scans and the new one (the
    new scan's own record holds its provenance: input, reader, timings)."""
    examples: dict[str, list[str]] = {}
    for record in (base, new):
        for kind, rows in record.problem_examples.items():
            examples[kind] = (examples.get(kind, []) + list(rows))[:EXAMPLES]
    problems = dict(base.problems)
    for kind, count in new.problems.items():
        problems[kind] = problems.get(kind, 0) + count
    tasks = None
    if base.tasks and new.tasks:
        tasks = TasksRecord(
            base.tasks.reported + new.tasks.reported, base.tasks.retried + new.tasks.retried
        )
    return {
        "n": (base.n or 0) + (new.n or 0),
        "rows_read": (base.rows_read or 0) + (new.rows_read or 0),
        "rows_dropped": (base.rows_dropped or 0) + (new.rows_dropped or 0),
        "problems": problems,
        "problem_examples": examples,
        "tasks": tasks or new.tasks,
        "inputs": [*scan_inputs(base), *new.inputs],
    }


def _run_of(result: SimilarityResult) -> RunRecord:
    """A result's run record (every result has one; the attribute is optional only until
    the result is built)."""
    if result.run is None:
        raise ValueError("a result without a run record")
    return result.run


def _merge(a: Moments | None, b: Moments | None) -> Moments | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


def _same(a: Any, b: Any) -> bool:
    """Equal as settings (lists and tuples alike)."""

    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, list | tuple) else value

    return plain(a) == plain(b)


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else repr(value)


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(map(str, names[:EXAMPLES]))
    return shown + (", ..." if len(names) > EXAMPLES else "")
