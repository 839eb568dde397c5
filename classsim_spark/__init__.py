"""classsim: how a large classifier organises its classes, from its prediction scores alone.

The public API::

    import classsim_spark as cs
    res = cs.similarity("scores.parquet", layout="array", transforms=["logit", "rank"], out="res")
    res.matrix("rank")                 # m x m Pearson correlation of per-sample class ranks
    cs.load_results("res")             # reopen a results directory without Spark
    cs.analyze("res", taxonomy="taxonomy.csv")   # blocks, split/failed groups, agreement
    cs.render_figures("res")           # res/figures: PNG + SVG of every view, res/explorer.html
    cs.write_explorer("res")           # res/explorer.html alone: the interactive page
    cs.explorer_page("res", budget_mb=15)        # the page as a string, for displayHTML
    cs.similarity("new-day/", update="res")      # add new rows to the statistics
    cs.compose_window("res", "2026-01-01", "2026-01-31", out="jan")  # scanned with by="date"
    cs.compare("res-a", "res-b", out="a-vs-b")  # agreement, changed classes, blocks, figure
    cs.examples("res", [("cat", "dog")], top=20)  # the samples that make two classes alike
    cs.figures.similarity_heatmap("res", diverging=True)   # one view as a matplotlib Figure

Everything is imported on first use, so that a Spark task importing a module of this package
loads only what that module needs, and ``classsim analyze``, ``render`` and ``--help`` never load
PySpark.
"""

from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {
    "Analysis": ("classsim_spark.analysis", "Analysis"),
    "analyze": ("classsim_spark.analysis", "analyze"),
    "similarity": ("classsim_spark.api", "similarity"),
    "SimilarityResult": ("classsim_spark.io.results", "SimilarityResult"),
    "load_results": ("classsim_spark.io.results", "load_results"),
    "figures": ("classsim_spark.render.figures", None),
    "render_figures": ("classsim_spark.render.figures", "render"),
    "write_explorer": ("classsim_spark.render.explorer", "write_explorer"),
    "explorer_page": ("classsim_spark.render.explorer", "explorer_page"),
    "compose_window": ("classsim_spark.windows", "compose_window"),
    "compare": ("classsim_spark.compare", "compare"),
    "examples": ("classsim_spark.examples", "examples"),
}
"""Public name -> (module, attribute; None for the module itself)."""

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'classsim_spark' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = import_module(module)
    return value if attribute is None else getattr(value, attribute)


def __dir__() -> list[str]:
    return sorted(__all__)
