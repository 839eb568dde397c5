"""classsim: how a large classifier organises its classes, from its prediction scores alone.

The public API::

    import classsim_spark as cs
    res = cs.similarity("scores.parquet", layout="array", transforms=["logit", "rank"], out="res")
    res.matrix("rank")                 # m x m Pearson correlation of per-sample class ranks
    cs.load_results("res")             # reopen a results directory without Spark
    cs.analyze("res", taxonomy="taxonomy.csv")   # blocks, split/failed groups, agreement
    cs.render_figures("res")           # res/figures: PNG + SVG of every view
    cs.figures.similarity_heatmap("res", diverging=True)   # one view as a matplotlib Figure

``figures`` and ``render_figures`` are imported on first use, so Spark tasks that import this
package never load matplotlib.
"""

__version__ = "0.1.0"

from classsim_spark.analysis import Analysis, analyze  # noqa: E402
from classsim_spark.api import similarity  # noqa: E402
from classsim_spark.results import SimilarityResult  # noqa: E402

load_results = SimilarityResult.load

__all__ = ["Analysis", "SimilarityResult", "__version__", "analyze", "figures", "load_results",
           "render_figures", "similarity"]


def __getattr__(name: str):
    if name == "figures":
        from classsim_spark.render import figures

        return figures
    if name == "render_figures":
        from classsim_spark.render.figures import render

        return render
    raise AttributeError(f"module 'classsim_spark' has no attribute {name!r}")
