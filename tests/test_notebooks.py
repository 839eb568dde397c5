"""The shipped notebooks run: their code cells are executed in order against the test session."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pyarrow as pa

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_jupyter_quickstart_runs(spark):
    matplotlib.use("Agg")
    nb = json.loads((NOTEBOOKS / "quickstart.ipynb").read_text())
    namespace: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "quickstart.ipynb", "exec"), namespace)
    res, answers = namespace["res"], namespace["answers"]
    top = {
        frozenset((res.classes[a], res.classes[b]))
        for a, b in zip(
            namespace["i"][namespace["best"]], namespace["j"][namespace["best"]], strict=True
        )
    }
    planted = {frozenset(d["names"]) for d in answers["near_duplicates"]}
    assert planted <= top  # the planted near-duplicates are among the 5 most similar pairs
    left, right = namespace["fig"].heatmap_layouts  # taxonomy order beside the hclust order
    assert left.taxonomy and right.dendrogram is not None
    assert namespace["page"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


class _Widgets:
    def __init__(self, values):
        self.values = values

    def text(self, name, default, label=None):
        self.values.setdefault(name, default)

    def dropdown(self, name, default, choices, label=None):
        self.values.setdefault(name, default)

    def get(self, name):
        return self.values[name]


def test_databricks_notebook_runs(spark, tmp_path, planted_scores):
    spark.createDataFrame(
        pa.table({"sample_id": np.arange(300), "scores": pa.array(list(planted_scores[:300]))})
    ).createOrReplaceTempView("nb_predictions")
    source = (NOTEBOOKS / "class_similarity_databricks.py").read_text()
    assert source.startswith("# Databricks notebook source\n")
    shown = []
    dbutils = type("DBUtils", (), {})()
    dbutils.widgets = _Widgets({"table": "nb_predictions", "out": str(tmp_path / "res")})
    pages = []
    namespace = {
        "spark": spark,
        "dbutils": dbutils,
        "display": shown.append,
        "displayHTML": pages.append,
    }
    exec(compile(source, "class_similarity_databricks.py", "exec"), namespace)
    assert (tmp_path / "res" / "run.json").is_file()
    pairs = shown[0]
    assert len(pairs) == 25 and pairs.similarity.is_monotonic_decreasing
    # planted_scores has two blocks of 6 classes: the top pairs lie within a block
    first = pairs.iloc[0]
    a, b = (int(c.split("_")[1]) for c in (first.class_a, first.class_b))
    assert (a < 6) == (b < 6)
    fig = shown[1]  # the heatmap of the analysed order, and the figures on disk
    assert (
        fig.heatmap_layout.order.tolist()
        == json.loads((tmp_path / "res" / "groups.json").read_text())["order"]["order"]
    )
    assert (tmp_path / "res" / "figures" / "similarity.png").is_file()
    assert pages == [(tmp_path / "res" / "explorer.html").read_text(encoding="utf-8")]
    assert 'id="classsim-data"' in pages[0]
