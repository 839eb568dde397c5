"""Public Python API: class-similarity matrices from a score table in one Spark pass."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow
import scipy
from pyspark.sql import DataFrame, SparkSession

from classsim_spark import __version__
from classsim_spark.core.moments import ZERO_VARIANCE_POLICIES
from classsim_spark.core.stability import choose_parts
from classsim_spark.core.transforms import ScoreSpec, validate_transforms
from classsim_spark.errors import ClasssimError
from classsim_spark.executor.labels import LabelSpec
from classsim_spark.executor.local_scan import scan_units
from classsim_spark.executor.parquet_reader import plan_units
from classsim_spark.executor.partials import TILE_BYTES, ScanPlan, choose_tile_size
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.executor.validation import RowReport
from classsim_spark.io.config import stability_parts as parse_stability_parts
from classsim_spark.io.records import (
    LabelsRecord,
    PartsRecord,
    ReaderRecord,
    RunRecord,
    SampleRecord,
    ScanInput,
    TasksRecord,
)
from classsim_spark.io.results import SimilarityResult, check_writable, local_paths
from classsim_spark.io.windows import read_windows, window_index
from classsim_spark.progress import PhaseTimer, connect_progress
from classsim_spark.spark.scan import DEFAULT_DRIVER_HEAP, merge_budget, scan_statistics
from classsim_spark.spark.session import (
    check_fits,
    driver_heap_bytes,
    is_connect,
    scans_in_process,
    session_for,
    sized_for,
)
from classsim_spark.spark.sizing import (
    GIB,
    ScanJob,
    available_memory,
    physical_memory,
    size_local_session,
)
from classsim_spark.spark.sources import (
    FooterInput,
    InputSpec,
    OpenedInput,
    check_paths,
    delta_files,
    describe_from_footers,
    open_input,
    unreadable_files_as_input_errors,
)
from classsim_spark.transform_choice import TransformChoice, choose_on_sample
from classsim_spark.update import (
    UPDATE_SETTINGS,
    check_not_merged,
    check_same_classes,
    merge_windows,
    merged_totals,
    settings_for_update,
    statistics_of,
)
from classsim_spark.windows import (
    WINDOWS_BUDGET_GIB,
    check_windows_budget,
    sorted_keys,
    windows_of,
)

log = logging.getLogger("classsim")

DEFAULT_TRANSFORMS: tuple[str, ...] = ("logit", "probability", "rank")
AUTO_ALL_CELLS = 100_000_000
"""Up to this many scores (rows x classes) ``transforms="auto"`` computes every transform (the
scan of such input takes seconds); above, ``logit`` alone: at 225,000 x 3,755 the three took
112 s of scan where ``logit`` takes about 40."""
# Driver memory per class pair and transform: co-moment + correlation, plus one assembly buffer.
_DRIVER_BYTES_PER_CELL = 8 * 3
# Driver memory per sampled score: the float32 array plus the bytes of the row it arrived in.
_DRIVER_BYTES_PER_SAMPLED = 4 * 2
# The sample travels as one binary value; Arrow's binary arrays hold less than 2 GiB.
_MAX_SAMPLE_BYTES = 2**31 - 1


class DriverCapacityError(ClasssimError, MemoryError):
    """The m x m matrices would not fit the driver's memory budget, or the sample one value."""


def driver_bytes_needed(
    m: int, n_transforms: int, sample_rows: int = 0, parts: int = 0, labels: bool = False
) -> int:
    """Bytes the driver needs for the matrices of ``n_transforms`` transforms, the sample,
    the co-moments of ``parts`` parts of the rows and the label pair counts (as received and
    as assembled)."""
    return (
        _DRIVER_BYTES_PER_CELL * m * m * n_transforms
        + 8 * m * m * parts
        + 16 * m * m * labels
        + _DRIVER_BYTES_PER_SAMPLED * sample_rows * m
    )


def default_driver_memory_limit() -> int:
    """Half of this machine's physical memory: the budget for driver-side matrices."""
    return (physical_memory() or 16 * GIB) // 2


