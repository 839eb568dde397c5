"""Label baselines (paper Fig. 4a): co-occurrence and confusion matrices beside the similarity.

* Co-occurrence (multi-label): counts ordered by taxonomy path (lexicographic over the levels,
  coarse to fine; ties by class index) with the taxonomy bars, diagonal (class frequencies)
  removed, red tick marks at the star classes of ``groups.json`` (named when not every name
  fits).
* Confusion (single-label): counts with the diagonal (correct predictions) removed, shown in the
  similarity order (``groups.json`` ``order.order``, else identity) and in its own order, the
  leaves of ``classsim_spark.core.taxonomy.linkage_from_matrix(C, "confusion")`` (average linkage of
  the symmetrised row-normalised confusion, drawn as its dendrogram), beside the similarity
  matrix in the similarity order. When not every name fits, the most confused classes are named.

Every matrix is a :mod:`~classsim_spark.render.heatmap` panel, so the label and pixel rules of the
similarity heatmap hold here too. ``*_layout`` functions compute (pure); ``draw_*`` functions
return a Figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from scipy.cluster.hierarchy import leaves_list

from classsim_spark.core.taxonomy import Taxonomy, linkage_from_matrix
from classsim_spark.io.taxonomy_file import read_taxonomy
from classsim_spark.render.heatmap import (
    CALLOUTS_MAX,
    HeatmapLayout,
    draw_heatmap,
    draw_heatmaps,
    heatmap_layout,
)
from classsim_spark.render.inputs import find_taxonomy, read_groups, read_linkage, read_orders

COUNT_CMAP = "plasma"
"""Counts: zero counts are drawn as background (white); the lowest count is dark, so a single
confusion among thousands of classes still shows."""


def _counts(log: bool) -> dict:
    """:func:`heatmap_layout` options of a count matrix (zeros below the cut-off of 1; a pixel
    covering several cells shows the largest count, so a single one stays visible)."""
    return {
        "log": log,
        "cmap": COUNT_CMAP,
        "cutoff": 1.0,
        "colorbar_label": "samples",
        "pool_by": "max",
    }


def without_diagonal(C) -> np.ndarray:
    """``C`` as float64 with the diagonal set to 0."""
    D = np.array(C, dtype=np.float64)
    np.fill_diagonal(D, 0.0)
    return D


def taxonomy_order(paths) -> np.ndarray:
    """Class indices sorted by taxonomy path (lexicographic), ties by index."""
    return np.array(sorted(range(len(paths)), key=lambda i: (tuple(paths[i]), i)), dtype=np.int64)


def _scale(log: bool) -> str:
    return "log" if log else "linear"


# --------------------------------------------------------------------------- confusion


@dataclass(frozen=True)
class ConfusionLayout:
    """Confusion counts (diagonal removed) in two orders beside the similarity matrix.

    Attributes
    ----------
    classes : list of str
    confusion : ndarray (m, m)
        Off-diagonal confusion counts, class order (diagonal 0).
    similarity_order, own_order : ndarray of int
        Permutations: the similarity order and the confusion linkage leaves.
    most_confused : ndarray of int
        Class ids by off-diagonal confusion (row plus column sums), most first.
    transform : str
    log : bool
    panels : list of HeatmapLayout
        Similarity (similarity order), confusion (similarity order), confusion (own order).
    """

    classes: list[str]
    confusion: np.ndarray
    similarity_order: np.ndarray
    own_order: np.ndarray
    most_confused: np.ndarray
    transform: str
    log: bool
    panels: list[HeatmapLayout]

    def confusion_in(self, order) -> np.ndarray:
        order = np.asarray(order)
        return self.confusion[np.ix_(order, order)]


def confusion_layout(
    result, transform: str | None = None, order=None, log: bool = False, **similarity_options
) -> ConfusionLayout:
    """Compute the confusion view of a results directory with ``confusion.npy``.

    Parameters
    ----------
    result : SimilarityResult
    transform : str, optional
        Similarity matrix shown (default: the analysed one, else the first).
    order : int sequence, optional
        Similarity order (default: ``groups.json``'s, else identity).
    log : bool
        Logarithmic colour scale for the counts.
    **similarity_options
        Passed to :func:`heatmap_layout` for the similarity panel (``diverging``, ``cutoff``,
        ``contrast``, ...). ``names_max`` and ``highlight`` apply to all three panels
        (``highlight`` default: the most confused classes).
    """
    if "confusion" not in result.counts:
        raise KeyError("the results directory has no confusion.npy (single-label runs only)")
    C = np.asarray(result.counts["confusion"])
    groups = read_groups(result)
    g_order = groups.order if groups else {}
    transform = transform or g_order.get("transform") or result.transforms[0]
    if order is None and g_order.get("transform") == transform:
        order = g_order.get("order")
    if order is None:  # another transform: its own hclust order, when analysed
        order = read_orders(result, transform).get("order")
    m = C.shape[0]
    how = "class order (not analysed)" if order is None else "similarity order"
    order = np.arange(m) if order is None else np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(m)):
        raise ValueError("order is not a permutation of the classes")
    own_linkage = read_linkage(result, "confusion")  # the analysis's, when it had a taxonomy
    if own_linkage is None:
        own_linkage = linkage_from_matrix(C, "confusion")
    own = leaves_list(own_linkage).astype(np.int64)
    D = without_diagonal(C)
    volume = D.sum(axis=0) + D.sum(axis=1)
    most = np.argsort(-volume, kind="stable")[: int(np.count_nonzero(volume))]
    names = list(result.classes)
    highlight = similarity_options.pop("highlight", None) or most[:CALLOUTS_MAX].tolist()
    counts = {**_counts(log), "highlight": highlight}
    if "names_max" in similarity_options:
        counts["names_max"] = similarity_options["names_max"]
    panels = [
        heatmap_layout(
            result.matrix(transform),
            names,
            order,
            linkage=read_linkage(result, transform),
            highlight=highlight,
            title=f"similarity ({transform}), {how}",
            **similarity_options,
        ),
        heatmap_layout(
            D, names, order, title=f"confusion ({_scale(log)}, no diagonal), {how}", **counts
        ),
        heatmap_layout(
            D,
            names,
            own,
            linkage=own_linkage,
            title=f"confusion ({_scale(log)}, no diagonal), own order",
            **counts,
        ),
    ]
    return ConfusionLayout(names, D, order, own, most, transform, bool(log), panels)


def draw_confusion(layout: ConfusionLayout) -> Figure:
    """Similarity | confusion in the similarity order | confusion in its own order."""
    return draw_heatmaps(layout.panels)


# --------------------------------------------------------------------------- co-occurrence


@dataclass(frozen=True)
class CooccurrenceLayout:
    """Co-occurrence counts ordered by taxonomy, with star classes marked.

    Attributes
    ----------
    classes : list of str
    cooccurrence : ndarray (m, m)
        Counts with the diagonal removed, class order.
    order : ndarray of int
        Taxonomy-path order (identity when no taxonomy is known).
    taxonomy_levels : tuple of str
        Empty when no taxonomy was found.
    star_positions : ndarray of int
        Positions (in ``order``) of the star classes, ascending.
    star_names : list of str
    log : bool
    panel : HeatmapLayout
    """

    classes: list[str]
    cooccurrence: np.ndarray
    order: np.ndarray
    taxonomy_levels: tuple[str, ...]
    star_positions: np.ndarray
    star_names: list[str]
    log: bool
    panel: HeatmapLayout

    @property
    def ordered(self) -> np.ndarray:
        return self.cooccurrence[np.ix_(self.order, self.order)]


def cooccurrence_layout(
    result, taxonomy: Taxonomy | str | None = None, log: bool = False, **label_options
) -> CooccurrenceLayout:
    """Compute the co-occurrence view of a results directory with ``cooccurrence.npy``.

    ``label_options`` (``names_max``, ``highlight``) go to :func:`heatmap_layout`; by default
    the star classes are the ones named when not every name fits.

    ``taxonomy``: a :class:`Taxonomy`, a taxonomy file, or None to use the file named in
    ``groups.json`` (``taxonomy.file``, as given to the run, or relative to the results
    directory); without one the class order is kept.
    """
    if "cooccurrence" not in result.counts:
        raise KeyError("the results directory has no cooccurrence.npy (multi-label runs only)")
    groups = read_groups(result)
    names = list(result.classes)
    if taxonomy is None:
        taxonomy = find_taxonomy(result, groups)
    elif not isinstance(taxonomy, Taxonomy):
        taxonomy = read_taxonomy(taxonomy, names)
    m = len(names)
    if taxonomy is None:
        order, levels, paths = np.arange(m, dtype=np.int64), (), None
    else:
        order, levels, paths = (
            taxonomy_order(taxonomy.paths),
            tuple(taxonomy.levels),
            taxonomy.paths,
        )
    stars = sorted(groups.stars if groups else [], key=lambda s: -s.z)
    star_ids = list(dict.fromkeys(s.class_id for s in stars))
    position = np.empty(m, dtype=np.int64)
    position[order] = np.arange(m)
    star_pos = np.sort(position[star_ids]) if star_ids else np.array([], dtype=np.int64)
    how = "taxonomy order" if levels else "class order (no taxonomy)"
    D = without_diagonal(result.counts["cooccurrence"])
    panel = heatmap_layout(
        D,
        names,
        order,
        taxonomy_paths=paths,
        taxonomy_levels=levels or None,
        **_counts(log),
        ticks=star_ids,
        **{"highlight": star_ids, **label_options},
        title=f"co-occurrence ({_scale(log)}, no diagonal), {how}; {len(star_ids)} stars ticked",
    )
    return CooccurrenceLayout(
        names, D, order, levels, star_pos, [names[order[p]] for p in star_pos], bool(log), panel
    )


def draw_cooccurrence(layout: CooccurrenceLayout) -> Figure:
    """The co-occurrence matrix in taxonomy order; tick marks (and names) at star classes."""
    return draw_heatmap(layout.panel)
