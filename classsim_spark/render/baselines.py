"""Label baselines (paper Fig. 4a): co-occurrence and confusion matrices beside the similarity.

* Co-occurrence (multi-label): counts ordered by taxonomy path (lexicographic over the levels,
  coarse to fine; ties by class index), diagonal (class frequencies) removed, tick marks at the
  star classes of ``groups.json`` (``stars[*].class_id`` / ``name``).
* Confusion (single-label): counts with the diagonal (correct predictions) removed, shown in the
  similarity order (``groups.json`` ``order.order``, else identity) and in its own order, the
  leaves (``scipy.cluster.hierarchy.leaves_list``) of
  ``classsim_spark.taxonomy.linkage_from_matrix(C, "confusion")`` (average linkage of the
  symmetrised row-normalised confusion), beside the similarity matrix in the similarity order.

``*_layout`` functions compute (pure); ``draw_*`` functions return a Figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from scipy.cluster.hierarchy import leaves_list

from classsim_spark.render.frequencies import thin_ticks
from classsim_spark.taxonomy import Taxonomy, linkage_from_matrix, read_taxonomy

MAX_TICK_LABELS = 40


def read_groups(result) -> dict:
    """``groups.json`` of a results directory, or ``{}`` when there is none."""
    path = getattr(result, "path", None)
    if path is None or not (Path(path) / "groups.json").is_file():
        return {}
    return json.loads((Path(path) / "groups.json").read_text())


def without_diagonal(C) -> np.ndarray:
    """``C`` as float64 with the diagonal set to 0."""
    D = np.array(C, dtype=np.float64)
    np.fill_diagonal(D, 0.0)
    return D


def spaced(positions, min_gap: float) -> np.ndarray:
    """Indices of ascending ``positions`` kept greedily so that kept ones are >= min_gap apart."""
    keep, last = [], None
    for i, p in enumerate(np.asarray(positions)):
        if last is None or p - last >= min_gap:
            keep.append(i)
            last = p
    return np.array(keep, dtype=np.int64)


def taxonomy_order(paths) -> np.ndarray:
    """Class indices sorted by taxonomy path (lexicographic), ties by index."""
    return np.array(sorted(range(len(paths)), key=lambda i: (tuple(paths[i]), i)), dtype=np.int64)


# --------------------------------------------------------------------------- confusion


@dataclass(frozen=True)
class ConfusionLayout:
    """Confusion counts (diagonal removed) in two orders, and the similarity matrix.

    Attributes
    ----------
    classes : list of str
    confusion : ndarray (m, m)
        Off-diagonal confusion counts, class order (diagonal 0).
    similarity : ndarray (m, m)
        Similarity matrix of ``transform``, class order.
    similarity_order, own_order : ndarray of int
        Permutations: the similarity order and the confusion linkage leaves.
    transform : str
    log : bool
    """

    classes: list[str]
    confusion: np.ndarray
    similarity: np.ndarray
    similarity_order: np.ndarray
    own_order: np.ndarray
    transform: str
    log: bool

    def confusion_in(self, order) -> np.ndarray:
        order = np.asarray(order)
        return self.confusion[np.ix_(order, order)]


def confusion_layout(result, transform: str | None = None, order=None,
                     log: bool = False) -> ConfusionLayout:
    """Compute the confusion view of a results directory with ``confusion.npy``."""
    if "confusion" not in result.counts:
        raise KeyError("the results directory has no confusion.npy (single-label runs only)")
    C = np.asarray(result.counts["confusion"])
    groups = read_groups(result)
    if transform is None:
        transform = (groups.get("order") or {}).get("transform") or result.transforms[0]
    if order is None:
        order = (groups.get("order") or {}).get("order")
    m = C.shape[0]
    order = np.arange(m) if order is None else np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(m)):
        raise ValueError("order is not a permutation of the classes")
    own = leaves_list(linkage_from_matrix(C, "confusion")).astype(np.int64)
    return ConfusionLayout(list(result.classes), without_diagonal(C),
                           np.asarray(result.matrix(transform), dtype=np.float64),
                           order, own, transform, bool(log))


def _matrix_axes(ax, A, names, norm, cmap, title, max_labels):
    im = ax.imshow(A, cmap=cmap, norm=norm, interpolation="nearest", aspect="equal")
    ticks = thin_ticks(len(names), max_labels)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels([names[i] for i in ticks], rotation=90, fontsize=6, parse_math=False)
    ax.set_yticklabels([names[i] for i in ticks], fontsize=6, parse_math=False)
    ax.set_title(title, fontsize=9, parse_math=False)
    return im


def _count_norm(A, log):
    positive = A[A > 0]
    if log and positive.size:
        return LogNorm(vmin=max(positive.min(), 1.0), vmax=max(positive.max(), 1.0 + 1e-9))
    return Normalize(vmin=0.0, vmax=max(float(A.max()), 1e-12))


def _masked(A, log):
    return np.ma.masked_less_equal(A, 0) if log else A


def draw_confusion(layout: ConfusionLayout, figsize=None, dpi: int = 100,
                   max_labels: int = MAX_TICK_LABELS) -> Figure:
    """Similarity (similarity order) | confusion (similarity order) | confusion (own order)."""
    fig = Figure(figsize=figsize or (16.0, 6.0), dpi=dpi, layout="constrained")
    axes = fig.subplots(1, 3)
    so, oo = layout.similarity_order, layout.own_order
    names = np.asarray(layout.classes, dtype=object)
    S = layout.similarity[np.ix_(so, so)]
    im = _matrix_axes(axes[0], S, list(names[so]), Normalize(-1, 1), "RdBu_r",
                      f"similarity ({layout.transform}), similarity order", max_labels)
    fig.colorbar(im, ax=axes[0], shrink=0.7)
    C1, C2 = layout.confusion_in(so), layout.confusion_in(oo)
    norm = _count_norm(layout.confusion, layout.log)
    scale = "log" if layout.log else "linear"
    im = _matrix_axes(axes[1], _masked(C1, layout.log), list(names[so]), norm, "viridis",
                      f"confusion, diagonal removed ({scale}), similarity order", max_labels)
    _matrix_axes(axes[2], _masked(C2, layout.log), list(names[oo]), norm, "viridis",
                 f"confusion, diagonal removed ({scale}), own order", max_labels)
    fig.colorbar(im, ax=axes[1:], shrink=0.7, label="samples")
    return fig


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
    """

    classes: list[str]
    cooccurrence: np.ndarray
    order: np.ndarray
    taxonomy_levels: tuple[str, ...]
    star_positions: np.ndarray
    star_names: list[str]
    log: bool

    @property
    def ordered(self) -> np.ndarray:
        return self.cooccurrence[np.ix_(self.order, self.order)]