def check_driver_capacity(
    m: int,
    n_transforms: int,
    limit_bytes: int | None = None,
    sample_rows: int = 0,
    parts: int = 0,
    labels: bool = False,
) -> None:
    """Refuse, before scanning, a class count whose matrices (and sample, parts and label
    counts) would not fit the driver, or a sample too large for the one Spark value that
    carries it."""
    if sample_rows * m * 4 > _MAX_SAMPLE_BYTES:
        raise DriverCapacityError(
            f"a sample of {sample_rows} rows of {m} float32 scores is "
            f"{sample_rows * m * 4 / 2**30:.1f} GiB, over the 2 GiB one Spark value can hold; "
            "sample fewer rows (--sample-rows)."
        )
    limit = limit_bytes or default_driver_memory_limit()
    need = driver_bytes_needed(m, n_transforms, sample_rows, parts, labels)
    if need > limit:
        raise DriverCapacityError(
            f"{m} classes x {n_transforms} transforms need about {need / 2**30:.1f} GiB of driver "
            f"memory for the m x m matrices, {parts} stability parts, "
            f"{'label counts, ' if labels else ''}and a sample of {sample_rows} rows, over the "
            f"limit of {limit / 2**30:.1f} GiB. Compute fewer transforms, keep fewer parts "
            "(--stability-parts), select fewer classes, sample fewer rows, or raise "
            "--driver-memory-limit."
        )


