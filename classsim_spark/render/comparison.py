"""The comparison figure of ``classsim compare``: A, B and A − B side by side, one order.

A and B share one colour scale (the range of both matrices' off-diagonal values), so equal
colours mean equal similarities; A − B has its own diverging scale, centred at 0. Every panel
uses A's order; when not every name fits, the classes that changed most are named.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from classsim_spark.render.heatmap import draw_heatmaps, heatmap_layout, offdiag_extremes


def comparison_figure(
    names: Sequence[str],
    A: np.ndarray,
    B: np.ndarray,
    order: np.ndarray,
    titles: tuple[str, str, str],
    changed: Sequence[str] = (),
) -> Figure:
    """The figure of two similarity matrices over the same classes and their difference.

    Parameters
    ----------
    names : sequence of str
        The classes of both matrices, in their row order.
    A, B : ndarray, shape (m, m)
    order : ndarray of int
        The order every panel shows (indices into ``names``).
    titles : (str, str, str)
        Of the A, B and A − B panels.
    changed : sequence of str
        Classes to name first when not every name fits (most changed first).
    """
    ea, eb = offdiag_extremes(A), offdiag_extremes(B)
    low, high = min(ea.low, eb.low), max(ea.high, eb.high)
    shared = {"order": order, "highlight": list(changed) or None}
    return draw_heatmaps(
        [
            heatmap_layout(A, names, vmin=low, vmax=high, title=titles[0],
                           colorbar_label="r", **shared),
            heatmap_layout(B, names, vmin=low, vmax=high, title=titles[1],
                           colorbar_label="r", **shared),
            heatmap_layout(A - B, names, diverging=True, title=titles[2],
                           colorbar_label="difference of r", **shared),
        ]
    )  # fmt: skip
