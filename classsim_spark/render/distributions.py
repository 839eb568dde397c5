"""Distribution panel (paper Fig. 1): input values of one class and off-diagonal similarities.

For each computed transform: the histogram of the input values of a chosen class (top row) and
the histogram of the off-diagonal similarity values ``M[i, j], i < j`` (bottom row), with their
skewness and excess kurtosis printed. The input values come from the uniform row sample the scan
keeps (``sample.npy``, transformed as the scan transformed it) or from ``samples`` given by the
caller; a results directory without either (``--sample-rows 0``) gets the normal density with
the class's mean and standard deviation from the stored moments, and its title says so.

:func:`distribution_layout` computes everything (pure, no matplotlib); :func:`draw_distributions`
draws a layout and returns a :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from classsim_spark.core.transforms import transform_block
from classsim_spark.render.fonts import covers_layout, label_text
from classsim_spark.render.inputs import FigureError, as_result

DEFAULT_BINS = 50


@dataclass(frozen=True)
class TransformPanel:
    """Numbers for one transform's column of the distribution panel.

    Attributes
    ----------
    transform : str
    similarity_edges, similarity_counts : ndarray
        ``np.histogram`` of the off-diagonal values ``M[i, j], i < j`` (NaN dropped).
    skewness, excess_kurtosis : float
        ``scipy.stats.skew`` / ``scipy.stats.kurtosis`` (Fisher, biased) of those values.
    input_source : {"samples", "normal"}
        Where the input-value panel comes from.
    input_edges, input_counts : ndarray or None
        Histogram of the given samples (``input_source == "samples"``).
    input_mean, input_sd : float
        Of the samples, or from the moments (sd with ``n - 1``).
    input_skewness : float or None
        Skewness of the samples; None for the normal approximation.
    normal_x, normal_pdf : ndarray or None
        The normal density drawn when no samples are given (mean +- 4 sd).
    """

    transform: str
    similarity_edges: np.ndarray
    similarity_counts: np.ndarray
    skewness: float
    excess_kurtosis: float
    input_source: str
    input_edges: np.ndarray | None
    input_counts: np.ndarray | None
    input_mean: float
    input_sd: float
    input_skewness: float | None
    normal_x: np.ndarray | None
    normal_pdf: np.ndarray | None


@dataclass(frozen=True)
class DistributionLayout:
    """Everything :func:`draw_distributions` draws."""

    class_name: str
    class_index: int
    panels: list[TransformPanel]


def off_diagonal(M) -> np.ndarray:
    """The values ``M[i, j]`` with ``i < j`` (row-major), NaN dropped."""
    M = np.asarray(M, dtype=np.float64)
    iu = np.triu_indices(M.shape[0], k=1)
    values = M[iu]
    return values[np.isfinite(values)]


def default_class(result) -> int:
    """The class shown by default: the most frequent label when labels exist, else class 0."""
    freq = getattr(result, "counts", {}).get("frequencies")
    return int(np.argmax(freq)) if freq is not None and np.any(freq) else 0


def _class_index(result, class_name: str | None) -> int:
    classes = list(result.classes)
    if class_name is None:
        return default_class(result)
    if class_name not in classes:
        raise FigureError(f"class {class_name!r} is not among the {len(classes)} classes")
    return classes.index(class_name)


def stored_samples(result, k: int) -> dict[str, np.ndarray]:
    """Per transform, the transformed input values of class ``k`` in the run's row sample.

    The scan keeps a uniform sample of the raw input rows (``sample.npy``); each row is
    transformed as the scan transformed it (``run.json``'s score kind, activation and eps), so
    the histogram shows exactly what entered the correlation. Empty without a sample.
    """
    sample = getattr(result, "sample", None)
    if sample is None or len(sample) == 0:
        return {}
    spec = result.run.scores
    block = np.asarray(sample, dtype=np.float64)
    return {t: transform_block(block, t, spec)[:, k] for t in result.transforms}


def distribution_layout(
    result,
    class_name: str | None = None,
    samples: Mapping[str, np.ndarray] | None = None,
    bins: int = DEFAULT_BINS,
) -> DistributionLayout:
    """Compute the distribution panel of a :class:`~classsim_spark.io.results.SimilarityResult`.

    Parameters
    ----------
    result : SimilarityResult
    class_name : str, optional
        Class whose input values are shown; default :func:`default_class`.
    samples : mapping of transform -> 1-d array, optional
        Input values of that class per transform (default: from the run's row sample, see
        :func:`stored_samples`). Transforms without values use the normal approximation from
        ``result.moments[t]`` (mean and sd of the class), and the panel says so.
    bins : int
        Number of equal-width bins of every histogram.
    """
    k = _class_index(result, class_name)
    samples = dict(stored_samples(result, k) if samples is None else samples)
    panels = []
    for t in result.transforms:
        off = off_diagonal(result.matrix(t))
        s_counts, s_edges = np.histogram(off, bins=bins)
        skew = float(stats.skew(off)) if off.size > 2 else float("nan")
        kurt = float(stats.kurtosis(off)) if off.size > 3 else float("nan")
        if t in samples:
            x = np.asarray(samples[t], dtype=np.float64).ravel()
            x = x[np.isfinite(x)]
            i_counts, i_edges = np.histogram(x, bins=bins)
            mean = float(x.mean()) if x.size else float("nan")
            sd = float(x.std(ddof=1)) if x.size > 1 else float("nan")
            panels.append(
                TransformPanel(
                    t,
                    s_edges,
                    s_counts,
                    skew,
                    kurt,
                    "samples",
                    i_edges,
                    i_counts,
                    mean,
                    sd,
                    float(stats.skew(x)) if x.size > 2 else None,
                    None,
                    None,
                )
            )
        else:
            mom = result.moments[t]
            mean = float(mom.mean[k])
            var = float(mom.comoment[k, k]) / max(int(mom.n) - 1, 1)
            sd = float(np.sqrt(max(var, 0.0)))
            if sd > 0:
                nx = np.linspace(mean - 4 * sd, mean + 4 * sd, 201)
                pdf = stats.norm.pdf(nx, loc=mean, scale=sd)
            else:
                nx, pdf = np.array([mean]), np.array([1.0])
            panels.append(
                TransformPanel(
                    t, s_edges, s_counts, skew, kurt, "normal", None, None, mean, sd, None, nx, pdf
                )
            )
    return DistributionLayout(str(result.classes[k]), k, panels)


def _number(x: float | None) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.2f}"


@covers_layout
def draw_distributions(layout: DistributionLayout, figsize=None, dpi: int = 100) -> Figure:
    """Draw a :class:`DistributionLayout`: one column per transform, inputs above similarities."""
    T = len(layout.panels)
    name = label_text(layout.class_name)
    fig = Figure(figsize=figsize or (3.6 * max(T, 1), 6.0), dpi=dpi, layout="constrained")
    axes = fig.subplots(2, max(T, 1), squeeze=False)
    for j, p in enumerate(layout.panels):
        top, bottom = axes[0, j], axes[1, j]
        if p.input_source == "samples":
            top.stairs(p.input_counts, p.input_edges, fill=True, color="C0")
            n = int(p.input_counts.sum())
            title = f"{p.transform}: {name} ({n} sampled rows)\nskew = {_number(p.input_skewness)}"
            top.set_ylabel("rows")
        else:
            top.plot(p.normal_x, p.normal_pdf, color="C0")
            top.fill_between(p.normal_x, p.normal_pdf, alpha=0.3, color="C0")
            title = (
                f"{p.transform}: {name}\n"
                f"normal approx. (mean {p.input_mean:.3g}, sd {p.input_sd:.3g}; no samples)"
            )
            top.set_ylabel("density")
        top.set_title(title, fontsize=8, parse_math=False)
        top.set_xlabel("input value", fontsize=8)
        bottom.stairs(p.similarity_counts, p.similarity_edges, fill=True, color="C1")
        bottom.set_title(
            f"{p.transform}: off-diagonal similarity\n"
            f"skew = {_number(p.skewness)}, excess kurtosis = {_number(p.excess_kurtosis)}",
            fontsize=8,
            parse_math=False,
        )
        bottom.set_xlabel("similarity", fontsize=8)
        bottom.set_ylabel("pairs")
    return fig


def distribution_figure(results, class_name=None, samples=None, **kwargs) -> Figure:
    """:func:`distribution_layout` of a result or results directory, then drawn."""
    return draw_distributions(
        distribution_layout(as_result(results), class_name, samples), **kwargs
    )