def similarity(
    data: DataFrame | str,
    *,
    layout: str = "array",
    scores_col: str = "scores",
    classes: list[str] | tuple[str, ...] | str | None = None,
    prefix: str | None = None,
    regex: str | None = None,
    class_col: str = "class",
    id_col: str | None = "sample_id",
    fill_value: float | None = None,
    labels: str | None = "auto",
    transforms: list[str] | tuple[str, ...] | str = "auto",
    scores: str = "logits",
    activation: str = "softmax",
    eps: float = 1e-12,
    where: str | None = None,
    fmt: str = "parquet",
    reader: str = "auto",
    drop_invalid: bool = False,
    zero_variance: str = "zero",
    tile_size: int | None = None,
    driver_memory_limit: int | None = None,
    sample_rows: int = 1000,
    stability_parts: int | str = "auto",
    spark: SparkSession | Callable[[], SparkSession] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    run_info: dict | None = None,
    stages: Sequence[str] = (),
    update: str | Path | None = None,
    by: str | None = None,
    windows_budget_gib: float = WINDOWS_BUDGET_GIB,
    engine: str = "auto",
    transform_choice: TransformChoice | None = None,
) -> SimilarityResult:
    """Class-similarity matrices (Pearson correlation of class scores over samples).

    One distributed scan computes exact mergeable statistics for every transform; the driver turns
    them into m x m correlation matrices. With ``update``, the scan reads only new rows and adds
    their statistics to those of an existing results directory (:mod:`classsim_spark.update`).

    Parameters
    ----------
    data : DataFrame or str
        A DataFrame, Parquet path(s)/glob(s), or a table name (``catalog.schema.table``).
    layout : {"array", "wide", "long"}
        See :mod:`classsim_spark.spark.sources`; ``scores_col``, ``classes``, ``prefix``, ``regex``,
        ``class_col``, ``id_col`` and ``fill_value`` describe it.
    labels : str or None
        Label column for the baselines (frequencies, confusion or co-occurrence counts),
        computed in the same scan: ``"auto"`` uses a ``labels`` (array) or ``label`` column if
        present; ``None`` turns them off.
    transforms : sequence of {"logit", "probability", "rank"}, or "auto" or "all"
        Per-sample views of the scores, all computed in the same scan. ``"all"``: the three.
        ``"auto"`` (default): the three when the input is known to hold at most
        :data:`AUTO_ALL_CELLS` scores (rows x classes, from Parquet footers), else ``logit``
        alone, the one the analysis shows (:func:`auto_transforms`).
    scores, activation, eps
        What the input holds (:class:`~classsim_spark.core.transforms.ScoreSpec`).
    where : str, optional
        SQL filter applied to the input (e.g. a date range).
    fmt : str
        Format of path inputs.
    reader : {"auto", "spark", "arrow"}
        ``arrow``: the tasks read Parquet files with pyarrow, skipping the JVM's row conversion
        (:mod:`classsim_spark.executor.parquet_reader`); ``auto`` does so for local or mounted
        Parquet paths without ``where``.
    drop_invalid : bool
        Drop (and count) invalid rows instead of failing.
    zero_variance : {"zero", "error"}
        What to do with classes whose scores are constant (see :meth:`Moments.correlation`).
    tile_size : int, optional
        Side of the co-moment tiles reduced on the executors (default: 8 MiB tiles).
    driver_memory_limit : int, optional
        Bytes the driver may use for matrices (default: half of physical memory).
    sample_rows : int
        Keep a uniform sample of this many kept rows' raw scores (as given, before any
        transform), collected in the same scan, for the distribution figure (``sample.npy``);
        0 keeps none.
    stability_parts : int or "auto"
        Keep the co-moments of one transform (``logit`` when computed, else the first) in this
        many disjoint parts of the rows (``parts-<t>.npz``), so that the analysis can measure
        how stable each finding is on subsamples without a second scan
        (:mod:`classsim_spark.core.stability`). ``"auto"``: as many as 384 MiB per task holds, at
        most 6 (6 at m = 527, 3 at m = 3,755, none above about 5,000 classes); 0 keeps none.
    spark : SparkSession or callable, optional
        The session, or a function returning one (called once path input has been checked, so
        that a missing path or damaged file is named before a JVM starts). Defaults to the
        active session, or a new local one.
    out : path, optional
        Write the results directory here (atomically); refused if it exists unless ``overwrite``.
    run_info : dict, optional
        Extra entries for ``run.json`` (the CLI records its configuration here).
    stages : sequence of str, optional
        Stages the caller will run next in ``out`` (``"analyze"``, ``"render"``): the directory
        arrives with an ``unfinished.json`` that their :func:`classsim_spark.io.results.stage`
        blocks clear, so that a run stopped after the scan is seen as unfinished.
    update : path, optional
        A results directory to add ``data``'s rows to: the statistics of all rows, exactly as a
        scan of the old and new rows together would give them, replace it (or go to ``out``
        when given; the old directory is then left as it was). Settings left at their defaults
        are the directory's own (transforms, scores, labels, sample, parts, and the input's
        layout and classes); one given with another value is refused, as are other classes,
        another class order, and local files already merged. The analysis, figures and
        explorer of the old statistics are not carried over: run ``analyze`` and ``render``
        again (``classsim run --update`` does). ``run.json``'s ``inputs`` lists every scan
        merged.
    by : str, optional
        Keep the statistics per value of this column too (a date, a model version: any column,
        partition columns included), so that ``classsim window`` composes any set of values
        (a date range) later without Spark (:mod:`classsim_spark.window`); the directory's own
        statistics are those of all rows, as without it. Costs one small Spark job to count the
        values before the scan.
    windows_budget_gib : float
        Disk the per-value statistics may take (see :func:`check_windows_budget`; they are
        also held on the driver while assembled); above it the scan is refused before it starts.
    engine : {"auto", "spark", "python"}
        What runs the scan. ``spark``: a Spark session (``spark``, the active one, or a local
        one sized for the job). ``python``: threads of this process, no JVM
        (:mod:`classsim_spark.executor.local_scan`), for local or mounted Parquet read with
        pyarrow (no ``where``, array or wide layout). ``auto`` (default): ``python`` for such
        input when no session is given, active or set up by ``spark-submit``, else ``spark``.
        The statistics are the same either way.
    transform_choice : TransformChoice, optional
        How the analysis that follows chooses its transform. With ``transforms="auto"`` above
        :data:`AUTO_ALL_CELLS` scores of local Parquet and a criterion that looks at the data
        (``normality>cophenetic``), the transform is chosen on a sample of rows before the
        scan and the scan computes it alone (:mod:`classsim_spark.transform_choice`).

    Returns
    -------
    SimilarityResult

    Examples
    --------
    >>> res = similarity("demo/scores", transforms=["logit", "rank"])  # doctest: +SKIP
    >>> res.matrix("rank").shape  # doctest: +SKIP
    (300, 300)
    """
    base = None
    if update is not None:
        base = SimilarityResult.load(update)
        given = {k: v for k, v in locals().items() if k in UPDATE_SETTINGS}
        s = settings_for_update(given, _defaults(), base)
        transforms, scores, activation = s["transforms"], s["scores"], s["activation"]
        eps, zero_variance, sample_rows = s["eps"], s["zero_variance"], s["sample_rows"]
        labels, by = s["labels"], s["by"]
        stability_parts, layout, scores_col = s["stability_parts"], s["layout"], s["scores_col"]
        class_col, id_col, classes, prefix = s["class_col"], s["id_col"], s["classes"], s["prefix"]
        regex, fill_value, fmt = s["regex"], s["fill_value"], s["fmt"]
        out, overwrite = (update, True) if out is None else (out, overwrite)
    if zero_variance not in ZERO_VARIANCE_POLICIES:
        raise ValueError(f"zero_variance must be one of {ZERO_VARIANCE_POLICIES}")
    if sample_rows < 0:
        raise ValueError(f"sample_rows must be >= 0, got {sample_rows}")
    if not _is_auto(transforms):
        transforms = validate_transforms(_named_transforms(transforms))
    stability_parts = parse_stability_parts(stability_parts)
    score_spec = ScoreSpec(scores, activation, eps)
    spec = InputSpec(
        layout=layout,
        scores_col=scores_col,
        class_col=class_col,
        id_col=id_col,
        classes=tuple(classes) if isinstance(classes, list | tuple) else classes,
        prefix=prefix,
        regex=regex,
        fill_value=fill_value,
    )
    if out is not None:
        check_writable(out, overwrite, inputs=local_paths(data))
    timer = PhaseTimer()
    row_groups = check_paths(data, fmt)  # before the session starts: fails in a second
    this_input = ScanInput(
        input=data if isinstance(data, str) else "DataFrame",
        format=fmt,
        where=where,
        layout=layout,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        rows_read=None,
        rows_kept=None,
        rows_dropped=None,
        files=files_read(data, fmt, where, row_groups),
    )
    if base is not None:
        check_not_merged(base.run, this_input, base.path)

    def check(described: FooterInput | OpenedInput) -> tuple[ScanJob, int]:
        """The job, refused if too large, and the number of values of ``by``."""
        if base is not None:
            check_same_classes(base.classes, described.classes, base.path)
        values = described.count_values(by) if by is not None else 0
        job = _check_job(
            described.classes, described.labels, values, base, transforms, stability_parts,
            sample_rows, driver_memory_limit, windows_budget_gib,
        )  # fmt: skip
        return job, values

    footers, job, values = None, None, 0
    if row_groups:  # local Parquet: described from its footers, sized before any session
        with timer.phase("read footers"), unreadable_files_as_input_errors():
            footers = describe_from_footers(data, spec, fmt, where, reader, labels, row_groups)
        if footers is not None:
            pick = _on_sample(footers, score_spec, transform_choice, timer)
            transforms = auto_transforms(transforms, footers.rows * footers.layout.m, pick)
            job, values = check(footers)
    transforms = auto_transforms(transforms, None)
    settings = _ScanSettings(transforms, score_spec, tile_size, sample_rows, by, values)
    if scans_in_process(engine, footers is not None, spark):
        scanned = _scan_in_process(footers, job, settings, timer)
    else:
        source = (data, spec, fmt, where, reader, labels, row_groups)
        scanned = _scan_with_spark(spark, source, footers, job, check, settings, timer)
    plan, by_key, report, class_names = (
        scanned.plan,
        scanned.by_key,
        scanned.report,
        scanned.classes,
    )
    batch_layout, m, tile, label_spec = plan.layout, plan.layout.m, plan.tile_size, plan.labels
    _check_report(report, batch_layout.id_column, drop_invalid)
    rows = {"rows_read": report.rows_read, "rows_kept": report.rows_kept}
    this_input = replace(this_input, **rows, rows_dropped=report.rows_dropped)
    total = RowStatistics.merge_all([by_key[key] for key in sorted_keys(by_key)])
    if base is not None:
        with timer.phase("merge") as info:
            total = statistics_of(base).merge(total)
            if by is not None:
                by_key = merge_windows(read_windows(base.path), by_key)
            info["note"] = f"{base.run.n} rows of {base.path} + {report.rows_kept} new"
    moments, counts, sample, part_moments = total.moments, total.counts, total.sample, total.parts
    with timer.phase("similarity") as info:
        matrices, zero = _correlations(moments, transforms, zero_variance, class_names)
        info["note"] = f"{len(transforms)} matrix(es) of {m} x {m}"
    run = RunRecord(
        classsim_version=__version__,
        created=this_input.created,
        input=this_input.input,
        format=fmt,
        reader=ReaderRecord(reader, "arrow" if scanned.arrow else "spark", scanned.reader_reason),
        where=where,
        layout=layout,
        input_spec={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(spec).items()},
        scores=score_spec,
        transforms=list(transforms),
        n=report.rows_kept,
        m=m,
        rows_read=report.rows_read,
        rows_dropped=report.rows_dropped,
        problems=report.counts,
        problem_examples=report.examples,
        tasks=TasksRecord(report.tasks, report.tasks_retried),
        drop_invalid=drop_invalid,
        zero_variance_policy=zero_variance,
        zero_variance=zero,
        labels=LabelsRecord.of(label_spec.column, label_spec.multi, counts) if label_spec else None,
        sample=(
            SampleRecord(sample.rows.shape[0], sample.seen, sample_rows)
            if sample is not None
            else None
        ),
        parts=PartsRecord.of(part_moments),
        tile_size=tile,
        timings_s=timer.seconds,
        spark=scanned.engine,
        versions=_versions(),
        inputs=[this_input],
        by=by,
    ).replace(**(run_info or {}))
    if base is not None:
        run = run.replace(**merged_totals(base.run, run))
    result = SimilarityResult(
        class_names,
        moments,
        matrices,
        zero,
        run,
        counts=counts,
        sample=sample.rows if sample is not None else None,
        parts=part_moments,
        windows=None if by is None else windows_of(by, by_key),
    )
    if out is not None:
        with timer.phase("write results"):
            result.save(
                out, overwrite=overwrite, stages=stages, config=(run_info or {}).get("config")
            )
    return result


