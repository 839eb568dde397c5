"""Similarity heatmap: a layout computed without drawing, then drawn with matplotlib.

:func:`heatmap_layout` turns a matrix, an order and the structure found by the analysis
(``groups.json``) into a :class:`HeatmapLayout` holding everything in *order coordinates*
(position ``p`` is the ``p``-th class of the order; cell ``(r, c)`` is row ``r``, column ``c``).
:func:`draw_heatmap` draws a layout; :func:`similarity_heatmap` does both from a results directory.

Drawn: the reordered matrix (``imshow``, nearest, rasterised so vector files stay small), a colour
bar, the dendrogram on the left when a linkage consistent with the order is given, taxonomy colour
bars, block spans bracketed and labelled along the left, split groups boxed in red (both mirror
cells), failed groups as blue auxiliary columns on the right, near-duplicate pairs circled, and
every class name when there is room (else block labels only). Text is drawn literally
(``parse_math=False``, ``usetex=False``); overlapping labels are dropped, larger spans first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np

NAMES_MAX = 150
"""Largest m for which every class name is drawn (beyond it, block labels only)."""

SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
BACKGROUND = "white"
SPLIT_COLOR = "red"
FAILED_COLOR = "#1f4fbf"
DUPLICATE_COLOR = "black"

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
        Colour limits (values outside are clipped to the end colours).
    cmap : str
        Colormap name.
    diverging : bool
        Whether the colours are centred at 0 (``vmin == -vmax``).
    contrast : float
        Gamma of the colour scale (1 linear; < 1 spreads the low values).
    cutoff : float or None
        Values below it are drawn in ``background``.
    background : str
    dendrogram : dict or None
        ``icoord`` / ``dcoord`` lists of the links, ``icoord`` in order positions.
    taxonomy : list of dict
        Per level: ``level`` name, ``codes`` (int (m,), in order), ``labels`` (code -> label).
    spans : list of dict
        ``start``, ``end`` (half-open positions), ``label``, ``level`` (1 = outermost).
    split_boxes : list of tuple
        ``(row_start, row_end, col_start, col_end)`` rectangles, both mirror cells of each pair.
    failed_columns : list of dict
        ``label`` and ``positions`` (int array) of each failed group's members.
    near_duplicates : list of tuple
        ``(position_i, position_j)`` of each near-duplicate pair.
    show_names : bool
        Every class name drawn (else block labels only).
    fontsize : float
        Font size of class names (points).
    title : str
    figsize : tuple of float
        Figure size (inches) chosen so that each class gets >= 1 pixel at ``dpi``.
    dpi : float
    """

    order: np.ndarray
    matrix: np.ndarray
    names: list[str]
    vmin: float
    vmax: float
    cmap: str
    diverging: bool = False
    contrast: float = 1.0
    cutoff: float | None = None
    background: str = BACKGROUND
    dendrogram: dict | None = None
    taxonomy: list[dict] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    split_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    failed_columns: list[dict] = field(default_factory=list)
    near_duplicates: list[tuple[int, int]] = field(default_factory=list)
    show_names: bool = True
    fontsize: float = 8.0
    title: str = ""
    matrix_inches: float = 6.0
    dpi: float = 100.0
    notes: list[str] = field(default_factory=list)

    @property
    def m(self) -> int:
        return len(self.order)

    def norm(self):
        """The matplotlib normalisation of the colour scale (contrast as gamma)."""
        from matplotlib import colors

        if self.contrast == 1.0:
            return colors.Normalize(self.vmin, self.vmax, clip=False)
        g = float(self.contrast)
        if self.diverging:
            def fwd(x):
                return np.sign(x) * np.abs(x) ** g

            def inv(y):
                return np.sign(y) * np.abs(y) ** (1.0 / g)

            return colors.FuncNorm((fwd, inv), self.vmin, self.vmax)
        return colors.PowerNorm(g, self.vmin, self.vmax)

    def colormap(self):
        """The colormap, with values below the cut-off (masked) in the background colour."""
        cmap = matplotlib.colormaps[self.cmap]
        return cmap.with_extremes(bad=self.background)

    def masked_matrix(self) -> np.ma.MaskedArray:
        """The matrix with the values below the cut-off masked (drawn as background)."""
        mask = np.isnan(self.matrix)
        if self.cutoff is not None:
            mask |= self.matrix < self.cutoff
        return np.ma.array(self.matrix, mask=mask)

    # -- geometry (inches), shared by draw_heatmap and the tests

    def geometry(self) -> dict[str, tuple[float, float, float, float]]:
        """Axes rectangles ``(left, bottom, width, height)`` in inches and the figure size."""
        side = self.matrix_inches
        pad = 0.1
        label_w = 1.8 if self.spans else 0.2
        depth = max((s["level"] for s in self.spans), default=0)
        bracket_w = 0.12 * depth
        dendro_w = 1.0 if self.dendrogram else 0.0
        if self.show_names:
            longest = max((len(n) for n in self.names), default=1)
            names_w = min(3.0, 0.6 * self.fontsize / 72 * longest + 0.1)
        else:
            names_w = 0.1
        cbar_w, cbar_lab = 0.2, 0.8
        bottom = max(names_w, 0.4) if self.show_names else 0.4
        top = 0.5
        x = pad
        rects: dict[str, tuple[float, float, float, float]] = {}
        x += label_w
        if depth:
            rects["spans"] = (x, bottom, bracket_w, side)
            x += bracket_w + 0.02
        if dendro_w:
            rects["dendrogram"] = (x, bottom, dendro_w, side)
            x += dendro_w + 0.02
        for k in range(len(self.taxonomy)):
            rects[f"taxonomy{k}"] = (x, bottom, 0.15, side)
            x += 0.18
        rects["matrix"] = (x, bottom, side, side)
        x += side + 0.05
        for k in range(len(self.failed_columns)):
            rects[f"failed{k}"] = (x, bottom, 0.15, side)
            x += 0.18
        names_x = x
        x += names_w + 0.1
        rects["colorbar"] = (x, bottom, cbar_w, side)
        x += cbar_w + cbar_lab
        rects["names_x"] = (names_x, bottom, names_w, side)
        rects["figure"] = (0.0, 0.0, x, bottom + side + top)
        return rects

    @property
    def figsize(self) -> tuple[float, float]:
        fig = self.geometry()["figure"]
        return fig[2], fig[3]


