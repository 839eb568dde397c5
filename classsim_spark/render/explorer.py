"""``explorer.html``: one self-contained page to explore a results directory in a browser.

The page holds everything inline (data, script, style) and may reach nothing: its
Content-Security-Policy forbids every network request and admits only its own script and style
(by hash). It can be mailed, attached to a ticket, opened from disk, or shown with
``displayHTML`` in a Databricks notebook.

What it holds (:func:`explorer_data`): the class names; each transform's matrix as its upper
triangle, quantised to 16 bits with a code for NaN (coarser, or only the transform the page
opens with, when the matrices would otherwise exceed the page's size budget: see
:func:`_matrices`), deflated and base64-encoded; every order the analysis exported; the chosen
view's structure as the static figure computes it (brackets, split boxes, near-duplicates, star
ticks, dendrogram) and its colours; the taxonomy; the findings with their numbers; the label
baseline (confusion or co-occurrence) when the run had labels; the transform and colours the
page opens with.

The script is plain JavaScript in files beside this module (``explorer_assets/``), concatenated
in :data:`SCRIPTS` order: readable, and each part testable in the page. Every string from the
data reaches the page as text (``textContent``), never as HTML; the data travel as JSON inside a
``<script type="application/json">`` element with ``<``, ``>`` and ``&`` escaped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import zlib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from classsim_spark.io.results import (
    EXAMPLES_FILE,
    EXPLORER_FILE,
    SimilarityResult,
    write_text_atomically,
)
from classsim_spark.render.figures import RenderOptions, similarity_layout
from classsim_spark.render.heatmap import (
    BACKGROUND,
    DIVERGING_CMAP,
    SEQUENTIAL_CMAP,
    offdiag_extremes,
)
from classsim_spark.render.inputs import as_result, find_taxonomy, read_groups, read_orders

log = logging.getLogger("classsim")

SCHEMA = "classsim.explorer/1"
BUDGET_MB = 30.0
"""Default size limit of the page; past it the matrices are quantised more coarsely."""
ASSETS = "classsim_spark.render.explorer_assets"
"""The package holding the page's files."""
SCRIPTS = ("codec.js", "view.js", "colours.js", "app.js")
"""The page's script, in load order: decoding, viewport geometry, colours, the page itself."""
STYLE = "explorer.css"
PAGE_BYTES = 80_000
"""Room the script, style and shell take in the page (about 60 kB), for the size budget."""
LUT_SIZE = 256
"""Colours per colormap sent to the page (matplotlib's colormaps have 256)."""