def _is_auto(transforms: Sequence[str] | str) -> bool:
    """Whether the transforms are left to :func:`auto_transforms` ("auto", alone or listed)."""
    return transforms == "auto" or list(transforms) == ["auto"]


def _named_transforms(transforms: Sequence[str] | str) -> list[str]:
    if isinstance(transforms, str):
        transforms = [transforms]
    return list(DEFAULT_TRANSFORMS) if list(transforms) == ["all"] else list(transforms)


def auto_transforms(
    transforms: Sequence[str] | str, cells: int | None, pick: Callable[[], str] | None = None
) -> tuple[str, ...]:
    """The transforms ``"auto"`` stands for, given how many scores the input holds (None:
    unknown, as for tables): every transform up to :data:`AUTO_ALL_CELLS` or when unknown,
    else one (logged, with how to ask for the others): ``pick()``'s, when the analysis
    chooses from the data, else ``logit``. Other values pass through.

    >>> auto_transforms("auto", 10_000 * 100), auto_transforms("auto", 225_000 * 3755)
    (('logit', 'probability', 'rank'), ('logit',))
    """
    if not _is_auto(transforms):
        return tuple(transforms)
    if cells is None or cells <= AUTO_ALL_CELLS:
        return DEFAULT_TRANSFORMS
    chosen = pick() if pick is not None else "logit"
    log.info(
        "transforms: %s alone for %d scores (the one the analysis uses); --transform all "
        "scans the three, each about another scan's arithmetic",
        chosen,
        cells,
    )
    return (chosen,)


