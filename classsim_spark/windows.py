"""Time windows: statistics per value of a column, kept by one scan, composed without Spark.

``classsim similarity --by date`` keeps, next to the statistics of all rows, those of every
value of ``date`` (``windows/``, :mod:`classsim_spark.io.windows`). Any set of values merges into
exactly the statistics a scan of those rows alone would give (:func:`compose_window`,
``classsim window RESULTS --from 2026-01-01 --to 2026-01-31 --out W``), in seconds and without
Spark; ``classsim analyze W`` and ``render W`` follow as for any results directory.

Storage (:func:`window_bytes`): per value, the upper triangle of each transform's co-moment
(8 bytes x m(m+1)/2: 1.1 MB at m = 527, 56 MB at m = 3,755) and of each stability part, plus the
label counts (8 m^2) and the sample. The scan is refused before it starts when the values would
take more than the budget (``windows_budget_gib``, default :data:`WINDOWS_BUDGET_GIB`), or when
the driver, which assembles every value's full matrices, would need more than its memory limit;
the message says what would fit.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from classsim_spark.core.moments import ZeroVarianceError
from classsim_spark.errors import ClasssimError
from classsim_spark.executor.statistics import RowStatistics
from classsim_spark.io.records import LabelsRecord, PartsRecord, SampleRecord
from classsim_spark.io.results import SimilarityResult, read_run
from classsim_spark.io.windows import (
    Windows,
    WindowsError,
    describe_values,
    read_windows,
    window_index,
)

log = logging.getLogger("classsim")

WINDOWS_BUDGET_GIB = 4.0
"""Default disk budget of the per-value statistics of one scan."""


class WindowsBudgetError(ClasssimError, MemoryError):
    """Statistics per value that would exceed their disk budget or the driver's memory."""


