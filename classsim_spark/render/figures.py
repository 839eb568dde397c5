"""The figures of a results directory, as Figure functions and as files in ``figures/``.

Which figures exist depends on what the directory holds:

=======================  ====================================================================
``similarity``           the chosen matrix in hclust order with dendrogram and structure
                         (spans, split and failed groups, near duplicates; Figs. 4b, 5)
``similarity-cells``     the ``similarity`` figure's matrix at one pixel per cell, nothing else
                         (PNG only); when the figure pools cells (above 2,048 classes) and
                         m <= 4,096
``similarity-taxonomy``  the same matrix in taxonomy order (Fig. 2a) beside the hclust view
                         (Fig. 2b); when the analysis had a taxonomy
``distributions``        input values and off-diagonal similarities per transform (Fig. 1)
``frequencies``          sorted class frequencies, the tail in its own panel (Fig. 3); labels
``confusion``            similarity | confusion in similarity order | confusion in own order
                         (Fig. 4a's baseline); single-label runs
``cooccurrence``         co-occurrence in taxonomy order with star ticks (Fig. 4a); multi-label
=======================  ====================================================================

:func:`render` writes each as PNG plus SVG or PDF. The folder is written under a temporary name
and renamed when complete, so an interrupted render never leaves a partial set; an existing set
is replaced only when asked.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import classsim_spark.processes as processes  # noqa: E402
from classsim_spark.io.records import GroupsRecord  # noqa: E402
from classsim_spark.io.results import (  # noqa: E402
    EXPLORER_FILE,
    FIGURES_DIR,
    SimilarityResult,
    atomic_directory,
    foreign_entries,
    require_stage,
    stage,
    stage_done,
)
from classsim_spark.render import fonts  # noqa: E402
from classsim_spark.render.baselines import (  # noqa: E402
    confusion_layout,
    cooccurrence_layout,
    draw_confusion,
    draw_cooccurrence,
)
from classsim_spark.render.distributions import distribution_figure  # noqa: E402
from classsim_spark.render.frequencies import DEFAULT_COVERAGE, frequency_figure  # noqa: E402
from classsim_spark.render.heatmap import (  # noqa: E402
    FULL_RESOLUTION_MAX,
    NAMES_MAX,
    HeatmapLayout,
    draw_heatmap,
    draw_heatmaps,
    heatmap_layout,
    image_pool,
    save_figure,
)
from classsim_spark.render.inputs import (  # noqa: E402
    FigureError,
    as_result,
    find_taxonomy,
    read_groups,
    read_linkage,
    read_orders,
)
from classsim_spark.render.png import encode_png  # noqa: E402

log = logging.getLogger("classsim")

VECTOR_FORMATS: tuple[str, ...] = ("svg", "pdf")
VIEWS: tuple[str, ...] = ("hclust", "taxonomy")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclass(frozen=True)
class RenderOptions:
    """How the figures look; the ``[render]`` section of the configuration.

    Attributes
    ----------
    transform : str or None
        Matrix shown (default: the one the analysis chose, else the first computed).
    diverging : bool
        Similarity colours centred at 0 with a diverging colormap (default sequential).
    cutoff : float or None
        Similarities below it drawn as background.
    contrast : float
        Gamma of the similarity colour scale (1 linear; < 1 spreads the low values).
    log_counts : bool
        Logarithmic colour scale for confusion and co-occurrence counts.
    names_max : int
        Largest number of classes for which every name is drawn.
    highlight : tuple of str
        Classes named with leader lines when not every name fits (default: the notable ones the
        analysis found: near duplicates, stars, failed-group members).
    coverage : float
        Share of positives the head of the frequency figure covers.
    distribution_class : str or None
        Class whose input values the distribution figure shows (default: the most frequent
        label, else the first class).
    """

    transform: str | None = None
    diverging: bool = False
    cutoff: float | None = None
    contrast: float = 1.0
    log_counts: bool = False
    names_max: int = NAMES_MAX
    highlight: tuple[str, ...] = ()
    coverage: float = DEFAULT_COVERAGE
    distribution_class: str | None = None

    def __post_init__(self):
        if isinstance(self.highlight, str):  # one comma-separated string, as on the CLI
            object.__setattr__(
                self, "highlight", tuple(h.strip() for h in self.highlight.split(",") if h.strip())
            )
        object.__setattr__(self, "highlight", tuple(self.highlight))
        if self.cutoff is not None and not _is_number(self.cutoff):
            raise FigureError(f"render cutoff must be a number, got {self.cutoff!r}")
        if not (_is_number(self.contrast) and 0 < self.contrast < float("inf")):
            raise FigureError(f"render contrast must be a number > 0, got {self.contrast!r}")
        if not (
            isinstance(self.names_max, int)
            and not isinstance(self.names_max, bool)
            and self.names_max >= 0
        ):
            raise FigureError(f"render names_max must be an integer >= 0, got {self.names_max!r}")
        if not (_is_number(self.coverage) and 0 < self.coverage <= 1):
            raise FigureError(f"render coverage must be in (0, 1], got {self.coverage!r}")

    def labels(self) -> dict:
        """Keyword arguments of :func:`heatmap_layout` that choose the names drawn."""
        kw: dict = {"names_max": self.names_max}
        if self.highlight:
            kw["highlight"] = list(self.highlight)
        return kw

    def similarity(self) -> dict:
        """Keyword arguments of :func:`heatmap_layout` for similarity matrices."""
        return {
            "diverging": self.diverging,
            "cutoff": self.cutoff,
            "contrast": self.contrast,
            **self.labels(),
        }


def _transform(result: SimilarityResult, groups: GroupsRecord | None, transform: str | None) -> str:
    t = transform or (groups.transform if groups else None) or result.transforms[0]
    if t not in result.transforms:
        raise FigureError(f"transform {t!r} not in the results ({', '.join(result.transforms)})")
    return t


def taxonomy_brackets(paths, order) -> list[dict]:
    """Runs of consecutive positions of ``order`` that share a taxonomy group, per level.

    Each run is a span ``{"start", "end", "level", "label"}`` (level 1 = coarsest), so the
    taxonomy view labels its groups the way the hclust view labels its blocks.

    Examples
    --------
    >>> spans = taxonomy_brackets([("a", "a1"), ("b", "b1"), ("a", "a2")], [0, 2, 1])
    >>> [(s["label"], s["start"], s["end"], s["level"]) for s in spans]
    [('a', 0, 2, 1), ('b', 2, 3, 1), ('a1', 0, 1, 2), ('a2', 1, 2, 2), ('b1', 2, 3, 2)]
    """
    spans = []
    depth = min((len(p) for p in paths), default=0)
    for k in range(depth):
        keys = [tuple(paths[i][: k + 1]) for i in order]
        start = 0
        for p in range(1, len(keys) + 1):
            if p == len(keys) or keys[p] != keys[start]:
                spans.append(
                    {"start": start, "end": p, "level": k + 1, "label": str(keys[start][-1])}
                )
                start = p
    return spans


def similarity_layout(
    results, transform: str | None = None, view: str = "hclust", **options
) -> HeatmapLayout:
    """Layout of a similarity matrix of a results directory.

    Parameters
    ----------
    results : SimilarityResult or path
    transform : str, optional
        Default: the transform the analysis chose, else the first computed.
    view : {"hclust", "taxonomy"}
        ``hclust``: the analysis order with dendrogram and structure (``groups.json``, when it
        was computed for this transform; else ``order-<t>.json``; else class-id order).
        ``taxonomy``: the taxonomy order the analysis exported, with taxonomy bars.
    **options
        Passed to :func:`heatmap_layout` (``diverging``, ``cutoff``, ``contrast``, ...).
    """
    if view not in VIEWS:
        raise FigureError(f"view must be one of {VIEWS}, got {view!r}")
    result = as_result(results)
    groups = read_groups(result)
    t = _transform(result, groups, transform)
    orders = read_orders(result, t)
    taxonomy = find_taxonomy(result, groups)
    if taxonomy is not None:
        options.setdefault("taxonomy_paths", taxonomy.paths)
        options.setdefault("taxonomy_levels", list(taxonomy.levels))
    if view == "taxonomy":
        order = ((orders.get("alternatives") or {}).get("taxonomy") or {}).get("order")
        if order is None:
            raise FigureError(
                f"no taxonomy order for {t!r}: run `classsim analyze` with a taxonomy first"
            )
        options.setdefault("title", f"similarity ({t}), taxonomy order")
        spans = [] if taxonomy is None else taxonomy_brackets(taxonomy.paths, order)
        return heatmap_layout(
            result.matrix(t), result.classes, order, groups={"spans": spans}, **options
        )
    if groups and groups.order.get("transform") == t and "order" in groups.order:
        order, structure = groups.order["order"], groups.to_json()
    else:
        order, structure = orders.get("order"), None
    options.setdefault("title", f"similarity ({t}), hclust order")
    return heatmap_layout(
        result.matrix(t),
        result.classes,
        order,
        linkage=read_linkage(result, t),
        groups=structure,
        **options,
    )


def similarity_heatmap(results, transform: str | None = None, **options):
    """Figure of :func:`similarity_layout` in the hclust view."""
    return draw_heatmap(similarity_layout(results, transform, "hclust", **options))


def similarity_cells(results, transform: str | None = None, **options) -> np.ndarray:
    """The matrix of :func:`similarity_heatmap` at one pixel per cell, in its order and
    colours, without annotations: an ``(m, m, 4)`` uint8 image.

    Above :data:`~classsim_spark.render.heatmap.MAX_IMAGE_SIDE` classes the figure shows each
    pixel as the mean of several cells; this image keeps every cell, for zooming in an image
    viewer or reading pixels back (``render`` writes it as ``similarity-cells.png``).
    """
    return similarity_layout(results, transform, "hclust", **options).rgba()


def taxonomy_comparison(results, transform: str | None = None, **options):
    """One figure: the matrix in taxonomy order (Fig. 2a) beside the hclust view (Fig. 2b)."""
    return draw_heatmaps(
        [similarity_layout(results, transform, view, **options) for view in VIEWS[::-1]]
    )


def confusion_figure(results, transform: str | None = None, log: bool = False, **options):
    """Similarity | confusion (similarity order) | confusion (own order), as one Figure.

    ``options`` go to the similarity panel (``diverging``, ``cutoff``, ``contrast``,
    ``names_max``, ``highlight``); see :func:`~classsim_spark.render.baselines.confusion_layout`.
    """
    return draw_confusion(confusion_layout(as_result(results), transform, log=log, **options))


def cooccurrence_figure(results, log: bool = False, **label_options):
    """Co-occurrence in taxonomy order with star ticks, as a Figure.

    ``label_options``: ``names_max`` and ``highlight`` (see :func:`heatmap_layout`).
    """
    return draw_cooccurrence(cooccurrence_layout(as_result(results), log=log, **label_options))


def figure_makers(results, options: RenderOptions | None = None) -> dict[str, Callable]:
    """Name -> function returning the Figure, for the figures this result supports."""
    result = as_result(results)
    o = options or RenderOptions()
    groups = read_groups(result)
    t = _transform(result, groups, o.transform)
    sim = o.similarity()
    makers: dict[str, Callable] = {"similarity": lambda: similarity_heatmap(result, t, **sim)}
    if image_pool(result.m) > 1 and result.m <= FULL_RESOLUTION_MAX:
        makers["similarity-cells"] = lambda: similarity_cells(result, t, **sim)
    tax_order = (read_orders(result, t).get("alternatives") or {}).get("taxonomy") or {}
    if tax_order.get("order") is not None and find_taxonomy(result, groups) is not None:
        makers["similarity-taxonomy"] = lambda: taxonomy_comparison(result, t, **sim)
    makers["distributions"] = lambda: distribution_figure(result, o.distribution_class)
    if "frequencies" in result.counts:
        makers["frequencies"] = lambda: frequency_figure(result, coverage=o.coverage)
    if "confusion" in result.counts:
        makers["confusion"] = lambda: confusion_figure(result, t, o.log_counts, **sim)
    if "cooccurrence" in result.counts:
        makers["cooccurrence"] = lambda: cooccurrence_figure(result, o.log_counts, **o.labels())
    return makers


PARALLEL_FROM_M = 1000
"""Smallest m at which ``render`` draws figures in *spawned* processes by default: below it a
figure takes well under a second and starting such a process costs more than it saves.
Forked processes start at once and draw in parallel at any m (CIFAR-10's figures 3.2 -> 2.6 s,
AudioSet's 4.4 -> 3.3 s on 2 cores)."""

_COST = {"confusion": 3, "similarity-taxonomy": 2, "similarity": 1, "similarity-cells": 0.5}
"""Matrix panels per figure: the parallel render starts the largest first."""


def _draw_and_save(make: Callable, name: str, vector: str, out: str) -> tuple[int, int, float]:
    """Draw one figure with ``make`` and write it; (width px, height px, seconds).

    ``make`` returns a Figure (written as PNG and ``vector``) or an image array (PNG only).
    """
    start = time.perf_counter()
    made = make()
    if isinstance(made, np.ndarray):  # an image: its pixels are the file
        (Path(out) / f"{name}.png").write_bytes(encode_png(made))
        return made.shape[1], made.shape[0], time.perf_counter() - start
    fig = made
    try:
        for suffix in ("png", vector):
            save_figure(fig, Path(out) / f"{name}.{suffix}")
        w, h = fig.canvas.get_width_height()
    finally:
        plt.close(fig)
    return w, h, time.perf_counter() - start


@functools.lru_cache(maxsize=1)
def _makers_in_process(path: str, options: RenderOptions | None) -> dict[str, Callable]:
    """:func:`figure_makers` of a results directory, loaded once per spawned figure process
    (the processes live for one ``render``)."""
    return figure_makers(path, options)


def _draw_and_save_from(
    path: str, name: str, options: RenderOptions | None, vector: str, out: str
) -> tuple[int, int, float]:
    """:func:`_draw_and_save` in a figure process: with the parent's makers when forked, else
    loading the results directory itself."""
    makers = processes.handed() or _makers_in_process(path, options)
    return _draw_and_save(makers[name], name, vector, out)


def _start_method() -> str:
    """How figure processes start: forked where :func:`classsim_spark.processes.can_fork`
    allows, else spawned (importing and loading the results again)."""
    return "fork" if processes.can_fork() else "spawn"


def _in_processes(
    workers: int,
    makers: dict[str, Callable],
    path: str,
    names: list[str],
    options,
    vector: str,
    out: str,
    meanwhile: Callable[[], None] | None = None,
) -> dict[str, tuple[int, int, float]]:
    """Draw figures in child processes, largest first; {} if the processes cannot start.
    ``meanwhile`` runs in this process while they draw (the explorer page).

    Forked where that is safe (:func:`_start_method`), else spawned: the parent may be a Spark
    driver holding a JVM gateway or a Spark Connect channel.
    """
    warned = (fonts.warned_characters(),)
    try:
        with processes.pool(workers, _start_method(), makers, fonts.mark_warned, warned) as pool:
            futures = {
                n: pool.submit(_draw_and_save_from, path, n, options, vector, out)
                for n in sorted(names, key=lambda n: -_COST.get(n, 0))
            }
            if meanwhile is not None:
                meanwhile()
            return {n: futures[n].result() for n in names}
    except BrokenProcessPool:
        log.warning(
            "figure processes could not run (a script without an `if __name__ == "
            "'__main__':` guard?); drawing the figures in this process"
        )
        return {}


FIGURE_FILES = re.compile(r"^[\w.-]+\.(png|svg|pdf)$")
"""What a figures directory holds: figure files only."""


def figures_foreign_entries(path: Path) -> list[str]:
    """Entries of ``path`` that ``render`` would not have written (see
    :func:`classsim_spark.io.results.check_writable`)."""
    return foreign_entries(path, FIGURE_FILES)


def render(
    results: SimilarityResult | str | Path,
    vector: str = "svg",
    overwrite: bool = False,
    options: RenderOptions | None = None,
    only: Sequence[str] | None = None,
    workers: int | str = 1,
    explorer: bool = True,
    explorer_budget_mb: float | None = None,
) -> Path:
    """Render the figures of a results directory into ``<dir>/figures``, and ``explorer.html``.

    Parameters
    ----------
    results : SimilarityResult or path
        A saved result (it needs its directory for ``groups.json`` and the output).
    vector : {"svg", "pdf"}
        The vector format written beside each PNG (matrices embedded as images inside).
    overwrite : bool
        Replace an existing ``figures`` folder.
    options : RenderOptions, optional
        How the figures look (colour scale, cut-off, contrast, highlighted classes, ...).
    only : sequence of str, optional
        Names of the figures to write (default: all this result supports).
    workers : int or "auto"
        Processes drawing figures at once; 1 (the default) draws them in this process.
        ``"auto"`` (what the CLI uses): one per CPU when the processes can be forked, or
        when m >= :data:`PARALLEL_FROM_M`. They are forked when nothing here forbids it
        (:func:`_start_method`), else
        *spawned*: a script that runs threads or a Spark session and calls this with
        workers > 1 must guard its own top level with ``if __name__ == "__main__":`` (or the
        children re-run it); if they cannot start, the figures are drawn here instead, with a
        warning.
    explorer : bool
        Also write ``<dir>/explorer.html``, the interactive page
        (:mod:`classsim_spark.render.explorer`); replaced only with ``overwrite``, like the
        figures.
    explorer_budget_mb : float, optional
        The page's size limit for its matrices (default 30 MB; past it they are stored with 8
        bits). The page opens with ``options``' transform and colours.

    Returns
    -------
    Path
        The figures folder.
    """
    if vector not in VECTOR_FORMATS:
        raise FigureError(f"vector format must be one of {VECTOR_FORMATS}, got {vector!r}")
    result = as_result(results)
    if result.path is None:
        raise ValueError("render needs a saved results directory")
    require_stage(result.path, "analyze", "render")
    overwrite = overwrite or not stage_done(result.path, "render")  # a stopped render's figures
    makers = figure_makers(result, options)
    names = list(makers)
    if only is not None:
        only = [only] if isinstance(only, str) else list(only)
        unknown = sorted(set(only) - set(names))
        if unknown or not only:
            raise FigureError(f"figures {unknown or only} not available here; available: {names}")
        names = [n for n in names if n in only]
    if workers == "auto":
        parallel = result.m >= PARALLEL_FROM_M or processes.can_fork()
        workers = (os.cpu_count() or 1) if parallel else 1
    if not isinstance(workers, int) or workers < 1:
        raise FigureError(f"workers must be an integer >= 1 or 'auto', got {workers!r}")
    workers = min(workers, len(names))
    log.info(
        "rendering %d figures of %s (%d classes, %d process%s): %s",
        len(names),
        result.path,
        result.m,
        workers,
        "es" if workers > 1 else "",
        ", ".join(names),
    )
    out = result.path / FIGURES_DIR
    path = str(result.path)
    page = result.path / EXPLORER_FILE
    if explorer and page.exists() and not overwrite:
        raise FigureError(f"{page} already exists; pass --overwrite to replace it")
    fonts.covering_fonts(result.classes)  # names characters no font has, once, before any figure
    with stage(result.path, "render"):
        with atomic_directory(
            out, overwrite, foreign=figures_foreign_entries, what="classsim figures directory"
        ) as tmp:
            page_due = explorer

            def write_page() -> None:  # while the figure processes draw, when there are some
                from classsim_spark.render.explorer import write_explorer  # builds on this module

                nonlocal page_due
                write_explorer(result, explorer_budget_mb, options)
                page_due = False

            done = {}
            if workers > 1:
                page = write_page if explorer else None
                done = _in_processes(workers, makers, path, names, options, vector, str(tmp), page)
            for name in names:
                if name not in done:
                    done[name] = _draw_and_save(makers[name], name, vector, str(tmp))
            for name, (w, h, seconds) in done.items():
                log.info("figure %s: %d x %d px, %.1f s", name, w, h, seconds)
        if page_due:
            write_page()
    return out


def options_from_config(section: dict) -> RenderOptions:
    """:class:`RenderOptions` from the ``[render]`` section of a merged configuration."""
    values = {k: v for k, v in section.items() if k in RenderOptions.__dataclass_fields__}
    values["highlight"] = values.get("highlight") or ()
    return RenderOptions(**values)
