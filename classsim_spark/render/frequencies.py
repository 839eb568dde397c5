"""Class frequencies (paper Fig. 3): sorted descending, the long tail in a second panel.

Split rule (:func:`split_point`): the head is the smallest number ``k`` of most frequent classes
whose counts cover at least ``coverage`` (default 80 %) of all positives; the remaining classes
are the tail. With all counts zero, or when the tail would be empty, there is a single panel.

:func:`frequency_layout` computes (pure); :func:`draw_frequencies` draws and returns a Figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from classsim_spark.render.fonts import covers_layout, label_text
from classsim_spark.render.inputs import as_result

DEFAULT_COVERAGE = 0.8
MAX_TICK_LABELS = 40


@dataclass(frozen=True)
class FrequencyLayout:
    """Sorted frequencies and the head/tail split.

    Attributes
    ----------
    order : ndarray of int
        Class indices, most frequent first (ties by class index).
    names : list of str
        Class names in that order.
    counts : ndarray of int64
        Frequencies in that order.
    split : int
        Number of head classes (``order[:split]``); ``split == m`` means no tail panel.
    coverage : float
        The rule's target share.
    head_share : float
        Share of all positives the head actually covers.
    log : bool
    """

    order: np.ndarray
    names: list[str]
    counts: np.ndarray
    split: int
    coverage: float
    head_share: float
    log: bool


def split_point(sorted_counts, coverage: float = DEFAULT_COVERAGE) -> int:
    """Smallest k >= 1 with ``sum(sorted_counts[:k]) >= coverage * sum(sorted_counts)``."""
    c = np.asarray(sorted_counts, dtype=np.float64)
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    total = c.sum()
    if c.size == 0:
        return 0
    if total <= 0:
        return c.size
    cum = np.cumsum(c)
    k = int(np.searchsorted(cum, coverage * total - 1e-9 * total, side="left")) + 1
    return min(max(k, 1), c.size)


def thin_ticks(n: int, max_labels: int = MAX_TICK_LABELS) -> np.ndarray:
    """Positions 0..n-1 with a stride so that at most ``max_labels`` are kept."""
    step = max(1, int(np.ceil(n / max_labels)))
    return np.arange(0, n, step)


def frequency_layout(
    result_or_counts, classes=None, coverage: float = DEFAULT_COVERAGE, log: bool = False
) -> FrequencyLayout:
    """Sort class frequencies and split off the tail.

    Parameters
    ----------
    result_or_counts : SimilarityResult or array_like
        A result with ``counts["frequencies"]``, or the frequencies themselves.
    classes : sequence of str, optional
        Class names (needed with raw counts; default ``"0".."m-1"``).
    """
    if hasattr(result_or_counts, "counts"):
        if "frequencies" not in result_or_counts.counts:
            raise KeyError("the results directory has no frequencies.npy")
        counts = np.asarray(result_or_counts.counts["frequencies"])
        classes = list(result_or_counts.classes) if classes is None else list(classes)
    else:
        counts = np.asarray(result_or_counts)
    counts = counts.astype(np.int64).ravel()
    if classes is None:
        classes = [str(i) for i in range(counts.size)]
    if len(classes) != counts.size:
        raise ValueError(f"{len(classes)} class names for {counts.size} frequencies")
    order = np.argsort(-counts, kind="stable")
    sorted_counts = counts[order]
    k = split_point(sorted_counts, coverage)
    total = sorted_counts.sum()
    share = float(sorted_counts[:k].sum() / total) if total > 0 else 1.0
    return FrequencyLayout(
        order, [str(classes[i]) for i in order], sorted_counts, k, float(coverage), share, bool(log)
    )


def _bars(ax, x, counts, names, log, max_labels):
    if len(x) > 60:  # one step patch instead of thousands of rectangles
        positive = counts[counts > 0]
        base = 0.5 * positive.min() if log and positive.size else 0.0
        ax.stairs(counts, np.append(x, x[-1] + 1) - 0.5, baseline=base, fill=True, color="C0")
    else:
        ax.bar(x, counts, width=0.8, color="C0")
    ticks = thin_ticks(len(x), max_labels)
    ax.set_xticks(np.asarray(x)[ticks])
    ax.set_xticklabels(
        [label_text(names[i]) for i in ticks], rotation=90, fontsize=7, parse_math=False
    )
    ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("samples")


@covers_layout
def draw_frequencies(
    layout: FrequencyLayout, figsize=None, dpi: int = 100, max_labels: int = MAX_TICK_LABELS
) -> Figure:
    """Draw the head (left) and, when there is one, the tail (right) of the sorted frequencies."""
    m, k = len(layout.counts), layout.split
    has_tail = 0 < k < m
    fig = Figure(figsize=figsize or (11.0 if has_tail else 7.0, 4.5), dpi=dpi, layout="constrained")
    if m == 0:
        fig.subplots().set_title("no classes")
        return fig
    axes = fig.subplots(1, 2 if has_tail else 1, squeeze=False)[0]
    head_n = k if has_tail else m
    x = np.arange(head_n)
    _bars(axes[0], x, layout.counts[:head_n], layout.names[:head_n], layout.log, max_labels)
    axes[0].set_title(
        f"head: top {head_n} of {m} classes ({100 * layout.head_share:.1f} % of labels; "
        f"rule: cover {100 * layout.coverage:.0f} %)"
        if has_tail
        else f"{m} classes",
        fontsize=9,
    )
    if has_tail:
        xt = np.arange(k, m)
        _bars(axes[1], xt, layout.counts[k:], layout.names[k:], layout.log, max_labels)
        axes[1].set_title(f"tail: {m - k} classes (ranks {k + 1}-{m})", fontsize=9)
    return fig


def frequency_figure(
    results, coverage: float = DEFAULT_COVERAGE, log: bool = False, **kwargs
) -> Figure:
    """:func:`frequency_layout` of a result or results directory, then drawn."""
    return draw_frequencies(
        frequency_layout(as_result(results), coverage=coverage, log=log), **kwargs
    )