def window_bytes(
    m: int, transforms: int, parts: int, labels: bool, sample_rows: int
) -> tuple[int, int]:
    """Bytes one value's statistics take on disk, and on the driver while assembled.

    Parameters
    ----------
    m : int
        Classes.
    transforms, parts : int
        Transforms computed; stability parts kept (of one transform; 0 for none).
    labels : bool
        Whether label counts are kept (a frequency vector and an m x m count matrix).
    sample_rows : int
        Capacity of the sample of raw scores (float32 rows).

    Examples
    --------
    >>> disk, driver = window_bytes(527, 1, 0, False, 0)
    >>> round(disk / 1e6, 2), round(driver / 1e6, 2)
    (1.12, 2.23)
    """
    triangles = transforms + parts
    counts = 8 * (m * m + m) if labels else 0
    sample = 4 * sample_rows * m
    disk = 8 * triangles * (m * (m + 1) // 2 + m) + counts + sample
    driver = 8 * triangles * (m * m + m) + counts + sample
    return disk, driver


def check_windows_budget(
    values: int,
    m: int,
    transforms: int,
    parts: int,
    labels: bool,
    sample_rows: int,
    budget_gib: float,
    limit: int,
) -> None:
    """Refuse, before the scan, ``values`` values whose statistics exceed the disk budget or
    the driver's memory ``limit`` (bytes), saying what would fit.

    Raises
    ------
    WindowsBudgetError
    """
    disk, driver = window_bytes(m, transforms, parts, labels, sample_rows)
    budget = budget_gib * 2**30
    fits = min(int(budget // disk), int(limit // driver))
    if values <= fits:
        log.info(
            "statistics per value: %d values x %.1f MB = %.2f GiB on disk (budget %.1f GiB)",
            values,
            disk / 1e6,
            values * disk / 2**30,
            budget_gib,
        )
        return
    what = (
        f"{values * disk / 2**30:.1f} GiB on disk, over the budget of {budget_gib:g} GiB "
        "(windows_budget_gib)"
        if values * disk > budget
        else f"{values * driver / 2**30:.1f} GiB of driver memory, over its limit of "
        f"{limit / 2**30:.1f} GiB"
    )
    raise WindowsBudgetError(
        f"--by: {values} values x {transforms} transform(s), {parts} stability parts, "
        f"{m} classes would take {what}; {fits} values fit. Scan fewer values (--where), "
        "fewer transforms (--transform), no parts (--stability-parts 0), or raise the budget "
        "(--windows-budget-gib) or the driver's limit (--driver-memory-limit)"
    )


def sorted_keys(by_key: Iterable[str | None]) -> list[str | None]:
    """Values in the order windows are listed and merged: null first, then as text."""
    return sorted(by_key, key=lambda v: (v is not None, v or ""))


def windows_of(column: str, by_key: Mapping[str | None, RowStatistics]) -> Windows:
    """The :class:`Windows` (with arrays) of a scan's statistics per value."""
    keys = sorted_keys(by_key)
    return Windows(
        column,
        keys,
        [by_key[k].n for k in keys],
        [by_key[k].to_arrays() for k in keys],
    )


def select_values(
    values: Sequence[str | None], start: str | None = None, end: str | None = None
) -> list[str | None]:
    """The values from ``start`` to ``end`` (both included; either open), compared as numbers
    when every value is one, else as text (ISO dates sort as text). Nulls belong only to a
    window without bounds.

    Examples
    --------
    >>> select_values(["2026-01-01", "2026-01-02", "2026-01-10"], "2026-01-02", None)
    ['2026-01-02', '2026-01-10']
    >>> select_values(["9", "10", "11"], "9", "10")
    ['9', '10']
    """
    present = [v for v in values if v is not None]
    numeric = all(_is_number(v) for v in present) and (
        all(_is_number(b) for b in (start, end) if b is not None)
    )

    def key(v: str) -> float | str:
        return float(v) if numeric else v

    if start is None and end is None:
        return list(values)
    return [
        v
        for v in present
        if (start is None or key(v) >= key(start)) and (end is None or key(v) <= key(end))
    ]


def compose_window(
    results: str | Path,
    start: str | None = None,
    end: str | None = None,
    values: Sequence[str] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> SimilarityResult:
    """The results of the rows of some values of ``by``, from a results directory's windows,
    without Spark.

    Parameters
    ----------
    results : path
        A results directory scanned with ``by``.
    start, end : str, optional
        The window's first and last value (included), e.g. dates ``2026-01-01``; open when
        omitted.
    values : sequence of str, optional
        The window's values, instead of a range.
    out : path, optional
        Write the window as a results directory (atomically; an existing one only with
        ``overwrite``).

    Returns
    -------
    SimilarityResult
        Its statistics equal those of a scan of the window's rows alone (to rounding); its
        ``run.json`` says which values it holds (``window``) and keeps the scan's provenance.

    Raises
    ------
    WindowsError
        No windows, a value the results do not have, or a window with no rows.
    """
    run, classes = read_run(results)  # the matrices of all rows are not needed
    index = window_index(results)
    chosen = list(values) if values is not None else select_values(index.values, start, end)
    if not chosen:
        raise WindowsError(
            f"no value of {index.column} in {results} lies from {start or 'the first'} to "
            f"{end or 'the last'}: {describe_values(index.values)}"
        )
    windows = read_windows(results, chosen)  # names a value it does not have
    stats = RowStatistics.merge_all([RowStatistics.from_arrays(a) for a in windows.arrays or []])
    if not stats.moments:
        raise WindowsError(f"the window {_span(chosen)} of {results} holds no rows")
    matrices, zero = {}, {}
    for t in run.transforms:
        try:
            corr = stats.moments[t].correlation(run.zero_variance_policy)
        except ZeroVarianceError as err:
            raise WindowsError(f"the window {_span(chosen)}: {err}") from None
        matrices[t] = corr.matrix
        zero[t] = [classes[i] for i in corr.zero_variance]
    window = {
        "column": index.column,
        "values": chosen,
        "rows": windows.rows,
        "composed": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "from": str(Path(results)),
    }
    record = (
        run.replace(  # rows read, dropped and their problems are the scan's, not known per window
            n=stats.n,
            rows_read=None,
            rows_dropped=None,
            problems={},
            problem_examples={},
            zero_variance=zero,
            labels=LabelsRecord.of(run.labels.column, run.labels.multi, stats.counts)
            if run.labels
            else None,
            sample=SampleRecord(
                stats.sample.rows.shape[0], stats.sample.seen, stats.sample.capacity
            )
            if stats.sample is not None
            else None,
            parts=PartsRecord.of(stats.parts),
            by=None,
            window=window,
        )
    )
    result = SimilarityResult(
        list(classes),
        stats.moments,
        matrices,
        zero,
        record,
        counts=stats.counts,
        sample=stats.sample.rows if stats.sample is not None else None,
        parts=stats.parts,
    )
    log.info(
        "window %s of %s: %d values, %d rows", _span(chosen), index.column, len(chosen), stats.n
    )
    if out is not None:
        result.save(out, overwrite=overwrite)
    return result


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _span(values: Sequence[str | None]) -> str:
    shown = [str(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{shown[0]} .. {shown[-1]}"
