"""``run.json`` and ``groups.json`` as typed records.

:class:`RunRecord` (what a similarity run computed, from what, and how) is what
:class:`~classsim_spark.io.results.SimilarityResult` holds as ``run``; its
:meth:`~RunRecord.to_json` is the file, :meth:`~RunRecord.from_json` reads it back (also the
files of older versions, which lack some entries, and entries it does not know, kept as they were).
The scan (:func:`classsim_spark.similarity`) and the numpy reference of the demo
(:func:`classsim_spark.demo.reference.numpy_results`) build it from the same pieces, so the two
cannot drift apart.

:class:`GroupsRecord` (what an analysis found) is what :func:`classsim_spark.analyze` returns as
``Analysis.record`` and what the figures read: the findings as the records of
:mod:`classsim_spark.core.findings`, rebuilt by :meth:`~GroupsRecord.from_json`, which refuses a
file whose findings do not have the fields this version writes.

Example
-------
>>> run = RunRecord(transforms=["logit"], n=3, m=2, zero_variance={"logit": []})
>>> RunRecord.from_json(run.to_json()) == run
True
>>> run.to_json()["scores"]
{'kind': 'logits', 'activation': 'softmax', 'eps': 1e-12}
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from classsim_spark.core.findings import (
    Block,
    FailedGroup,
    Finding,
    FlameRow,
    Flames,
    NearDuplicate,
    SplitGroup,
    Star,
)
from classsim_spark.core.moments import Moments
from classsim_spark.core.transforms import ScoreSpec


@dataclass(frozen=True)
class ReaderRecord:
    """Which reader the scan asked for, which it used (``arrow`` or ``spark``) and why."""

    requested: str
    used: str
    reason: str


@dataclass(frozen=True)
class TasksRecord:
    """Scan tasks that reported (one per partition) and how many of them were retries."""

    reported: int
    retried: int


@dataclass(frozen=True)
class LabelsRecord:
    """The label column, whether it is multi-label, and the baselines counted from it."""

    column: str
    multi: bool
    baselines: list[str]

    @classmethod
    def of(cls, column: str, multi: bool, counts: dict) -> LabelsRecord:
        """The record of label counts ``counts`` (name -> array) from ``column``."""
        return cls(column, multi, sorted(counts))


@dataclass(frozen=True)
class SampleRecord:
    """The uniform score sample: ``rows`` kept of the ``of`` rows seen, at most ``capacity``."""

    rows: int
    of: int
    capacity: int


@dataclass(frozen=True)
class PartsRecord:
    """The transform whose statistics are kept in ``count`` parts, and the rows of each part."""

    transform: str
    count: int
    rows: list[int]

    @classmethod
    def of(cls, parts: dict[str, list[Moments]]) -> PartsRecord | None:
        """The record of per-part statistics (transform -> its parts; one transform at most)."""
        for transform, stats in parts.items():
            return cls(transform, len(stats), [s.n for s in stats])
        return None


@dataclass(frozen=True)
class ScanInput:
    """One scan whose rows a run's statistics hold: what it read (``input``, ``format``,
    ``where``, ``layout``), when, its row counts, and the local files it read (None for tables,
    remote paths and DataFrames), by which an update refuses rows already counted."""

    input: str | None
    format: str | None
    where: str | None
    layout: str | None
    created: str | None
    rows_read: int | None
    rows_kept: int | None
    rows_dropped: int | None
    files: list[str] | None = None


_NESTED = {
    "reader": ReaderRecord,
    "tasks": TasksRecord,
    "labels": LabelsRecord,
    "sample": SampleRecord,
    "parts": PartsRecord,
}


@dataclass(frozen=True)
class RunRecord:
    """Everything ``run.json`` holds.

    What the statistics are (always present): ``transforms``, ``n`` (rows kept, over every
    scan merged), ``m``, ``scores`` (what the logged scores hold), ``zero_variance`` (transform
    -> classes with constant scores) and the policy applied to them; with labels, ``labels``;
    with a sample or parts, their records. How they were made (None or empty where a result was
    not made by a scan): the input, its format, reader, filter, layout and column spec; rows
    read and dropped with the problems found (counts and examples, over every scan); scan
    tasks; tile size; phase timings; Spark, library and classsim versions; the time it was
    created and the configuration of the command (of the latest scan, after an update);
    ``inputs``, every scan whose rows the statistics hold (:class:`ScanInput`: one, or more
    after updates); ``by``, the column whose values have statistics of their own in
    ``windows/`` (:mod:`classsim_spark.io.windows`), or None. ``extra`` keeps entries of the
    file this version does not know.
    """

    transforms: list[str]
    n: int | None
    m: int | None
    zero_variance: dict[str, list[str]] = field(default_factory=dict)
    zero_variance_policy: str = "zero"
    scores: ScoreSpec = field(default_factory=ScoreSpec)
    labels: LabelsRecord | None = None
    sample: SampleRecord | None = None
    parts: PartsRecord | None = None
    classsim_version: str | None = None
    created: str | None = None
    input: str | None = None
    format: str | None = None
    reader: ReaderRecord | None = None
    where: str | None = None
    layout: str | None = None
    input_spec: dict[str, Any] | None = None
    rows_read: int | None = None
    rows_dropped: int | None = None
    problems: dict[str, int] = field(default_factory=dict)
    problem_examples: dict[str, list[str]] = field(default_factory=dict)
    tasks: TasksRecord | None = None
    drop_invalid: bool | None = None
    tile_size: int | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    spark: dict[str, Any] | None = None
    versions: dict[str, str] | None = None
    config: dict[str, Any] | None = None
    inputs: list[ScanInput] = field(default_factory=list)
    by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The content of ``run.json``: provenance first, then what was computed, as the file
        has always been ordered; ``extra`` last."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out = {key: _plain(values[key]) for key in _FILE_ORDER}
        return {**out, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """Read the content of a ``run.json`` (of this or an older version)."""
        known = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for key, record in _NESTED.items():
            if isinstance(values.get(key), dict):
                values[key] = record(**values[key])
        if isinstance(values.get("scores"), dict):
            values["scores"] = ScoreSpec(**values["scores"])
        values["inputs"] = [ScanInput(**i) for i in values.get("inputs") or []]
        values.setdefault("n", None)
        values.setdefault("m", None)
        values["transforms"] = list(values.get("transforms") or [])
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra)

    def replace(self, **changes: Any) -> RunRecord:
        """A copy with ``changes``; keys that are not fields go to ``extra``."""
        known = {f.name for f in fields(self)}
        extra = {**self.extra, **{k: v for k, v in changes.items() if k not in known}}
        return dataclasses.replace(
            self, **{k: v for k, v in changes.items() if k in known}, extra=extra
        )


_FILE_ORDER = (
    "classsim_version",
    "created",
    "input",
    "format",
    "reader",
    "where",
    "layout",
    "input_spec",
    "scores",
    "transforms",
    "n",
    "m",
    "rows_read",
    "rows_dropped",
    "problems",
    "problem_examples",
    "tasks",
    "drop_invalid",
    "zero_variance_policy",
    "zero_variance",
    "labels",
    "sample",
    "parts",
    "tile_size",
    "timings_s",
    "spark",
    "versions",
    "config",
    "inputs",
    "by",
)


def _plain(value: Any) -> Any:
    """A record field as JSON data (nested records as dicts, None as null)."""
    if isinstance(value, Finding):
        return value.to_json()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


GROUPS_SCHEMA = "classsim.groups/1"


@dataclass(frozen=True)
class GroupsRecord:
    """Everything ``groups.json`` holds.

    ``results`` (n, m, transforms of the statistics analysed); ``chosen`` (transform, distance,
    linkage, criterion, score, ...) and ``candidates`` (every combination's scores); ``order``
    (the chosen transform's hclust order: method, params, order, classes); the findings
    (``blocks``, ``spans`` -- each major block's span and flames --, ``split_groups``,
    ``failed_groups`` with ``fuzzy``, ``near_duplicates``, ``stars``); ``stability`` (how the
    findings were resampled, or None); ``taxonomy`` (agreement with a taxonomy, or None);
    ``timings_s``. ``extra`` keeps entries of the file this version does not know.
    """

    chosen: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    order: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    spans: list[Flames] = field(default_factory=list)
    split_groups: list[SplitGroup] = field(default_factory=list)
    failed_groups: list[FailedGroup] = field(default_factory=list)
    fuzzy: dict[str, Any] | None = None
    near_duplicates: list[NearDuplicate] = field(default_factory=list)
    stars: list[Star] = field(default_factory=list)
    stability: dict[str, Any] | None = None
    taxonomy: dict[str, Any] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    schema: str = GROUPS_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The content of ``groups.json``, in the file's order; ``extra`` last."""
        out = {key: _plain(getattr(self, key)) for key in _GROUPS_ORDER}
        return {**out, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GroupsRecord:
        """Read the content of a ``groups.json``.

        Raises
        ------
        ValueError
            The content is not an analysis of this schema, or a finding lacks a field (or has
            one) that this version does not know; the message names the entry.
        """
        if not isinstance(data, dict) or "chosen" not in data:
            raise ValueError("not written by classsim analyze (no 'chosen' entry)")
        schema = data.get("schema", GROUPS_SCHEMA)
        if schema != GROUPS_SCHEMA:
            raise ValueError(f"schema {schema!r}; this version reads {GROUPS_SCHEMA!r}")
        known = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for key, kind in _FINDINGS.items():
            entries = data.get(key) or []
            values[key] = [_finding(kind, entry, key, i) for i, entry in enumerate(entries)]
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra)

    @property
    def transform(self) -> str:
        """The transform the analysis chose (whose findings these are)."""
        return self.chosen["transform"]


_GROUPS_ORDER = (
    "schema",
    "results",
    "chosen",
    "candidates",
    "order",
    "blocks",
    "spans",
    "split_groups",
    "failed_groups",
    "fuzzy",
    "near_duplicates",
    "stars",
    "stability",
    "taxonomy",
    "timings_s",
)

_FINDINGS: dict[str, type[Finding]] = {
    "blocks": Block,
    "spans": Flames,
    "split_groups": SplitGroup,
    "failed_groups": FailedGroup,
    "near_duplicates": NearDuplicate,
    "stars": Star,
}


def _finding(kind: type[Finding], entry: Any, key: str, index: int) -> Finding:
    """The record of ``groups.json``'s ``key[index]`` (flames with their rows as records)."""
    try:
        if kind is Flames:
            rows = [FlameRow(**row) for row in entry.get("rows", [])]
            return Flames(**{**entry, "rows": rows})
        return kind(**entry)
    except (TypeError, AttributeError) as err:
        raise ValueError(f"{key}[{index}] is not a {kind.__name__}: {err}") from None