def _on_sample(
    footers: FooterInput,
    score_spec: ScoreSpec,
    choice: TransformChoice | None,
    timer: PhaseTimer,
) -> Callable[[], str] | None:
    """How :func:`auto_transforms` picks its one transform when the analysis chooses it from
    the data: on a sample of rows (:mod:`classsim_spark.transform_choice`); else None."""
    if choice is None or not choice.needs_matrices:
        return None

    def pick() -> str:
        with timer.phase("choose transform") as info, unreadable_files_as_input_errors():
            chosen, info["note"] = choose_on_sample(footers, score_spec, choice)
        return chosen

    return pick


def _check_job(
    classes: list[str],
    label_info: tuple[str, bool] | None,
    values: int,
    base: SimilarityResult | None,
    transforms: Sequence[str],
    stability_parts: int | str,
    sample_rows: int,
    driver_memory_limit: int | None,
    windows_budget_gib: float,
) -> ScanJob:
    """Refuse, before the scan, a job whose matrices would not fit the driver, or whose
    per-value statistics (``values`` values of ``by``; 0 without it) would not fit the
    windows budget; return what its scan holds (the stability parts it keeps included)."""
    m = len(classes)
    parts = choose_parts(m) if stability_parts == "auto" else int(stability_parts)
    labels = label_info is not None
    check_driver_capacity(m, len(transforms), driver_memory_limit, sample_rows, parts, labels)
    if values:  # an update rewrites the old values too
        values += len(window_index(base.path).values) if base else 0
        check_windows_budget(
            values,
            m,
            len(transforms),
            parts,
            label_info is not None,
            sample_rows,
            windows_budget_gib,
            driver_memory_limit or default_driver_memory_limit(),
        )
    driver = driver_bytes_needed(m, len(transforms), sample_rows, parts, labels)
    return ScanJob(m, len(transforms), parts, labels, driver)


