"""Matrix heatmaps: a layout computed without drawing, then drawn with matplotlib.

:func:`heatmap_layout` turns a matrix, an order and the structure found by the analysis
(``groups.json``) into a :class:`HeatmapLayout` holding everything in *order coordinates*
(position ``p`` is the ``p``-th class of the order; cell ``(r, c)`` is row ``r``, column ``c``).
:func:`draw_heatmap` draws one layout; :func:`draw_heatmaps` draws several side by side in one
figure (the taxonomy view beside the hclust view, the confusion views beside the similarity).

Drawn: the reordered matrix (one image pixel per cell, embedded unresampled in SVG/PDF so vector
files stay small and exact), a colour bar, the dendrogram on the left when a linkage consistent
with the order is given, taxonomy colour bars, block spans bracketed and labelled along the left,
split groups boxed in red (both mirror cells), failed groups as blue auxiliary columns on the
right, near-duplicate pairs circled, red tick marks at star classes, and class names:

* every name (right and bottom) when ``m <= names_max`` (each name gets its own row);
* otherwise block labels on the left and a *selected* set of classes on the right, each joined to
  its row by a leader line. Labels are placed by :func:`place_labels` (the non-overlapping
  placement closest to the rows, in least squares), so no two names overlap at any m.

Text is drawn literally (``parse_math=False``, ``usetex=False``); any label that still overlaps
another (block labels of tiny spans) is dropped, larger spans first. The PNG gets at least one
pixel per class: the figure grows with m.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox, IdentityTransform

from classsim_spark.core.stability import UNSTABLE_BELOW
from classsim_spark.render.fonts import covers_layout, display_text
from classsim_spark.render.inputs import FigureError
from classsim_spark.render.png import fast_png

NAMES_MAX = 150
"""Largest m for which every class name is drawn (beyond it, block labels and callouts)."""

CALLOUTS_MAX = 60
"""Most classes named with leader lines when not every name fits."""

SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
BACKGROUND = "white"
SPLIT_COLOR = "red"
FAILED_COLOR = "#1f4fbf"
DUPLICATE_COLOR = "black"
UNSTABLE = (0, (2, 2))
"""Line style of findings that fewer than half of the subsamples reproduce (dashed)."""
UNSTABLE_TEXT_COLOR = "0.5"
UNSTABLE_NOTE = (
    f"dashed / grey / '?': found in fewer than {UNSTABLE_BELOW:.0%} of subsamples "
    "(stability, groups.json)"
)
UNSTABLE_FAILED_COLOR = "#8fa7df"
TICK_COLOR = "red"
LEADER_COLOR = "0.45"
CALLOUT_FONTSIZE = 7.0
NAME_INCHES = 3.0
"""Longest class name drawn (inches); longer names end in an ellipsis."""
_COLOUR_ROWS = 64
"""Rows of the matrix coloured at once (see :meth:`HeatmapLayout.rgba`)."""
MAX_IMAGE_SIDE = 2048
"""Most image pixels across a figure's matrix: above it each pixel shows the mean colour of
f x f cells (f = ceil(m / 2048)), so a figure stays an overview a screen or a page can show
whole (at 3,755 classes one pixel per cell made 4,383 x 3,846 px figures, three panels wide for
the confusion figure, that took most of a run's figure time). Every cell is in
``similarity-cells.png`` up to :data:`FULL_RESOLUTION_MAX` classes and in the explorer at any m."""
FULL_RESOLUTION_MAX = 4096
"""Most classes for which a pooled figure gets a one-pixel-per-cell PNG beside it: at 10,000
classes such a PNG is 100 million pixels that no viewer shows whole."""


def image_pool(m: int) -> int:
    """Cells per image pixel along each side of an m-class matrix in a figure (1 up to
    :data:`MAX_IMAGE_SIDE` classes).

    >>> image_pool(2048), image_pool(2049), image_pool(10_000)
    (1, 2, 5)
    """
    return max(1, math.ceil(m / MAX_IMAGE_SIDE))


_TEXT = {"parse_math": False, "usetex": False}


@dataclass
class HeatmapLayout:
    """Everything a heatmap shows, in order coordinates; no matplotlib objects.

    Attributes
    ----------
    order : int array (m,)
        Class id at each position.
    matrix : float array (m, m)
        ``M[order][:, order]``.
    names : list of str
        Class names in the order.
    vmin, vmax : float
        Colour limits (values outside are drawn in the end colours).
    cmap : str
        Colormap name.
    diverging : bool
        Whether the colours are centred at 0 (``vmin == -vmax``).
    log : bool
        Logarithmic colour scale (counts); values <= 0 are drawn in ``background``.
    contrast : float
        Gamma of the colour scale (1 linear; < 1 spreads the low values).
    cutoff : float or None
        Values below it are drawn in ``background``.
    background : str
    dendrogram : dict or None
        ``icoord`` / ``dcoord`` lists of the links, ``icoord`` in order positions.
    taxonomy : list of dict
        Per level: ``level`` name, ``codes`` (int (m,), in order), ``labels`` (code -> label).
    brackets : list of dict
        The labelled brackets of block (or taxonomy group) spans along the left: ``start``,
        ``end`` (half-open positions), ``label``, ``level`` (1 = outermost),
        ``stable`` (False: drawn dashed and grey, see :func:`is_unstable`).
    split_boxes : list of tuple
        ``(row_start, row_end, col_start, col_end)`` rectangles, both mirror cells of each pair.
    unstable_split_boxes : list of tuple
        The same for unstable split groups (drawn dashed).
    failed_columns : list of dict
        ``label``, ``positions`` (int array) of each failed group's members and ``stable``.
    near_duplicates : list of tuple
        ``(position_i, position_j)`` of each near-duplicate pair.
    unstable_near_duplicates : list of tuple
        The same for unstable pairs (circled dashed).
    ticks : int array
        Positions marked with tick marks on the matrix's left and top edges (star classes).
    show_names : bool
        Every class name drawn (else block labels and ``callouts``).
    callouts : list of dict
        Selected classes named with leader lines: ``position`` (its row), ``name`` and ``y``
        (where the label sits, in rows; see :func:`place_labels`).
    fontsize : float
        Font size of class names (points).
    title, colorbar_label : str
    matrix_inches : float
        Side of the matrix (inches), chosen so that each class gets >= 1 pixel at ``dpi``.
    dpi : float
    pool_by : {"mean", "max"}
        What a pixel shows when it covers several cells (:attr:`pool` > 1): their mean colour
        (similarities), or the colour of their largest value (counts: one confusion among
        thousands stays as dark as it is).
    notes : list of str
        What could not be drawn and why.
    """

    order: np.ndarray
    matrix: np.ndarray
    names: list[str]
    vmin: float
    vmax: float
    cmap: str
    diverging: bool = False
    log: bool = False
    contrast: float = 1.0
    cutoff: float | None = None
    background: str = BACKGROUND
    dendrogram: dict | None = None
    taxonomy: list[dict] = field(default_factory=list)
    brackets: list[dict] = field(default_factory=list)
    split_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    unstable_split_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    failed_columns: list[dict] = field(default_factory=list)
    near_duplicates: list[tuple[int, int]] = field(default_factory=list)
    unstable_near_duplicates: list[tuple[int, int]] = field(default_factory=list)
    ticks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    show_names: bool = True
    callouts: list[dict] = field(default_factory=list)
    fontsize: float = 8.0
    title: str = ""
    colorbar_label: str = ""
    matrix_inches: float = 6.0
    dpi: float = 100.0
    pool_by: str = "mean"
    notes: list[str] = field(default_factory=list)

    @property
    def m(self) -> int:
        return len(self.order)

    @property
    def has_unstable(self) -> bool:
        """Whether any finding drawn is marked unstable."""
        return bool(
            self.unstable_split_boxes
            or self.unstable_near_duplicates
            or not all(s.get("stable", True) for s in self.brackets)
            or not all(f.get("stable", True) for f in self.failed_columns)
        )

    def norm(self):
        """The matplotlib normalisation of the colour scale (log, or linear with contrast)."""
        from matplotlib import colors

        if self.log:
            return colors.LogNorm(self.vmin, self.vmax)
        if self.contrast == 1.0:
            return colors.Normalize(self.vmin, self.vmax)
        g = float(self.contrast)
        if self.diverging:

            def fwd(x):
                return np.sign(x) * np.abs(x) ** g

            def inv(y):
                return np.sign(y) * np.abs(y) ** (1.0 / g)

            return colors.FuncNorm((fwd, inv), self.vmin, self.vmax)
        return colors.PowerNorm(g, self.vmin, self.vmax)

    def colormap(self):
        """The colormap, with hidden values (below the cut-off, NaN) in the background colour."""
        return matplotlib.colormaps[self.cmap].with_extremes(bad=self.background)

    def hidden(self, matrix: np.ndarray | None = None) -> np.ndarray:
        """Cells of ``matrix`` (default: the layout's) drawn in the background colour: NaN,
        below the cut-off, <= 0 on a log scale."""
        matrix = self.matrix if matrix is None else matrix
        hide = ~np.isfinite(matrix)
        if self.cutoff is not None:
            hide |= matrix < self.cutoff
        if self.log:
            hide |= matrix <= 0
        return hide

    def rgba(self, rows: slice = slice(None)) -> np.ndarray:
        """The matrix (or some of its ``rows``) as an ``(m, m, 4)`` uint8 image: what the
        matrix area shows, pixel by cell."""
        return self._colours(self.matrix[rows])

    def _colours(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix`` (values on this layout's scale) as uint8 RGBA colours.

        Coloured a few rows at a time on plain arrays: matplotlib's colormap makes several
        passes over its input, which at m in the thousands run from memory ten times slower
        than from cache (3,755 classes: 0.64 s at once, 0.06 s by rows). Hidden cells get the
        background colour.
        """
        from matplotlib.colors import to_rgba

        norm, cmap = self.norm(), matplotlib.colormaps[self.cmap]
        background = np.round(np.array(to_rgba(self.background)) * 255).astype(np.uint8)
        image = np.empty(matrix.shape + (4,), dtype=np.uint8)
        for start in range(0, len(matrix), _COLOUR_ROWS):
            strip = slice(start, start + _COLOUR_ROWS)
            hide = self.hidden(matrix[strip])
            values = np.where(hide, self.vmax, matrix[strip])
            image[strip] = cmap(np.ma.getdata(norm(values)), bytes=True)
            image[strip][hide] = background
        return image

    @property
    def pool(self) -> int:
        """Cells per image pixel along each side (:func:`image_pool`)."""
        return image_pool(self.m)

    def image(self) -> np.ndarray:
        """What the figure draws: :meth:`rgba`, or above :data:`MAX_IMAGE_SIDE` classes one
        pixel per block of :attr:`pool` x :attr:`pool` cells (the last blocks smaller) --
        their mean colour, or the colour of their largest value (:attr:`pool_by`) -- computed
        a strip of whole blocks of rows at a time."""
        f, m = self.pool, self.m
        if f == 1:
            return self.rgba()
        k = math.ceil(m / f)
        out = np.empty((k, k, 4), dtype=np.uint8)
        sizes = np.minimum(f, m - np.arange(0, m, f))  # cells in each block along a side
        step = f * max(1, _COLOUR_ROWS // f)
        for start in range(0, m, step):
            first = start // f
            if self.pool_by == "max":
                strip = self.matrix[start : start + step]
                peaks = _runs(_runs(strip, f, 0, _largest), f, 1, _largest)
                out[first : first + len(peaks)] = self._colours(peaks)
                continue
            strip = self.rgba(slice(start, start + step))
            sums = _runs(_runs(strip, f, 0, _total), f, 1, _total)
            cells = np.outer(sizes[first : first + len(sums)], sizes)
            out[first : first + len(sums)] = np.round(sums / cells[..., None])
        return out

    # -- geometry (inches), shared by the drawing functions and the tests

    def names_width(self) -> float:
        """Width (inches) of the name column on the right of the matrix (names longer than
        :data:`NAME_INCHES` are shortened with an ellipsis when drawn)."""
        if self.show_names:
            return min(NAME_INCHES, _text_width(self.names, self.fontsize)) + 0.15
        if self.callouts:
            widest = _text_width([c["name"] for c in self.callouts], CALLOUT_FONTSIZE)
            return 0.45 + min(NAME_INCHES, widest) + 0.15
        return 0.1

    def bottom_margin(self) -> float:
        """Space (inches) below the matrix: the vertical names, or room for nothing but air."""
        return max(self.names_width() + 0.1, 0.4) if self.show_names else 0.4

    def geometry(self, bottom: float | None = None) -> dict[str, tuple[float, float, float, float]]:
        """Axes rectangles ``(left, bottom, width, height)`` in inches, and the panel size.

        ``bottom`` aligns panels of one figure (default: this layout's own margin). The key
        ``"figure"`` holds ``(0, 0, width, height)`` of the panel.
        """
        side = self.matrix_inches
        label_w = 1.8 if self.brackets else 0.2
        depth = max((s["level"] for s in self.brackets), default=0)
        bottom = self.bottom_margin() if bottom is None else bottom
        top = 0.5
        x = 0.1 + label_w
        rects: dict[str, tuple[float, float, float, float]] = {}
        if depth:
            rects["brackets"] = (x, bottom, 0.12 * depth, side)
            x += 0.12 * depth + 0.02
        if self.dendrogram:
            rects["dendrogram"] = (x, bottom, 1.0, side)
            x += 1.02
        for k in range(len(self.taxonomy)):
            rects[f"taxonomy{k}"] = (x, bottom, 0.15, side)
            x += 0.18
        rects["matrix"] = (x, bottom, side, side)
        x += side + 0.05
        for k in range(len(self.failed_columns)):
            rects[f"failed{k}"] = (x, bottom, 0.15, side)
            x += 0.18
        rects["names"] = (x, bottom, self.names_width(), side)
        x += self.names_width() + 0.1
        rects["colorbar"] = (x, bottom, 0.2, side)
        x += 1.0
        rects["figure"] = (0.0, 0.0, x, bottom + side + top)
        return rects

    @property
    def figsize(self) -> tuple[float, float]:
        fig = self.geometry()["figure"]
        return fig[2], fig[3]


def _total(a: np.ndarray, axis: int) -> np.ndarray:
    return a.sum(axis=axis, dtype=np.uint32)


def _largest(a: np.ndarray, axis: int) -> np.ndarray:
    return a.max(axis=axis)


def _runs(a: np.ndarray, f: int, axis: int, reduce) -> np.ndarray:
    """``reduce(block, axis)`` (:func:`_total`, :func:`_largest`) over runs of ``f`` along
    ``axis`` of ``a`` (the last run shorter)."""
    a = np.moveaxis(a, axis, 0)
    whole = len(a) // f * f
    runs = [reduce(a[:whole].reshape(len(a) // f, f, *a.shape[1:]), 1)]
    if whole < len(a):
        runs.append(reduce(a[whole:], 0)[None])
    return np.moveaxis(np.concatenate(runs), 0, axis)


# --------------------------------------------------------------------------- layout


def _text_width(texts: Sequence[str], fontsize: float) -> float:
    """Width (inches) of the widest of ``texts`` at ``fontsize``, from the font's metrics."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(size=fontsize)
    widths = [
        text_to_path.get_text_width_height_descent(" ".join(t.split()), prop, ismath=False)[0]
        for t in texts
    ]
    return max(widths, default=0.0) / 72


def shorten(text: str, fontsize: float, inches: float = NAME_INCHES) -> str:
    """``text`` on one line, cut with an ellipsis to at most ``inches`` wide at ``fontsize``.

    >>> shorten("a" * 500, 8.0)[-1], shorten("short", 8.0)
    ('…', 'short')
    """
    text = " ".join(str(text).split())  # one line: newlines would overlap the next row
    if _text_width([text], fontsize) <= inches:
        return display_text(text)
    lo, hi = 0, len(text)  # longest prefix that fits with the ellipsis
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _text_width([text[:mid] + "…"], fontsize) <= inches:
            lo = mid
        else:
            hi = mid - 1
    return display_text(text[:lo] + "…")


def place_labels(targets, height: float, lo: float, hi: float) -> np.ndarray:
    """Positions for labels of equal ``height`` near ``targets`` without overlap.

    Solves ``min sum (y_i - t_i)^2`` subject to ``y_{i+1} - y_i >= height`` and
    ``lo <= y_i <= hi`` for ascending targets ``t``: with ``z_i = y_i - i * height`` the gaps
    become ``z`` non-decreasing, an isotonic regression of ``t_i - i * height``; clipping that
    solution to the bounds solves the bounded problem.

    Parameters
    ----------
    targets : float sequence, ascending
        Where each label would ideally sit.
    height : float
        Smallest distance between neighbouring labels (> 0).
    lo, hi : float
        Range the labels must stay in; needs ``(n - 1) * height <= hi - lo``.

    Returns
    -------
    ndarray
        Label positions, ascending, at least ``height`` apart.

    Examples
    --------
    >>> place_labels([0.0, 0.1, 5.0], 1.0, 0.0, 10.0).round(3).tolist()
    [0.0, 1.0, 5.0]
    """
    from scipy.optimize import isotonic_regression

    t = np.asarray(targets, dtype=float)
    n = t.size
    if n == 0:
        return t
    if np.any(np.diff(t) < 0):
        raise ValueError("targets must be ascending")
    if height <= 0 or (n - 1) * height > hi - lo + 1e-9:
        raise ValueError(f"{n} labels of height {height} do not fit in [{lo}, {hi}]")
    steps = np.arange(n) * height
    z = isotonic_regression(t - steps).x
    z = np.clip(z, lo, hi - (n - 1) * height)
    return z + steps


@dataclass(frozen=True)
class Extremes:
    """Exact extremes of the finite off-diagonal values (NaN when there are none)."""

    low: float
    high: float
    low_positive: float
    high_abs: float


def offdiag_extremes(M: np.ndarray, rows_per_chunk: int = 512) -> Extremes:
    """Extremes of the finite ``M[i, j], i != j``, in row chunks (no m x m temporaries).

    With m = 1 there are no off-diagonal values and the diagonal stands in.
    """
    m = M.shape[0]
    low, high, low_pos = np.inf, -np.inf, np.inf
    for start in range(0, m, rows_per_chunk):
        chunk = np.array(M[start : start + rows_per_chunk], dtype=float)
        if m > 1:
            rows = np.arange(chunk.shape[0])
            chunk[rows, rows + start] = np.nan
        chunk = chunk[np.isfinite(chunk)]
        if chunk.size:
            low, high = min(low, chunk.min()), max(high, chunk.max())
            positive = chunk[chunk > 0]
            if positive.size:
                low_pos = min(low_pos, positive.min())
    nan = float("nan")
    return Extremes(
        float(low) if np.isfinite(low) else nan,
        float(high) if np.isfinite(high) else nan,
        float(low_pos) if np.isfinite(low_pos) else nan,
        float(max(abs(low), abs(high))) if np.isfinite(high) else nan,
    )


def _norm_order(order, m: int) -> np.ndarray:
    o = np.arange(m) if order is None else np.asarray(order, dtype=np.int64)
    if o.shape != (m,) or not np.array_equal(np.sort(o), np.arange(m)):
        raise ValueError(f"order must be a permutation of 0..{m - 1}")
    return o


def _limits(ext: Extremes, *, diverging: bool, log: bool, vmin, vmax, cutoff):
    """Colour limits: the given ones, else the exact off-diagonal range (see heatmap_layout)."""

    def given_or(value, default):
        return default if value is None else float(value)

    if diverging:
        top = given_or(vmax, ext.high_abs if ext.high_abs > 0 else 1.0)
        return -abs(top), abs(top)
    if log:
        lo = given_or(vmin, ext.low_positive if np.isfinite(ext.low_positive) else 1.0)
        hi = given_or(vmax, ext.high if ext.high > 0 else 10.0 * lo)
        if lo <= 0:
            raise ValueError("a log colour scale needs vmin > 0")
    else:
        low = ext.low if np.isfinite(ext.low) else 0.0
        if cutoff is not None:
            low = max(low, float(cutoff))
        lo = given_or(vmin, low)
        hi = given_or(vmax, ext.high if np.isfinite(ext.high) else lo + 1.0)
    if hi <= lo:
        if vmin is not None and vmax is not None:
            raise ValueError(f"vmax ({hi}) must be above vmin ({lo})")
        hi = lo * 10.0 if log else lo + 1.0
    return lo, hi


def _dendrogram(linkage, order: np.ndarray, notes: list[str]) -> dict | None:
    from scipy.cluster.hierarchy import leaves_list

    Z = np.asarray(linkage, dtype=float)
    if Z.shape != (len(order) - 1, 4):
        notes.append("linkage shape does not match m; dendrogram not drawn")
        return None
    if not np.array_equal(leaves_list(Z), order):
        notes.append("linkage leaf order differs from the order; dendrogram not drawn")
        return None
    return dendrogram_links(Z, order)


def dendrogram_links(Z: np.ndarray, order: np.ndarray) -> dict:
    """The links of a linkage's dendrogram with leaves at positions 0..m-1 in ``order``:
    ``icoord`` (positions) and ``dcoord`` (heights) of each link's four points, left child
    then right, as ``scipy.cluster.hierarchy.dendrogram`` draws them (in merge order).

    Computed merge by merge, without recursion: scipy's ``dendrogram`` recurses once per level
    of the tree and fails past Python's recursion limit (a 5,000-class tree did).

    >>> from scipy.cluster.hierarchy import linkage, leaves_list
    >>> Z = linkage([[0.0], [1.0], [5.0]], "average")
    >>> leaves_list(Z).tolist(), dendrogram_links(Z, leaves_list(Z))["icoord"]
    ([2, 0, 1], [[1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 1.5, 1.5]])
    """
    m = len(order)
    x = np.empty(2 * m - 1)
    x[np.asarray(order, dtype=np.int64)] = np.arange(m, dtype=float)
    height = np.zeros(2 * m - 1)
    icoord, dcoord = [], []
    for i, (a, b, dist, _) in enumerate(Z):
        a, b = int(a), int(b)
        icoord.append([x[a], x[a], x[b], x[b]])
        dcoord.append([height[a], dist, dist, height[b]])
        x[m + i], height[m + i] = (x[a] + x[b]) / 2, dist
    return {
        "icoord": [[float(v) for v in link] for link in icoord],
        "dcoord": [[float(v) for v in link] for link in dcoord],
    }


def _taxonomy(paths, levels, order: np.ndarray) -> list[dict]:
    if paths is None:
        return []
    paths = [tuple(p) if not isinstance(p, str) else (p,) for p in paths]
    if len(paths) != len(order):
        raise ValueError("taxonomy_paths needs one path per class")
    depth = min(len(p) for p in paths) if paths else 0
    out = []
    for k in range(depth):
        col = [paths[i][k] for i in order]
        labels, codes = np.unique(np.asarray(col, dtype=object).astype(str), return_inverse=True)
        name = levels[k] if levels is not None and k < len(levels) else f"level {k}"
        out.append(
            {
                "level": str(name),
                "codes": codes.astype(np.int64),
                "labels": [str(s) for s in labels],
            }
        )
    return out


def _class_ids(classes, names: list[str], what: str) -> list[int]:
    """Class ids of names or ids (an unknown one is an error naming it)."""
    index = {n: i for i, n in enumerate(names)}
    ids, unknown = [], []
    for c in classes:
        if isinstance(c, (int, np.integer)) and 0 <= int(c) < len(names):
            ids.append(int(c))
        elif str(c) in index:
            ids.append(index[str(c)])
        else:
            unknown.append(c)
    if unknown:
        raise FigureError(f"{len(unknown)} {what} not among the classes, e.g. {unknown[:5]}")
    return ids


def heatmap_layout(
    M,
    names: Sequence[str],
    order=None,
    *,
    linkage=None,
    groups: Mapping | None = None,
    taxonomy_paths=None,
    taxonomy_levels: Sequence[str] | None = None,
    diverging: bool = False,
    log: bool = False,
    cmap: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cutoff: float | None = None,
    contrast: float = 1.0,
    background: str = BACKGROUND,
    names_max: int = NAMES_MAX,
    highlight: Sequence | None = None,
    callouts_max: int = CALLOUTS_MAX,
    ticks: Sequence | None = None,
    dpi: float = 100.0,
    title: str = "",
    colorbar_label: str = "",
    pool_by: str = "mean",
) -> HeatmapLayout:
    """Compute what a matrix heatmap shows (no drawing).

    Parameters
    ----------
    M : (m, m) array
        Similarity (or count) matrix in class-id order.
    names : sequence of str
        Class names in class-id order.
    order : int sequence, optional
        Class id at each position (default: identity). ``groups`` positions refer to it.
    linkage : (m-1, 4) array, optional
        Drawn as a dendrogram only when its leaf order equals ``order``.
    groups : mapping, optional
        The content of ``groups.json`` (``spans``/``blocks``, ``split_groups``,
        ``failed_groups``, ``near_duplicates``, ``stars``).
    taxonomy_paths : sequence, optional
        Per class (class-id order), its group at each taxonomy level, coarse to fine.
    diverging : bool
        Colours centred at 0 (``vmin = -vmax``) with a diverging colormap.
    log : bool
        Logarithmic colour scale for counts; values <= 0 are drawn as background.
    vmin, vmax : float, optional
        Colour limits (default: the exact range of the finite off-diagonal values, from the
        cut-off up when one is given; the smallest positive value on a log scale; diverging
        scales use ``±vmax``, default the largest absolute value).
    cutoff : float, optional
        Values below it are drawn in ``background``.
    contrast : float
        Gamma of the colour scale (> 0; 1 is linear).
    names_max : int
        Largest m for which every class name is drawn.
    highlight : sequence of class names or ids, optional
        Classes to name with leader lines when not every name fits, most important first.
        Default: near-duplicate pairs, stars, failed-group members and classes a span claims
        outside its block (from ``groups``), in that order.
    callouts_max : int
        Most classes named with leader lines (fewer when the matrix side has less room).
    ticks : sequence of class names or ids, optional
        Classes marked with tick marks on the matrix edges (default: the star classes of
        ``groups``).
    pool_by : {"mean", "max"}
        What a pixel covering several cells shows (:attr:`HeatmapLayout.pool_by`).

    Returns
    -------
    HeatmapLayout

    Examples
    --------
    >>> M = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> lay = heatmap_layout(M, ["cat", "dog", "car"], [2, 0, 1])
    >>> lay.names, lay.matrix[0].tolist(), (lay.vmin, lay.vmax)
    (['car', 'cat', 'dog'], [1.0, 0.1, 0.2], (0.1, 0.8))
    """
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square, got shape {M.shape}")
    m = M.shape[0]
    names = [str(n) for n in names]
    if len(names) != m:
        raise ValueError(f"{len(names)} names for m = {m}")
    if not contrast > 0:
        raise ValueError("contrast must be > 0")
    if log and diverging:
        raise ValueError("a colour scale cannot be both log and diverging")
    if pool_by not in ("mean", "max"):
        raise ValueError(f"pool_by must be 'mean' or 'max', got {pool_by!r}")
    o = _norm_order(order, m)
    lo, hi = _limits(
        offdiag_extremes(M), diverging=diverging, log=log, vmin=vmin, vmax=vmax, cutoff=cutoff
    )
    show = m <= names_max
    # a device pixel per image pixel (plus one, so that rounding never drops a row)
    side = max(6.0, 0.11 * m) if show else max(6.0, (math.ceil(m / image_pool(m)) + 1) / dpi)
    layout = HeatmapLayout(
        order=o,
        matrix=M[np.ix_(o, o)],
        names=[names[i] for i in o],
        vmin=lo,
        vmax=hi,
        cmap=cmap or (DIVERGING_CMAP if diverging else SEQUENTIAL_CMAP),
        diverging=diverging,
        log=log,
        contrast=float(contrast),
        cutoff=cutoff,
        background=background,
        show_names=show,
        fontsize=float(min(9.0, 0.75 * side * 72 / max(m, 1))),
        title=title,
        colorbar_label=colorbar_label,
        matrix_inches=side,
        dpi=dpi,
        pool_by=pool_by,
    )
    pos = np.empty(m, dtype=np.int64)
    pos[o] = np.arange(m)
    if linkage is not None and m >= 2:
        layout.dendrogram = _dendrogram(linkage, o, layout.notes)
    layout.taxonomy = _taxonomy(taxonomy_paths, taxonomy_levels, o)
    if groups:
        _apply_groups(layout, groups, names, pos)
    if ticks is None and groups:
        ticks = [int(s["class_id"]) for s in groups.get("stars", []) if "class_id" in s]
    if ticks:
        layout.ticks = np.sort(pos[_class_ids(ticks, names, "tick classes")])
    chosen = None if highlight is None else _class_ids(highlight, names, "highlighted classes")
    if not show:
        chosen = _notable_classes(groups or {}, names) if chosen is None else chosen
        layout.callouts = _callouts(layout, pos, chosen, callouts_max)
    return layout


def is_unstable(finding: Mapping) -> bool:
    """Whether a finding's ``stability`` (absent: not measured) is below
    :data:`classsim_spark.core.stability.UNSTABLE_BELOW`."""
    value = finding.get("stability")
    return value is not None and not math.isnan(value) and value < UNSTABLE_BELOW


def _apply_groups(
    layout: HeatmapLayout, groups: Mapping, names: list[str], pos: np.ndarray
) -> None:
    m = layout.m
    blocks = {b["id"]: b for b in groups.get("blocks", []) if "id" in b}
    spans = groups.get("spans")
    if not spans:  # fall back on the blocks
        spans = [
            {
                "label": b.get("label"),
                "level": b.get("level", 1),
                "start": b["start"],
                "end": b["end"],
                "block": b["id"],
            }
            for b in blocks.values()
            if "start" in b
        ]
    for s in spans:
        start, end = int(s["start"]), int(s["end"])
        if not 0 <= start < end <= m:
            continue
        label = s.get("label")
        block = blocks.get(s.get("block"), s)
        if label is None:
            label = block.get("label")
        layout.brackets.append(
            {
                "start": start,
                "end": end,
                "level": int(s.get("level") or 1),
                "label": "" if label is None else str(label),
                "stable": not is_unstable(block),
            }
        )
    for sg in groups.get("split_groups", []):
        sp = sg.get("spans")
        if sp is None and "blocks" in sg:
            sp = [[blocks[b]["start"], blocks[b]["end"]] for b in sg["blocks"]]
        if not sp or len(sp) != 2:
            continue
        (a0, a1), (b0, b1) = (map(int, sp[0]), map(int, sp[1]))
        boxes = layout.unstable_split_boxes if is_unstable(sg) else layout.split_boxes
        boxes += [(a0, a1, b0, b1), (b0, b1, a0, a1)]
    index = {n: i for i, n in enumerate(names)}
    for k, fg in enumerate(groups.get("failed_groups", [])):
        if "positions" in fg:
            p = np.asarray(fg["positions"], dtype=np.int64)
        elif "member_ids" in fg:
            p = pos[np.asarray(fg["member_ids"], dtype=np.int64)]
        else:
            p = pos[[index[n] for n in fg.get("members", []) if n in index]]
        label = fg.get("label") or f"F{fg.get('cluster', k)}"
        layout.failed_columns.append(
            {"label": str(label), "positions": np.sort(p), "stable": not is_unstable(fg)}
        )
    for d in groups.get("near_duplicates", []):
        ids = d.get("class_ids") or d.get("ids")
        if ids is None:
            ids = [index[n] for n in d.get("names", []) if n in index]
        if len(ids) == 2:
            pairs = layout.unstable_near_duplicates if is_unstable(d) else layout.near_duplicates
            pairs.append((int(pos[ids[0]]), int(pos[ids[1]])))


def _notable_classes(groups: Mapping, names: list[str]) -> list[int]:
    """Class ids worth naming when not every name fits, most notable first."""
    index = {n: i for i, n in enumerate(names)}

    def ids(entry, id_key, name_key):
        if id_key in entry:
            v = entry[id_key]
            return [int(i) for i in (v if isinstance(v, list) else [v])]
        v = entry.get(name_key, [])
        return [index[n] for n in (v if isinstance(v, list) else [v]) if n in index]

    chosen: list[int] = []
    for d in groups.get("near_duplicates", []):
        chosen += ids(d, "class_ids", "names")
    for s in sorted(groups.get("stars", []), key=lambda s: -float(s.get("z") or 0)):
        chosen += ids(s, "class_id", "name")
    for fg in groups.get("failed_groups", []):
        chosen += ids(fg, "member_ids", "members")
    rows = [r for s in groups.get("spans", []) for r in s.get("rows", [])]
    for r in sorted(rows, key=lambda r: -float(r.get("z") or 0)):
        chosen += ids(r, "class_id", "name")
    return [i for i in dict.fromkeys(chosen) if 0 <= i < len(names)]


def _callouts(
    layout: HeatmapLayout, pos: np.ndarray, class_ids: list[int], most: int
) -> list[dict]:
    """Place the names of ``class_ids`` (priority order) beside their rows without overlap."""
    m = layout.m
    rows_per_point = m / (layout.matrix_inches * 72)
    height = 1.25 * CALLOUT_FONTSIZE * rows_per_point
    room = int((m - height) // height) + 1
    class_ids = list(dict.fromkeys(class_ids))
    keep = sorted(pos[class_ids[: max(0, min(most, room))]].tolist())
    if not keep:
        return []
    y = place_labels(keep, height, -0.5 + height / 2, m - 0.5 - height / 2)
    return [
        {"position": int(p), "name": layout.names[p], "y": float(v)}
        for p, v in zip(keep, y, strict=True)
    ]


# --------------------------------------------------------------------------- drawing


def _drop_overlaps(texts, renderer) -> list:
    """Remove texts overlapping an earlier one (texts sorted by priority); return the kept."""
    kept, boxes = [], []
    for t in texts:
        bb = t.get_window_extent(renderer)
        if any(bb.overlaps(b) for b in boxes):
            t.remove()
            continue
        kept.append(t)
        boxes.append(bb)
    return kept


def _column(add, key, values, cmap, vmin, vmax, m, label, color="black"):
    """A one-pixel-wide image column beside the matrix (taxonomy bar, failed group)."""
    ax = add(key)
    ax.imshow(
        values[:, None],
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="none",
        aspect="auto",
        extent=(-0.5, 0.5, m - 0.5, -0.5),
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylim(m - 0.5, -0.5)
    ax.text(
        0,
        -0.01 * m - 0.5,
        shorten(label, 7, 0.45),
        rotation=90,
        ha="center",
        va="bottom",
        fontsize=7,
        color=color,
        **_TEXT,
    )
    return ax


def _draw_panel(fig, layout: HeatmapLayout, x0: float, bottom: float) -> tuple[dict, list]:
    """Draw one layout with its left edge at ``x0`` inches; return its axes and label texts."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap

    geo = layout.geometry(bottom)
    fw, fh = fig.get_size_inches()

    def add(key):
        left, b, w, h = geo[key]
        return fig.add_axes(((x0 + left) / fw, b / fh, w / fw, h / fh))

    m = layout.m
    axes: dict = {}
    texts: list = []
    ax_m = axes["matrix"] = add("matrix")
    _draw_matrix(ax_m, layout)
    axes["colorbar"] = add("colorbar")
    fig.colorbar(
        ScalarMappable(norm=layout.norm(), cmap=layout.colormap()),
        cax=axes["colorbar"],
        label=layout.colorbar_label or None,
    )
    if layout.dendrogram:
        axes["dendrogram"] = add("dendrogram")
        _draw_dendrogram(axes["dendrogram"], layout)
    for k, tax in enumerate(layout.taxonomy):
        axes[f"taxonomy{k}"] = _column(
            add, f"taxonomy{k}", tax["codes"] % 20, "tab20", 0, 19, m, tax["level"]
        )
    for k, fc in enumerate(layout.failed_columns):
        col = np.zeros(m)
        col[fc["positions"]] = 1
        color = FAILED_COLOR if fc.get("stable", True) else UNSTABLE_FAILED_COLOR
        label = fc["label"] if fc.get("stable", True) else f"{fc['label']}?"
        axes[f"failed{k}"] = _column(
            add, f"failed{k}", col, ListedColormap([(1, 1, 1, 0), color]), 0, 1, m, label, color
        )
    if layout.brackets:
        axes["brackets"] = add("brackets")
        texts += _draw_brackets(axes["brackets"], layout)
    ax_n = axes["names"] = add("names")
    texts += _draw_names(fig, ax_n, ax_m, layout, geo["names"][2])
    if layout.has_unstable:  # a key to the dashed marks, at the panel's lower left
        texts.append(
            fig.text(
                (x0 + 0.05) / fw,
                0.004,
                UNSTABLE_NOTE,
                fontsize=6.5,
                ha="left",
                va="bottom",
                color="0.35",
                **_TEXT,
            )
        )
    return axes, texts


class _CellImage(AxesImage):
    """An image artist of pre-coloured cells (``(h, w, 4)`` uint8) that raster backends draw
    by taking each output pixel's cell.

    Matplotlib resamples every image through float32 with premultiplied alpha (1.6 s for
    3,755 x 3,755 cells, per figure drawn); cells that are already colours only need the cell
    under each pixel's centre -- nearest-neighbour sampling, which is what interpolation
    ``"none"`` means on raster backends. Vector backends (SVG, PDF) embed the cells
    unresampled, one image pixel per cell, as matplotlib does.
    """

    def make_image(self, renderer, magnification=1.0, unsampled=False):
        if unsampled:
            return super().make_image(renderer, magnification, unsampled=True)
        box = Bbox.intersection(self.get_window_extent(renderer), self.axes.bbox)
        if box is None:
            return None, 0, 0, None
        # output pixels rounded to whole pixels as matplotlib's own images are
        e = box.extents * magnification
        x0, y0 = np.floor(e[0] + 0.5), np.ceil(e[1] - 0.5 - 1e-8)
        x1, y1 = np.floor(e[2] + 0.5 + 1e-8), np.ceil(e[3] - 0.5)
        if x1 <= x0 or y1 <= y0:
            return None, 0, 0, None
        # pixel centres; the renderer takes the array's first row as the lowest
        xs = (x0 + np.arange(int(x1 - x0)) + 0.5) / magnification
        ys = (y0 + np.arange(int(y1 - y0)) + 0.5) / magnification
        to_data = self.axes.transData.inverted()
        data_x = to_data.transform(np.column_stack([xs, np.full_like(xs, ys[0])]))[:, 0]
        data_y = to_data.transform(np.column_stack([np.full_like(ys, xs[0]), ys]))[:, 1]
        left, right, bottom, top = self.get_extent()
        h, w = self._A.shape[:2]
        cols = np.clip(np.floor((data_x - left) / (right - left) * w), 0, w - 1)
        rows = np.clip(np.floor((data_y - top) / (bottom - top) * h), 0, h - 1)
        cells = np.ma.getdata(self._A)  # indexing a masked array costs several times more
        pixels = cells[rows.astype(np.intp)][:, cols.astype(np.intp)]
        return pixels, x0 / magnification, y0 / magnification, IdentityTransform()


def _cell_image(ax, cells: np.ndarray, **kwargs) -> _CellImage:
    """A :class:`_CellImage` of ``cells`` in ``ax`` (``kwargs``: extent, origin), clipped to
    the axes as imshow's images are."""
    image = _CellImage(ax, interpolation="none", **kwargs)
    image.set_data(cells)
    image.set_clip_path(ax.patch)
    return image


def _draw_matrix(ax, layout: HeatmapLayout) -> None:
    """The coloured matrix with its star ticks, split-group boxes, near-duplicate circles and
    title."""
    from matplotlib.patches import Rectangle

    m = layout.m
    ax.add_image(
        _cell_image(ax, layout.image(), extent=(-0.5, m - 0.5, m - 0.5, -0.5), origin="upper")
    )
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(m - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if layout.ticks.size:
        ax.set_xticks(layout.ticks, minor=True)
        ax.set_yticks(layout.ticks, minor=True)
        ax.tick_params(
            which="minor",
            length=5,
            width=1.0,
            color=TICK_COLOR,
            top=True,
            bottom=False,
            left=True,
            labelleft=False,
            labelbottom=False,
        )
    lw = max(0.8, min(2.0, 200 / max(m, 1)))
    for boxes, style in ((layout.split_boxes, "solid"), (layout.unstable_split_boxes, UNSTABLE)):
        for r0, r1, c0, c1 in boxes:
            ax.add_patch(
                Rectangle(
                    (c0 - 0.5, r0 - 0.5),
                    c1 - c0,
                    r1 - r0,
                    fill=False,
                    edgecolor=SPLIT_COLOR,
                    linewidth=lw,
                    linestyle=style,
                )
            )
    for pairs, style in (
        (layout.near_duplicates, "solid"),
        (layout.unstable_near_duplicates, UNSTABLE),
    ):
        if pairs:
            p = np.array(pairs)
            ax.scatter(
                np.concatenate([p[:, 1], p[:, 0]]),
                np.concatenate([p[:, 0], p[:, 1]]),
                s=max(12.0, (layout.matrix_inches * 72 / m) ** 2 * 1.5),
                facecolors="none",
                edgecolors=DUPLICATE_COLOR,
                linewidths=lw,
                linestyles=style,
            )
    if layout.title:
        title = layout.title
        if layout.pool > 1:
            how = "mean" if layout.pool_by == "mean" else "largest"
            title += f" (a pixel: {how} of {layout.pool} x {layout.pool} cells)"
        ax.set_title(shorten(title, 10, layout.matrix_inches + 1.0), fontsize=10, **_TEXT)


def _draw_dendrogram(ax, layout: HeatmapLayout) -> None:
    """The tree on the left, leaves level with the matrix rows."""
    from matplotlib.collections import LineCollection

    links = [
        np.column_stack([dc, ic])
        for ic, dc in zip(layout.dendrogram["icoord"], layout.dendrogram["dcoord"], strict=True)
    ]
    ax.add_collection(LineCollection(links, colors="0.3", linewidths=0.6))
    top = max(max(dc) for dc in layout.dendrogram["dcoord"]) or 1.0
    ax.set_xlim(top * 1.02, 0)
    ax.set_ylim(layout.m - 0.5, -0.5)
    ax.set_axis_off()


def _draw_brackets(ax, layout: HeatmapLayout) -> list:
    """The labelled brackets of the block spans (dashed and grey where unstable); their label
    texts."""
    from matplotlib.collections import LineCollection

    texts = []
    depth = max(s["level"] for s in layout.brackets)
    ax.set_xlim(0, depth)
    ax.set_ylim(layout.m - 0.5, -0.5)
    ax.set_axis_off()
    brackets: dict[bool, list] = {True: [], False: []}
    for s in sorted(layout.brackets, key=lambda s: (s["level"], s["start"] - s["end"])):
        x = s["level"] - 0.5
        stable = s.get("stable", True)
        brackets[stable].append([(x, s["start"] - 0.35), (x, s["end"] - 0.65)])
        if s["label"]:  # with nested levels the outermost labels are bold
            outer = s["level"] == 1 and depth > 1
            label = shorten(s["label"], 8 if outer else 7, 1.6)
            texts.append(
                ax.text(
                    -0.2,
                    (s["start"] + s["end"] - 1) / 2,
                    label,
                    ha="right",
                    va="center",
                    fontsize=8 if outer else 7,
                    fontweight="bold" if outer else "normal",
                    color="0" if stable else UNSTABLE_TEXT_COLOR,
                    fontstyle="normal" if stable else "italic",
                    clip_on=False,
                    **_TEXT,
                )
            )
    for stable, lines in brackets.items():
        ax.add_collection(
            LineCollection(
                lines,
                colors="0.2" if stable else UNSTABLE_TEXT_COLOR,
                linewidths=1.2,
                capstyle="butt",
                linestyles="solid" if stable else UNSTABLE,
            )
        )
    return texts


def _draw_names(fig, ax, ax_matrix, layout: HeatmapLayout, width: float) -> list:
    """Every class name beside and below the matrix when they fit, else the callouts with their
    leaders in the names column (``width`` inches); the texts."""
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import offset_copy

    texts = []
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(layout.m - 0.5, -0.5)
    if layout.show_names:
        fs = layout.fontsize
        # x in data, y 3 points below the matrix whatever its size
        below = offset_copy(ax_matrix.get_xaxis_transform(), fig=fig, y=-3, units="points")
        for p, name in enumerate(layout.names):
            name = shorten(name, fs)
            texts.append(
                ax.text(0.02, p, name, ha="left", va="center", fontsize=fs, clip_on=False, **_TEXT)
            )
            texts.append(
                ax_matrix.text(
                    p,
                    0,
                    name,
                    ha="center",
                    va="top",
                    fontsize=fs,
                    rotation=90,
                    clip_on=False,
                    transform=below,
                    **_TEXT,
                )
            )
    elif layout.callouts:
        bend, end = 0.1 / width, 0.4 / width  # leader: level from the row, then slanted
        leaders = [
            [(0, c["position"]), (bend, c["position"]), (end, c["y"])] for c in layout.callouts
        ]
        ax.add_collection(LineCollection(leaders, colors=LEADER_COLOR, linewidths=0.5))
        for c in layout.callouts:
            texts.append(
                ax.text(
                    end + 0.04 / width,
                    c["y"],
                    shorten(c["name"], CALLOUT_FONTSIZE),
                    ha="left",
                    va="center",
                    fontsize=CALLOUT_FONTSIZE,
                    clip_on=False,
                    **_TEXT,
                )
            )
    return texts


@covers_layout
def draw_heatmaps(layouts: Sequence[HeatmapLayout], *, gap: float = 0.3, dpi=None):
    """Draw layouts side by side (left to right) in one Agg figure and return it.

    The panels share their bottom edge, so equal-m matrices line up row for row. The axes of
    panel ``k`` are in ``fig.heatmap_panels[k]`` (``matrix``, ``colorbar``, ``dendrogram``, ...)
    and the label texts that survived overlap removal in ``fig.heatmap_texts``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not layouts:
        raise ValueError("no layouts to draw")
    bottom = max(lay.bottom_margin() for lay in layouts)
    sizes = [lay.geometry(bottom)["figure"] for lay in layouts]
    dpi = layouts[0].dpi if dpi is None else dpi
    # whole pixels, so the PNG is exactly the size the layout asks for
    width = np.ceil((sum(s[2] for s in sizes) + gap * (len(layouts) - 1)) * dpi) / dpi
    height = np.ceil(max(s[3] for s in sizes) * dpi) / dpi
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    panels, texts, x0 = [], [], 0.0
    for lay, size in zip(layouts, sizes, strict=True):
        axes, panel_texts = _draw_panel(fig, lay, x0, bottom)
        panels.append(axes)
        texts += panel_texts
        x0 += size[2] + gap
    fig.heatmap_panels = panels
    fig.heatmap_layouts = list(layouts)
    fig.heatmap_texts = _drop_overlaps(texts, fig.canvas.get_renderer())
    return fig


def draw_heatmap(layout: HeatmapLayout, *, dpi=None):
    """Draw one layout on a new Agg figure and return it.

    Besides :func:`draw_heatmaps`'s attributes, ``fig.heatmap_axes`` and ``fig.heatmap_layout``
    hold the single panel's axes and layout.
    """
    fig = draw_heatmaps([layout], dpi=dpi)
    fig.heatmap_axes = fig.heatmap_panels[0]
    fig.heatmap_layout = layout
    return fig


# --------------------------------------------------------------------------- saving


def save_figure(fig, path, *, dpi=None) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) at its own size, never cropped.

    PNG (and the images inside SVG/PDF) are encoded by
    :func:`classsim_spark.render.png.fast_png`: large noisy matrices otherwise spend most of their
    time in Pillow's encoder. The same figure always gives the same bytes (no creation date, SVG
    ids from a fixed salt), so figures can be compared and versioned.
    """
    path = Path(path)
    dpi = fig.dpi if dpi is None else dpi
    suffix = path.suffix.lower()
    undated = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}.get(suffix)
    with fast_png(), matplotlib.rc_context({"svg.hashsalt": "classsim"}):
        fig.savefig(path, dpi=dpi, metadata=undated)
    return path
