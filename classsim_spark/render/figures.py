"""Write every figure of a results directory into its ``figures/`` folder (PNG plus SVG/PDF).

Which figures exist depends on what the directory holds: the similarity heatmap and the
distribution panel always; the same matrix in taxonomy order (the paper's Fig. 2a beside the
hclust view, Fig. 2b) when the analysis had a taxonomy; class frequencies and the confusion or
co-occurrence views when the scan had labels. The folder is written under a temporary name and
renamed when complete, so an interrupted render never leaves a partial set; an existing set is
replaced only when asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from classsim_spark.render.baselines import (  # noqa: E402
    confusion_layout,
    cooccurrence_layout,
    draw_confusion,
    draw_cooccurrence,
    read_groups,
)
from classsim_spark.render.distributions import distribution_figure  # noqa: E402
from classsim_spark.render.frequencies import frequency_figure  # noqa: E402
from classsim_spark.render.heatmap import (  # noqa: E402
    draw_heatmap,
    heatmap_layout,
    save_figure,
    similarity_heatmap,
)
from classsim_spark.results import SimilarityResult, atomic_directory  # noqa: E402
from classsim_spark.taxonomy import read_taxonomy  # noqa: E402

log = logging.getLogger("classsim")

FIGURES_DIR = "figures"
VECTOR_FORMATS: tuple[str, ...] = ("svg", "pdf")


def taxonomy_view(result: SimilarityResult, groups: dict):
    """The chosen transform's matrix in taxonomy order with taxonomy bars, or None without one.

    Uses the taxonomy order that ``analyze`` exported in ``order-<t>.json`` (classes sorted by
    taxonomy path, hclust within each group), so it sits beside the hclust view (Fig. 2a/2b).
    """
    tax = groups.get("taxonomy")
    if not tax:
        return None
    t = groups["chosen"]["transform"]
    order_file = result.path / f"order-{t}.json"
    orders = json.loads(order_file.read_text()) if order_file.is_file() else {}
    order = (orders.get("alternatives") or {}).get("taxonomy", {}).get("order")
    if order is None or not Path(tax["file"]).is_file():
        return None
    taxonomy = read_taxonomy(tax["file"], result.classes, tax["levels"])
    layout = heatmap_layout(result.matrix(t), result.classes, order,
                            taxonomy_paths=taxonomy.paths, taxonomy_levels=taxonomy.levels,
                            title=f"similarity ({t}), taxonomy order")
    return draw_heatmap(layout)


def figure_makers(result: SimilarityResult) -> dict[str, Callable]:
    """Name -> function returning the Figure, for the figures this result supports."""
    makers: dict[str, Callable] = {
        "similarity": lambda: similarity_heatmap(result),
        "distributions": lambda: distribution_figure(result),
    }
    groups = read_groups(result)
    if groups.get("taxonomy"):
        makers["similarity-taxonomy"] = lambda: taxonomy_view(result, groups)
    if "frequencies" in result.counts:
        makers["frequencies"] = lambda: frequency_figure(result)
    if "confusion" in result.counts:
        makers["confusion"] = lambda: draw_confusion(confusion_layout(result))
    if "cooccurrence" in result.counts:
        makers["cooccurrence"] = lambda: draw_cooccurrence(cooccurrence_layout(result))
    return makers


def render(results: SimilarityResult | str | Path, vector: str = "svg",
           overwrite: bool = False) -> Path:
    """Render all figures of a results directory into ``<dir>/figures``.

    Parameters
    ----------
    results : SimilarityResult or path
        A saved result (it needs its directory for ``groups.json`` and the output).
    vector : {"svg", "pdf"}
        The vector format written beside each PNG (matrices stay rasterised inside).
    overwrite : bool
        Replace an existing ``figures`` folder.

    Returns
    -------
    Path
        The figures folder.
    """
    if vector not in VECTOR_FORMATS:
        raise ValueError(f"vector format must be one of {VECTOR_FORMATS}, got {vector!r}")
    result = results if isinstance(results, SimilarityResult) else SimilarityResult.load(results)
    if result.path is None:
        raise ValueError("render needs a saved results directory")
    out = result.path / FIGURES_DIR
    with atomic_directory(out, overwrite) as tmp:
        for name, make in figure_makers(result).items():
            fig = make()
            if fig is None:  # e.g. the taxonomy file has moved since the analysis
                continue
            try:
                for suffix in ("png", vector):
                    save_figure(fig, tmp / f"{name}.{suffix}")
            finally:
                plt.close(fig)
            log.info("figure %s: %d x %d px", name, *fig.canvas.get_width_height())
    return out