def files_read(data, fmt: str, where: str | None, row_groups) -> list[str] | None:
    """The local files a scan reads all the rows of, for refusing rows already merged: a
    Delta table's current files pruned by the filter, or the Parquet files found when there
    is no filter; None when unknown (tables, remote paths, Parquet with a filter, whose rows
    the files do not tell)."""
    if fmt == "delta" and row_groups is not None:
        delta = delta_files(data, where)
        return sorted(str(Path(f).resolve()) for f in delta.files) if delta else None
    if where is None and row_groups:
        return sorted({str(Path(path).resolve()) for path, _, _ in row_groups})
    return None


def _defaults() -> dict:
    """:func:`similarity`'s default arguments."""
    return {k: p.default for k, p in inspect.signature(similarity).parameters.items()}


@dataclass
class _ScanSettings:
    """What the scan computes, besides the input (``values``: of ``by``, 0 without it)."""

    transforms: Sequence[str]
    score_spec: ScoreSpec
    tile_size: int | None
    sample_rows: int
    by: str | None
    values: int


@dataclass(frozen=True)
class _Scanned:
    """A finished scan: its plan, statistics per ``by`` value, report, the class names, how
    the input was read (``arrow``: by pyarrow in the tasks) and what ran it, for run.json."""

    plan: ScanPlan
    by_key: dict
    report: RowReport
    classes: list[str]
    arrow: bool
    reader_reason: str
    engine: dict


def _scan_in_process(
    footers: FooterInput, job: ScanJob, settings: _ScanSettings, timer: PhaseTimer
) -> _Scanned:
    """The scan in threads of this process, as many as the machine's memory holds."""
    memory = available_memory() or physical_memory() or 8 * GIB
    threads = size_local_session(job, memory, os.cpu_count() or 1, heap=0).slots
    m = footers.layout.m
    units = plan_units(footers.row_groups, m, slots=threads)
    plan = _scan_plan(footers, job, settings, TILE_BYTES)
    with timer.phase("scan") as info, unreadable_files_as_input_errors():
        by_key, report = scan_units(plan, units, threads)
        info["note"] = _scan_note(report, plan, by_key, tiles=False) + (
            f", {threads} threads, no Spark"
        )
    reason = footers.reader_reason(len(units), "read units")
    engine = {"engine": "python", "threads": threads}
    return _Scanned(plan, by_key, report, footers.classes, True, reason, engine)