def _find_taxonomy(result, groups) -> Taxonomy | None:
    entry = groups.get("taxonomy") or {}
    file = entry.get("file")
    if not file:
        return None
    candidates = [Path(file)]
    if getattr(result, "path", None) is not None:
        candidates.append(Path(result.path) / file)
    for c in candidates:
        if c.is_file():
            return read_taxonomy(c, list(result.classes), entry.get("levels"))
    return None


def cooccurrence_layout(result, taxonomy: Taxonomy | str | Path | None = None,
                        log: bool = False) -> CooccurrenceLayout:
    """Compute the co-occurrence view of a results directory with ``cooccurrence.npy``.

    ``taxonomy``: a :class:`Taxonomy`, a taxonomy file, or None to use the file named in
    ``groups.json`` (``taxonomy.file``, as given to the run, or relative to the results
    directory); without one the class order is kept.
    """
    if "cooccurrence" not in result.counts:
        raise KeyError("the results directory has no cooccurrence.npy (multi-label runs only)")
    groups = read_groups(result)
    if taxonomy is None:
        taxonomy = _find_taxonomy(result, groups)
    elif not isinstance(taxonomy, Taxonomy):
        taxonomy = read_taxonomy(taxonomy, list(result.classes))
    m = len(result.classes)
    if taxonomy is None:
        order, levels = np.arange(m, dtype=np.int64), ()
    else:
        order, levels = taxonomy_order(taxonomy.paths), tuple(taxonomy.levels)
    position = np.empty(m, dtype=np.int64)
    position[order] = np.arange(m)
    stars = sorted({int(s["class_id"]) for s in groups.get("stars") or []})
    star_pos = np.sort(position[stars]) if stars else np.array([], dtype=np.int64)
    star_names = [str(result.classes[order[p]]) for p in star_pos]
    return CooccurrenceLayout(list(result.classes),
                              without_diagonal(result.counts["cooccurrence"]),
                              order, levels, star_pos, star_names, bool(log))


def draw_cooccurrence(layout: CooccurrenceLayout, figsize=None, dpi: int = 100,
                      max_labels: int = MAX_TICK_LABELS) -> Figure:
    """The co-occurrence matrix in taxonomy order; tick marks and names at star classes."""
    fig = Figure(figsize=figsize or (8.0, 7.0), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    A = layout.ordered
    im = ax.imshow(_masked(A, layout.log), cmap="viridis", interpolation="nearest",
                   norm=_count_norm(A, layout.log), aspect="equal")
    stars = layout.star_positions
    # every star gets a tick mark; names only where they keep a gap of m / max_labels rows
    keep = spaced(stars, len(layout.classes) / max_labels)
    ax.set_xticks(stars, minor=True)
    ax.set_yticks(stars, minor=True)
    ax.set_xticks(stars[keep])
    ax.set_yticks(stars[keep])
    names = [layout.star_names[i] for i in keep]
    ax.set_xticklabels(names, rotation=90, fontsize=6, parse_math=False)
    ax.set_yticklabels(names, fontsize=6, parse_math=False)
    ax.tick_params(which="both", length=6, color="red")
    how = (f"taxonomy order ({' > '.join(layout.taxonomy_levels)})" if layout.taxonomy_levels
           else "class order (no taxonomy)")
    ax.set_title(f"label co-occurrence, diagonal removed, {how}; ticks: {len(stars)} star classes",
                 fontsize=9, parse_math=False)
    fig.colorbar(im, ax=ax, shrink=0.7, label="samples")
    return fig