def _offdiag(M: np.ndarray) -> np.ndarray:
    m = M.shape[0]
    if m < 2:
        return M.ravel()
    if m > 1500:  # a large sample is enough for colour limits
        rng = np.random.default_rng(0)
        i = rng.integers(0, m, 200_000)
        j = rng.integers(0, m, 200_000)
        keep = i != j
        return M[i[keep], j[keep]]
    return M[~np.eye(m, dtype=bool)]


def _norm_order(order, m: int) -> np.ndarray:
    o = np.arange(m) if order is None else np.asarray(order, dtype=np.int64)
    if o.shape != (m,) or not np.array_equal(np.sort(o), np.arange(m)):
        raise ValueError(f"order must be a permutation of 0..{m - 1}")
    return o


def _dendrogram(linkage, order: np.ndarray, notes: list[str]) -> dict | None:
    from scipy.cluster.hierarchy import dendrogram

    Z = np.asarray(linkage, dtype=float)
    if Z.shape != (len(order) - 1, 4):
        notes.append("linkage shape does not match m; dendrogram not drawn")
        return None
    d = dendrogram(Z, no_plot=True)
    if list(d["leaves"]) != order.tolist():
        notes.append("linkage leaf order differs from the order; dendrogram not drawn")
        return None
    icoord = [[(y - 5.0) / 10.0 for y in ic] for ic in d["icoord"]]
    return {"icoord": icoord, "dcoord": [list(dc) for dc in d["dcoord"]]}


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
        out.append({"level": str(name), "codes": codes.astype(np.int64),
                    "labels": [str(s) for s in labels]})
    return out


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
    cmap: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cutoff: float | None = None,
    contrast: float = 1.0,
    background: str = BACKGROUND,
    names_max: int = NAMES_MAX,
    dpi: float = 100.0,
    title: str = "",
) -> HeatmapLayout:
    """Compute what a similarity heatmap shows (no drawing).

    Parameters
    ----------
    M : (m, m) array
        Similarity matrix in class-id order.
    names : sequence of str
        Class names in class-id order.
    order : int sequence, optional
        Class id at each position (default: identity). ``groups`` positions refer to it.
    linkage : (m-1, 4) array, optional
        Drawn as a dendrogram only when its leaf order equals ``order``.
    groups : mapping, optional
        The content of ``groups.json`` (``spans``/``blocks``, ``split_groups``,
        ``failed_groups``, ``near_duplicates``).
    taxonomy_paths : sequence, optional
        Per class (class-id order), its group at each taxonomy level, coarse to fine.
    diverging : bool
        Colours centred at 0 (``vmin = -vmax``) with a diverging colormap.
    cutoff : float, optional
        Values below it are drawn in ``background``.
    contrast : float
        Gamma of the colour scale (> 0; 1 is linear).
    names_max : int
        Largest m for which every class name is drawn.
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
    o = _norm_order(order, m)
    R = M[np.ix_(o, o)]
    off = _offdiag(M)
    off = off[np.isfinite(off)]
    notes: list[str] = []
    if diverging:
        top = float(np.max(np.abs(off))) if off.size else 1.0
        top = top if vmax is None else float(vmax)
        top = top if top > 0 else 1.0
        lo, hi = -top, top
    else:
        lo = float(off.min()) if off.size else 0.0
        hi = float(off.max()) if off.size else 1.0
        if cutoff is not None:
            lo = max(lo, float(cutoff))
        lo = lo if vmin is None else float(vmin)
        hi = hi if vmax is None else float(vmax)
        if hi <= lo:
            hi = lo + 1.0
    show = m <= names_max
    side = max(6.0, 0.11 * m) if show else max(6.0, (m + 1) / dpi)
    fontsize = float(min(9.0, 0.75 * side * 72 / max(m, 1)))
    layout = HeatmapLayout(
        order=o, matrix=R, names=[names[i] for i in o], vmin=lo, vmax=hi,
        cmap=cmap or (DIVERGING_CMAP if diverging else SEQUENTIAL_CMAP),
        diverging=diverging, contrast=float(contrast), cutoff=cutoff, background=background,
        show_names=show, fontsize=fontsize, title=title, matrix_inches=side, dpi=dpi,
        notes=notes,
    )
    if linkage is not None and m >= 2:
        layout.dendrogram = _dendrogram(linkage, o, notes)
    layout.taxonomy = _taxonomy(taxonomy_paths, taxonomy_levels, o)
    if groups:
        _apply_groups(layout, groups, names)
    return layout


def _apply_groups(layout: HeatmapLayout, groups: Mapping, names: list[str]) -> None:
    m = layout.m
    pos = np.empty(m, dtype=np.int64)
    pos[layout.order] = np.arange(m)
    blocks = {b["id"]: b for b in groups.get("blocks", []) if "id" in b}
    spans = groups.get("spans")
    if not spans:  # fall back on the blocks
        spans = [{"label": b.get("label"), "level": b.get("level", 1), "start": b["start"],
                  "end": b["end"]} for b in blocks.values() if "start" in b]
    for s in spans:
        start, end = int(s["start"]), int(s["end"])
        if not 0 <= start < end <= m:
            continue
        label = s.get("label")
        if label is None and s.get("block") in blocks:
            label = blocks[s["block"]].get("label")
        layout.spans.append({"start": start, "end": end, "level": int(s.get("level") or 1),
                             "label": "" if label is None else str(label)})
    for sg in groups.get("split_groups", []):
        sp = sg.get("spans")
        if sp is None and "blocks" in sg:
            sp = [[blocks[b]["start"], blocks[b]["end"]] for b in sg["blocks"]]
        if not sp or len(sp) != 2:
            continue
        (a0, a1), (b0, b1) = (map(int, sp[0]), map(int, sp[1]))
        layout.split_boxes.append((a0, a1, b0, b1))
        layout.split_boxes.append((b0, b1, a0, a1))
    index = {n: i for i, n in enumerate(names)}
    for k, fg in enumerate(groups.get("failed_groups", [])):
        if "positions" in fg:
            p = np.asarray(fg["positions"], dtype=np.int64)
        elif "member_ids" in fg:
            p = pos[np.asarray(fg["member_ids"], dtype=np.int64)]
        else:
            p = pos[[index[n] for n in fg.get("members", []) if n in index]]
        label = fg.get("label") or f"F{fg.get('cluster', k)}"
        layout.failed_columns.append({"label": str(label), "positions": np.sort(p)})
    for d in groups.get("near_duplicates", []):
        ids = d.get("class_ids") or d.get("ids")
        if ids is None:
            ids = [index[n] for n in d.get("names", []) if n in index]
        if len(ids) == 2:
            layout.near_duplicates.append((int(pos[ids[0]]), int(pos[ids[1]])))


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


def draw_heatmap(layout: HeatmapLayout, *, figsize=None, dpi=None, ax=None):
    """Draw ``layout`` on a new Agg figure and return it.

    The axes are in ``fig.heatmap_axes`` (``matrix``, ``colorbar``, ``dendrogram``, ...) and the
    label texts in ``fig.heatmap_texts``. ``figsize`` overrides the size chosen from m (the matrix
    then may get fewer pixels than classes); ``ax`` is not supported (the heatmap needs several
    axes) and must be None.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if ax is not None:
        raise ValueError("draw_heatmap makes its own figure; ax must be None")
    geo = layout.geometry()
    fw, fh = geo["figure"][2], geo["figure"][3]
    dpi = layout.dpi if dpi is None else dpi
    fig = Figure(figsize=(fw, fh) if figsize is None else figsize, dpi=dpi)
    FigureCanvasAgg(fig)

    def add(key):
        left, bottom, w, h = geo[key]
        return fig.add_axes((left / fw, bottom / fh, w / fw, h / fh))

    m = layout.m
    lim = (m - 0.5, -0.5)
    axes: dict = {}
    ax_m = axes["matrix"] = add("matrix")
    # colours computed once as uint8 RGBA: resampling bytes is much faster than masked floats
    cmap, norm = layout.colormap(), layout.norm()
    rgba = cmap(norm(layout.masked_matrix()), bytes=True)
    ax_m.imshow(rgba, interpolation="nearest", rasterized=True, aspect="auto",
                extent=(-0.5, m - 0.5, m - 0.5, -0.5))
    im = ScalarMappable(norm=norm, cmap=cmap)
    ax_m.set_xlim(-0.5, m - 0.5)
    ax_m.set_ylim(*lim)
    ax_m.set_xticks([])
    ax_m.set_yticks([])
    lw = max(0.8, min(2.0, 200 / max(m, 1)))
    for r0, r1, c0, c1 in layout.split_boxes:
        ax_m.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                 edgecolor=SPLIT_COLOR, linewidth=lw))
    if layout.near_duplicates:
        p = np.array(layout.near_duplicates)
        xs = np.concatenate([p[:, 1], p[:, 0]])
        ys = np.concatenate([p[:, 0], p[:, 1]])
        ax_m.scatter(xs, ys, s=max(12.0, (layout.matrix_inches * 72 / m) ** 2 * 1.5),
                     facecolors="none", edgecolors=DUPLICATE_COLOR, linewidths=lw)
    if layout.title:
        ax_m.set_title(layout.title, fontsize=10, **_TEXT)
    cax = axes["colorbar"] = add("colorbar")
    fig.colorbar(im, cax=cax)

    texts: list = []
    if layout.dendrogram:
        ax_d = axes["dendrogram"] = add("dendrogram")
        for ic, dc in zip(layout.dendrogram["icoord"], layout.dendrogram["dcoord"], strict=True):
            ax_d.plot(dc, ic, color="0.3", linewidth=0.6)
        top = max(max(dc) for dc in layout.dendrogram["dcoord"]) or 1.0
        ax_d.set_xlim(top * 1.02, 0)
        ax_d.set_ylim(*lim)
        ax_d.set_axis_off()
    for k, tax in enumerate(layout.taxonomy):
        ax_t = axes[f"taxonomy{k}"] = add(f"taxonomy{k}")
        ax_t.imshow(tax["codes"][:, None] % 20, cmap="tab20", vmin=0, vmax=19,
                    interpolation="nearest", aspect="auto", rasterized=True,
                    extent=(-0.5, 0.5, m - 0.5, -0.5))
        ax_t.set_xticks([])
        ax_t.set_yticks([])
        ax_t.set_ylim(*lim)
        ax_t.text(0, -0.01 * m - 0.5, tax["level"], rotation=90, ha="center", va="bottom",
                  fontsize=7, **_TEXT)
    from matplotlib.colors import ListedColormap

    blue = ListedColormap([(1, 1, 1, 0), FAILED_COLOR])
    for k, fc in enumerate(layout.failed_columns):
        ax_f = axes[f"failed{k}"] = add(f"failed{k}")
        col = np.zeros((m, 1))
        col[fc["positions"], 0] = 1
        ax_f.imshow(col, cmap=blue, vmin=0, vmax=1, interpolation="nearest", aspect="auto",
                    rasterized=True, extent=(-0.5, 0.5, m - 0.5, -0.5))
        ax_f.set_xticks([])
        ax_f.set_yticks([])
        ax_f.set_ylim(*lim)
        ax_f.text(0, -0.01 * m - 0.5, fc["label"], rotation=90, ha="center", va="bottom",
                  fontsize=7, color=FAILED_COLOR, **_TEXT)
    if layout.spans:
        depth = max(s["level"] for s in layout.spans)
        ax_s = axes["spans"] = add("spans")
        ax_s.set_xlim(0, depth)
        ax_s.set_ylim(*lim)
        ax_s.set_axis_off()
        span_texts = []
        for s in sorted(layout.spans, key=lambda s: (s["level"], s["start"] - s["end"])):
            x = s["level"] - 0.5
            ax_s.plot([x, x], [s["start"] - 0.35, s["end"] - 0.65], color="0.2", linewidth=1.2,
                      solid_capstyle="butt")
            if s["label"]:
                # shallow levels' labels sit furthest left
                t = ax_s.text(-0.2, (s["start"] + s["end"] - 1) / 2, s["label"],
                              ha="right", va="center", fontsize=8, clip_on=False, **_TEXT)
                span_texts.append(t)
        texts += span_texts
    if layout.show_names:
        fs = layout.fontsize
        nl = geo["names_x"]
        ax_n = fig.add_axes((nl[0] / fw, nl[1] / fh, nl[2] / fw, nl[3] / fh))
        ax_n.set_axis_off()
        ax_n.set_xlim(0, 1)
        ax_n.set_ylim(*lim)
        axes["names"] = ax_n
        for p, name in enumerate(layout.names):
            texts.append(ax_n.text(0.02, p, name, ha="left", va="center", fontsize=fs,
                                   clip_on=False, **_TEXT))
            texts.append(ax_m.text(p, m - 0.5 + 0.3, name, ha="center", va="top", fontsize=fs,
                                   rotation=90, clip_on=False, **_TEXT))
    renderer = fig.canvas.get_renderer()
    texts = _drop_overlaps(texts, renderer)
    fig.heatmap_axes = axes
    fig.heatmap_texts = texts
    fig.heatmap_layout = layout
    return fig