def quantise(M: np.ndarray, bits: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """The upper triangle of ``M`` (diagonal included, row by row) as unsigned integers.

    Parameters
    ----------
    M : (m, m) float array
    bits : {8, 12, 16}
        12 bits are stored in 16-bit integers whose high bytes then deflate well.
    lo, hi : float
        The range mapped evenly onto codes 1 .. 2**bits - 1 (values outside are clipped); code
        0 is NaN (drawn as background, reported as n/a, as in the figures).

    Returns
    -------
    ndarray of uint8 or uint16, length m (m + 1) / 2

    Examples
    --------
    >>> quantise(np.array([[1.0, np.nan], [np.nan, 0.0]]), 8).tolist()
    [255, 0, 128]
    """
    if bits not in (8, 12, 16):
        raise ValueError(f"bits must be 8, 12 or 16, got {bits}")
    steps = (1 << bits) - 2
    M = np.asarray(M, dtype=np.float64)
    m = M.shape[0]
    out = np.empty(m * (m + 1) // 2, dtype=np.uint8 if bits == 8 else np.uint16)
    start = 0
    for i in range(m):  # row by row: no m^2 index or float temporaries
        x = M[i, i:]
        q = 1 + np.rint((np.clip(x, lo, hi) - lo) * (steps / (hi - lo)))
        q[np.isnan(x)] = 0
        out[start : start + m - i] = q
        start += m - i
    return out


def packed(array: np.ndarray) -> str:
    """A 1-d unsigned integer array as the page decodes it: its bytes in planes (every lowest
    byte, then every next one, little-endian order), deflated (zlib) and base64-encoded.

    The planes are what makes 16 bits affordable: the high bytes of similar values repeat and
    deflate well, where interleaved with the noisy low bytes they do not (at m = 3,755 a
    16-bit matrix shrinks by about a third).

    Examples
    --------
    >>> raw = zlib.decompress(base64.b64decode(packed(np.array([1, 258], dtype=np.uint16))))
    >>> list(raw)
    [1, 2, 0, 1]
    """
    little = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    planes = little.view(np.uint8).reshape(-1, little.dtype.itemsize).T.tobytes()
    return base64.b64encode(zlib.compress(planes, 6)).decode("ascii")


def _matrices(
    matrices: Mapping[str, np.ndarray],
    first: str,
    budget: float,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[dict, list[str]]:
    """The transforms' matrices, packed at the finest precision the size budget (in bytes of
    the page) allows: 16 bits for all; else 8 for the transforms other than ``first`` (the one
    the page opens with); else 12 bits for ``first`` (still 3 exact decimals); else 8 for all;
    else ``first`` alone, at 12 bits, then at 8 (a notebook cell's limit, say). ``ranges``:
    the values each matrix's codes span (default -1 to 1, correlations)."""
    ranges = ranges or {}
    others = {t: 8 for t in matrices if t != first}
    plans = [
        {t: 16 for t in matrices},
        {first: 16, **others},
        {first: 12, **others},
        {first: 8, **others},
        {first: 12},
        {first: 8},
    ]
    encoded: dict[tuple[str, int], str] = {}  # plans share encodings: each made once

    def encode(t: str, bits: int) -> str:
        if (t, bits) not in encoded:
            encoded[t, bits] = packed(quantise(matrices[t], bits, *ranges.get(t, (-1.0, 1.0))))
        return encoded[t, bits]

    notes: list[str] = []
    for plan in plans:
        out = {
            t: dict(zip(("lo", "hi"), ranges.get(t, (-1.0, 1.0)), strict=True))
            | {"bits": bits, "data": encode(t, bits)}
            for t, bits in plan.items()
        }
        size = sum(len(v["data"]) for v in out.values())
        if size <= budget or plan is plans[-1]:
            break
    coarse = [
        f"{t} with {bits} bits (values to ±{(hi - lo) / ((1 << bits) - 2) / 2:.2g})"
        for t, bits in plan.items()
        if bits < 16
        for lo, hi in [ranges.get(t, (-1.0, 1.0))]
    ]
    if coarse:
        notes.append(f"{', '.join(coarse)}, to keep the page within its size budget")
    left_out = [t for t in matrices if t not in plan]
    if left_out:
        notes.append(
            f"{', '.join(left_out)} left out of this page (size budget); "
            "`classsim explore --budget-mb` writes a larger one"
        )
    if size > budget:
        notes.append(f"the matrices take {size / 1e6:.0f} MB, over the page's size budget")
    return out, notes


def _orders(
    result: SimilarityResult, chosen_order: list[int], chosen: str, analysed: bool
) -> list[dict]:
    """Every order a viewer can switch to: the chosen one first (the analysis's; without one,
    the exported hclust order or class-id order), then per transform its hclust order and the
    alternatives the analysis exported, then class-id order."""
    if analysed:
        label = f"hclust ({chosen}, chosen)"
    elif chosen_order != list(range(result.m)):
        label = f"hclust ({chosen})"
    else:
        label = "class id (no analysis)"
    out = [{"key": "chosen", "label": label, "order": chosen_order}]
    for t in result.transforms:
        exported = read_orders(result, t)
        if "order" in exported and (t != chosen or exported["order"] != chosen_order):
            out.append({"key": f"{t}:hclust", "label": f"hclust ({t})", "order": exported["order"]})
        for method, alt in (exported.get("alternatives") or {}).items():
            if "order" in alt:
                out.append(
                    {"key": f"{t}:{method}", "label": f"{method} ({t})", "order": alt["order"]}
                )
    if chosen_order != list(range(result.m)):
        out.append({"key": "class-id", "label": "class id", "order": list(range(result.m))})
    return out


def _colours(cmap: str) -> list[str]:
    """The colormap's 256 colours as ``#rrggbb``, the bytes the figures' pixels get."""
    from matplotlib import colormaps

    rgba = colormaps[cmap](np.arange(LUT_SIZE), bytes=True)
    return ["#{:02x}{:02x}{:02x}".format(*rgb[:3]) for rgb in rgba.tolist()]


def _colour_scales(result: SimilarityResult, layout) -> dict:
    """Both colormaps and each transform's exact off-diagonal range, so that the page colours
    as the figures do (same colormap, same default limits) and can switch live."""
    return {
        **_colour_tables(layout.background),
        "limits": {t: _limits(result.matrix(t)) for t in result.transforms},
    }


def _colour_tables(background: str = BACKGROUND) -> dict:
    """Both colormaps' colours and the background, as the figures have them."""
    from matplotlib.colors import to_hex

    return {
        "sequential": _colours(SEQUENTIAL_CMAP),
        "diverging": _colours(DIVERGING_CMAP),
        "background": to_hex(background),
    }


def _limits(*matrices: np.ndarray) -> dict:
    """The exact off-diagonal range of one matrix, or the common range of several: ``low``,
    ``high``, ``high_abs`` (None where a matrix holds no finite value)."""
    found = [offdiag_extremes(M) for M in matrices]
    low = min(e.low for e in found)
    high, high_abs = max(e.high for e in found), max(e.high_abs for e in found)
    return {
        name: (float(v) if np.isfinite(v) else None)
        for name, v in (("low", low), ("high", high), ("high_abs", high_abs))
    }


def _overlay(layout) -> dict:
    """The chosen view's structure as the static figure draws it, in positions of its order
    (none without a layout)."""
    if layout is None:
        boxes = ("split_boxes", "unstable_split_boxes")
        pairs = ("near_duplicates", "unstable_near_duplicates")
        return {**{k: [] for k in ("brackets", *boxes, *pairs, "ticks")}, "dendrogram": None}
    return {
        "brackets": layout.brackets,
        "split_boxes": [list(map(int, b)) for b in layout.split_boxes],
        "unstable_split_boxes": [list(map(int, b)) for b in layout.unstable_split_boxes],
        "near_duplicates": [list(map(int, p)) for p in layout.near_duplicates],
        "unstable_near_duplicates": [list(map(int, p)) for p in layout.unstable_near_duplicates],
        "ticks": [int(p) for p in layout.ticks],
        "dendrogram": None
        if layout.dendrogram is None
        else {  # positions to 1/1000 of a row, heights to 6 significant digits: a third the size
            "icoord": np.round(layout.dendrogram["icoord"], 3).tolist(),
            "dcoord": [[float(f"{d:.6g}") for d in link] for link in layout.dendrogram["dcoord"]],
        },
    }


def _examples(result: SimilarityResult) -> dict:
    """The samples behind class pairs that ``classsim examples`` looked up, when it did."""
    file = Path(result.path) / EXAMPLES_FILE if result.path else None
    if file is None or not file.is_file():
        return {}
    record = json.loads(file.read_text())
    return {"examples": record["pairs"], "examples_transform": record["transform"]}


def _counts(result: SimilarityResult) -> dict | None:
    for name in ("confusion", "cooccurrence"):
        if name in result.counts:
            counts = np.asarray(result.counts[name])
            return {
                "name": name,
                "max": int(counts.max(initial=0)),
                "data": packed(np.clip(counts, 0, 2**32 - 1).astype(np.uint32)),
            }
    return None


def explorer_data(
    results: SimilarityResult | str | Path,
    budget_mb: float | None = None,
    options: RenderOptions | None = None,
) -> dict:
    """Everything the page shows, as JSON-ready values.

    Parameters
    ----------
    results : SimilarityResult or path
        A results directory, analysed or not (without an analysis: class-id order, no
        structure).
    budget_mb : float, optional
        Size limit of the page, in MB (decimal; default :data:`BUDGET_MB`): the matrices get
        what the rest (names, orders, findings, counts, script) leaves.
    options : RenderOptions, optional
        The figures' options: their transform and colours (diverging, cut-off, contrast) are
        the page's opening state.

    Returns
    -------
    dict
        ``schema``, ``title``, ``m``, ``n``, ``names``, ``transforms``, ``chosen``,
        ``initial``, ``matrices``, ``orders``, ``overlay``, ``colours``, ``findings``,
        ``taxonomy``, ``counts``, ``notes``; with ``examples.json``, ``examples`` (its pairs)
        and ``examples_transform``.
    """
    options = options or RenderOptions()
    budget_mb = BUDGET_MB if budget_mb is None else budget_mb
    result = as_result(results)
    groups = read_groups(result)
    layout = similarity_layout(result)
    chosen = groups.transform if groups else result.transforms[0]
    taxonomy = find_taxonomy(result, groups)
    findings = groups.to_json() if groups else {}
    data = {
        "schema": SCHEMA,
        "title": "/".join(Path(result.path).resolve().parts[-2:]) if result.path else "classsim",
        "m": result.m,
        "n": result.run.n if result.run else None,
        "names": list(result.classes),
        "transforms": result.transforms,
        "chosen": chosen,
        "initial": {
            "transform": options.transform or chosen,
            "diverging": bool(options.diverging),
            "cutoff": options.cutoff,
            "contrast": float(options.contrast),
        },
        "matrices": {},
        "orders": _orders(result, layout.order.tolist(), chosen, groups is not None),
        "overlay": _overlay(layout),
        "colours": _colour_scales(result, layout),
        "findings": {
            k: findings.get(k, [])
            for k in (
                "blocks",
                "spans",
                "split_groups",
                "failed_groups",
                "near_duplicates",
                "stars",
            )
        },
        "taxonomy": None
        if taxonomy is None
        else {"levels": list(taxonomy.levels), "paths": [list(p) for p in taxonomy.paths]},
        "counts": _counts(result),
        "notes": list(layout.notes),
        **_examples(result),
    }
    computed = {t: result.matrix(t) for t in result.transforms}
    return _with_matrices(data, computed, budget_mb)


def _with_matrices(
    data: dict,
    matrices: Mapping[str, np.ndarray],
    budget_mb: float,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> dict:
    """``data`` with ``matrices`` packed in what the page's budget leaves them (the first at
    the finest precision), the matrices it carries as its ``transforms``, and notes."""
    rest = len(_json_for_html(data).encode()) + PAGE_BYTES
    first = data["initial"]["transform"]
    data["matrices"], notes = _matrices(matrices, first, budget_mb * 1e6 - rest, ranges)
    data["transforms"] = [t for t in matrices if t in data["matrices"]]
    data["notes"] = notes + data["notes"]
    return data


def comparison_data(
    names: Sequence[str],
    a: np.ndarray,
    b: np.ndarray,
    order: Sequence[int],
    labels: tuple[str, str],
    title: str,
    notes: Sequence[str] = (),
    changed: Sequence[dict] = (),
    budget_mb: float | None = None,
) -> dict:
    """The page data of two similarity matrices over the same classes and their difference
    (``classsim compare``): three matrices to switch between or show beside one another in
    one order, A and B on one colour scale, the difference always diverging.

    Parameters
    ----------
    names : sequence of str
        The classes, in the matrices' row order.
    a, b : ndarray, shape (m, m)
    order : sequence of int
        The order shown (indices into ``names``).
    labels : (str, str)
        Names of A and B (the difference is ``"A − B"`` with them).
    title, notes
        The page's title and the lines under its findings.
    changed : sequence of dict
        Classes listed as findings (``name``, ``class_id`` (index into ``names``),
        ``mean_abs_change``), most changed first: a click zooms to the class.
    budget_mb : float, optional
        Size limit of the page (default :data:`BUDGET_MB`).
    """
    difference = f"{labels[0]} − {labels[1]}"
    shared = _limits(a, b)
    data = {
        "schema": SCHEMA,
        "title": title,
        "m": len(names),
        "n": None,
        "names": list(names),
        "transforms": [*labels, difference],
        "chosen": labels[0],
        "initial": {"transform": labels[0], "diverging": False, "cutoff": None, "contrast": 1.0},
        "diverging": [difference],
        "matrices": {},
        "orders": [{"key": "chosen", "label": f"{labels[0]}'s order", "order": list(order)}],
        "overlay": _overlay(None),
        "colours": {
            **_colour_tables(),
            "limits": {labels[0]: shared, labels[1]: shared, difference: _limits(a - b)},
        },
        "findings": {"changed": list(changed)},
        "taxonomy": None,
        "counts": None,
        "notes": list(notes),
    }
    matrices = {labels[0]: a, labels[1]: b, difference: a - b}
    budget = BUDGET_MB if budget_mb is None else budget_mb
    # The difference's codes span its own range: differences of a few thousandths (two windows
    # of one model) would all round to 0 over the range -2 .. 2.
    spread = data["colours"]["limits"][difference]["high_abs"] or 1.0
    return _with_matrices(data, matrices, budget, {difference: (-spread, spread)})


def _asset(name: str) -> str:
    return resources.files(ASSETS).joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _json_for_html(data: dict) -> str:
    """JSON that cannot end its ``<script>`` element nor be read as markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def explorer_html(data: dict) -> str:
    """The page for :func:`explorer_data`'s ``data``: one HTML document, nothing to fetch."""
    script = "\n".join(f"// ---- {name}\n{_asset(name)}" for name in SCRIPTS)
    style = _asset(STYLE)
    csp = (
        f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
        "img-src data: blob:; base-uri 'none'; form-action 'none'"
    )
    values = {"CSP": csp, "STYLE": style, "SCRIPT": script, "DATA": _json_for_html(data)}
    # One pass: nothing inserted is searched again (a class name "{{SCRIPT}}" stays a name).
    return re.sub(
        r"\{\{(CSP|STYLE|SCRIPT|DATA)\}\}", lambda m: values[m[1]], _asset("explorer.html")
    )


def explorer_page(
    results: SimilarityResult | str | Path,
    budget_mb: float | None = None,
    options: RenderOptions | None = None,
) -> str:
    """The page of a results directory as one HTML string, written nowhere.

    For ``displayHTML`` in a notebook, whose output cells hold about 16 MB on Databricks: pass
    a ``budget_mb`` below that. Arguments as for :func:`explorer_data`.

    Examples
    --------
    >>> displayHTML(explorer_page("/Volumes/ml/eval/classsim/run1", budget_mb=15))  # doctest: +SKIP
    """
    return explorer_html(explorer_data(results, budget_mb, options))


def write_explorer(
    results: SimilarityResult | str | Path,
    budget_mb: float | None = None,
    options: RenderOptions | None = None,
) -> Path:
    """Write (or replace) ``explorer.html`` in a results directory; return its path.

    ``budget_mb`` and ``options`` as for :func:`explorer_data`. The file is written under a
    temporary name and renamed: a reader sees the old page or the new one.
    """
    result = as_result(results)
    if result.path is None:
        raise ValueError("the explorer needs a saved results directory")
    target = Path(result.path) / EXPLORER_FILE
    write_text_atomically(target, explorer_page(result, budget_mb, options))
    log.info("explorer: %s (%.1f MB)", target, target.stat().st_size / 1e6)
    return target