def _scan_with_spark(spark, source, footers, job, check, settings, timer) -> _Scanned:
    """The scan in Spark: a session sized for the job when it is known (else checked once
    the input is open), the input opened (``check`` refuses a job too large), one pass."""
    data, spec, fmt, where, reader, labels, row_groups = source
    with timer.phase("start session"), sized_for(job) as sizing:
        spark = session_for(spark)
    if job is not None and not sizing.applied:  # a session classsim did not size
        check_fits(spark, job)
    with timer.phase("resolve input") as info, unreadable_files_as_input_errors():
        opened = open_input(
            spark, data, spec, fmt, where, reader, labels, row_groups, (settings.by,), footers
        )
        if footers is None:
            job, settings.values = check(opened)
            check_fits(spark, job)
        info["note"] = (
            f"{len(opened.classes)} classes, layout {spec.layout}, "
            f"{'pyarrow' if opened.units else 'Spark'} reader ({opened.reader_reason})"
        )
    budget = merge_budget(driver_heap_bytes(spark) or DEFAULT_DRIVER_HEAP)
    plan = _scan_plan(opened, job, settings, min(TILE_BYTES, budget // 2))
    with (
        timer.phase("scan") as info,
        connect_progress(spark, "scan"),
        unreadable_files_as_input_errors(),
    ):
        by_key, report = scan_statistics(
            spark, opened.scan, plan, opened.units, keys=max(1, settings.values), budget=budget
        )
        info["note"] = _scan_note(report, plan, by_key)
    engine = {"engine": "spark", "version": spark.version, "connect": is_connect(spark)}
    arrow = bool(opened.units)
    return _Scanned(plan, by_key, report, opened.classes, arrow, opened.reader_reason, engine)


def _scan_note(report: RowReport, plan: ScanPlan, by_key: dict, tiles: bool = True) -> str:
    """The scan's log line: rows, transforms, the merge's tiles (Spark), ``by`` values."""
    k = plan.tiles_per_side
    return (
        f"read {report.rows_read} rows, kept {report.rows_kept}, "
        f"{len(plan.transforms)} transform(s)"
        + (f", {k * (k + 1) // 2} tile(s) of {plan.tile_size}" if tiles else "")
        + (f", {len(by_key)} values of {plan.by}" if plan.by is not None else "")
    )


def _scan_plan(
    opened: FooterInput | OpenedInput, job: ScanJob, settings: _ScanSettings, tile_bytes: int
) -> ScanPlan:
    """What every scan task does: the transforms, tiles (of at most ``tile_bytes``, the
    parts of a tile together), label counts, sample and parts."""
    m, parts, transforms = opened.layout.m, job.parts, tuple(settings.transforms)
    tile = settings.tile_size or choose_tile_size(m, tile_bytes // max(1, parts))
    label_info, names = opened.labels, tuple(opened.classes)
    label_spec = LabelSpec(label_info[0], label_info[1], names) if label_info else None
    parts_transform = "logit" if "logit" in transforms else transforms[0]
    return ScanPlan(
        opened.layout,
        transforms,
        settings.score_spec,
        tile,
        label_spec,
        settings.sample_rows,
        parts,
        parts_transform if parts else None,
        settings.by,
    )


def _check_report(report, id_column: str | None, drop_invalid: bool) -> None:
    """Say when tasks were retried; stop on invalid rows unless they are to be dropped."""
    if report.tasks_retried:
        log.warning(
            "%d of %d scan tasks were retries of tasks that failed or lost their "
            "executor; the results are exact: each partition is counted once",
            report.tasks_retried,
            report.tasks,
        )
    report.raise_if_invalid(drop_invalid, id_column or "row positions within a task")


def _correlations(
    moments: dict, transforms: Sequence[str], zero_variance: str, class_names: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Each transform's correlation matrix, and its classes of constant scores (named, and
    warned about), in the order of ``transforms``."""
    matrices, zero = {}, {}
    for t in transforms:
        corr = moments[t].correlation(zero_variance)
        matrices[t] = corr.matrix
        zero[t] = [class_names[i] for i in corr.zero_variance]
        if zero[t]:
            log.warning(
                "%s: %d classes have constant scores and correlate 0 with all others: %s",
                t,
                len(zero[t]),
                ", ".join(zero[t][:10]),
            )
    return matrices, zero


def _versions() -> dict[str, str]:
    """The versions a run's numbers depend on, for run.json."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pyarrow": pyarrow.__version__,
        "executable": sys.executable,
    }