# --------------------------------------------------------------------------- convenience


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _read_taxonomy(tax: Mapping, classes: list[str], results_dir: Path | None) -> dict:
    """``taxonomy_paths``/``taxonomy_levels`` from the file named in groups.json, or {}."""
    from classsim_spark.taxonomy import read_taxonomy

    file = Path(tax["file"])
    candidates = [file] if file.is_absolute() else [file] + (
        [results_dir / file] if results_dir is not None else [])
    for f in candidates:
        if f.is_file():
            try:
                t = read_taxonomy(f, classes, tax.get("levels"))
            except Exception:  # a stale or moved file: draw without the bars
                return {}
            return {"taxonomy_paths": t.paths, "taxonomy_levels": list(t.levels)}
    return {}


def similarity_heatmap(results_dir_or_result, transform: str | None = None, *,
                       use_groups: bool = True, **kw):
    """Heatmap of a results directory (or a loaded ``SimilarityResult``) as a Figure.

    Uses ``groups.json`` (order, spans, split/failed groups, near duplicates) when it was computed
    for ``transform`` (default: the chosen transform, else the first), else ``order-<t>.json``
    and ``linkage-<t>.npy`` when present, else the class-id order. Other keywords go to
    :func:`heatmap_layout` (``diverging``, ``cutoff``, ``contrast``, ``taxonomy_paths``, ...).
    """
    from classsim_spark.results import SimilarityResult

    res = results_dir_or_result
    if not isinstance(res, SimilarityResult):
        res = SimilarityResult.load(res)
    path = Path(res.path) if res.path is not None else None
    groups = _read_json(path / "groups.json") if path is not None and use_groups else None
    if transform is None:
        transform = ((groups or {}).get("chosen") or {}).get("transform") or res.transforms[0]
    M = res.matrix(transform)
    order, linkage = None, None
    g_order = (groups or {}).get("order") or {}
    if groups and g_order.get("transform") == transform and "order" in g_order:
        order = g_order["order"]
    else:
        groups = None
        o = _read_json(path / f"order-{transform}.json") if path is not None else None
        if o is not None:
            order = o.get("order")
    if path is not None and (path / f"linkage-{transform}.npy").is_file():
        linkage = np.load(path / f"linkage-{transform}.npy", allow_pickle=False)
    kw.setdefault("title", f"similarity ({transform})")
    tax = (groups or {}).get("taxonomy") or {}
    if "taxonomy_paths" not in kw and tax.get("file"):
        kw.update(_read_taxonomy(tax, res.classes, path))
    layout = heatmap_layout(M, res.classes, order, linkage=linkage, groups=groups, **kw)
    return draw_heatmap(layout)


def save_figure(fig, path, *, dpi=None) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) at its own size, never cropped.

    PNG is written with fast zlib compression (level 1): large noisy matrices otherwise spend
    most of their time in the encoder.
    """
    path = Path(path)
    kw = {"pil_kwargs": {"compress_level": 1}} if path.suffix.lower() == ".png" else {}
    fig.savefig(path, dpi=fig.dpi if dpi is None else dpi, **kw)
    return path
