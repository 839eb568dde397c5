# Databricks notebook source
# MAGIC %md
# MAGIC # classsim: class similarity of a classifier, from its prediction scores
# MAGIC
# MAGIC One pass over a prediction table computes, for every pair of classes, the Pearson correlation
# MAGIC of their scores over all samples (after a per-sample `logit`, `probability` or `rank`
# MAGIC transform). Works on classic clusters and over Spark Connect (serverless, shared clusters).
# MAGIC
# MAGIC Install the wheel first (cluster library, or `%pip install /Volumes/.../classsim_spark-*.whl`).

# COMMAND ----------

dbutils.widgets.text("table", "main.ml.predictions", "Prediction table")
dbutils.widgets.text("scores_col", "scores", "Score array column")
dbutils.widgets.text("classes", "", "Class file (CSV/JSON/text), optional")
dbutils.widgets.text("where", "", "SQL filter, e.g. date >= '2026-01-01'")
dbutils.widgets.dropdown("scores", "logits", ["logits", "probabilities", "log-probabilities"])
dbutils.widgets.text("taxonomy", "", "Taxonomy CSV (name + level columns), optional")
dbutils.widgets.text("out", "/Volumes/main/ml/classsim/run", "Results directory")
dbutils.widgets.dropdown("overwrite", "false", ["false", "true"], "Replace results")
params = {
    k: dbutils.widgets.get(k) or None
    for k in ("table", "scores_col", "classes", "where", "scores", "taxonomy", "out", "overwrite")
}

# COMMAND ----------

import classsim_spark as cs

result = cs.similarity(
    params["table"],
    scores_col=params["scores_col"],
    classes=params["classes"],
    where=params["where"],
    scores=params["scores"],
    transforms=["logit", "probability", "rank"],
    spark=spark,
    out=params["out"],
    overwrite=params["overwrite"] == "true",
)
print(f"n={result.run.n} samples, m={result.m} classes, timings {result.run.timings_s}")

# COMMAND ----------

# MAGIC %md The most similar class pairs (rank transform): candidates for groups and near-duplicates.

# COMMAND ----------

import numpy as np
import pandas as pd

m = result.matrix("rank")
i, j = np.triu_indices(result.m, k=1)
top = np.argsort(-m[i, j])[:25]
pairs = pd.DataFrame(
    {
        "class_a": np.array(result.classes)[i[top]],
        "class_b": np.array(result.classes)[j[top]],
        "similarity": m[i[top], j[top]].round(3),
    }
)
display(pairs)

# COMMAND ----------

# MAGIC %md The structure the model has learned (blocks, split and failed groups, near duplicates,
# MAGIC agreement with the taxonomy) and the figures, written to `<out>/figures` as PNG + SVG.
# MAGIC The heatmap: blocks labelled on the left, split groups boxed red, failed groups as blue
# MAGIC columns, near duplicates circled, star classes ticked red.

# COMMAND ----------

found = cs.analyze(
    params["out"], taxonomy=params["taxonomy"], overwrite=params["overwrite"] == "true"
)
print("chosen:", found.chosen)
print(
    f"{len(found.groups['blocks'])} blocks, {len(found.groups['split_groups'])} split groups, "
    f"{len(found.groups['failed_groups'])} failed groups, "
    f"{len(found.groups['near_duplicates'])} near-duplicate pairs"
)
print("figures:", cs.render_figures(params["out"], overwrite=params["overwrite"] == "true"))
display(cs.figures.similarity_heatmap(params["out"]))

# COMMAND ----------

# MAGIC %md The explorer, `<out>/explorer.html` (written with the figures): one self-contained page
# MAGIC to zoom into the matrix, read the names and every transform's value under the pointer,
# MAGIC switch orders and transforms, follow a finding to its classes and search for a class. It
# MAGIC needs no network; download it from the volume to keep or share it. The cell shows the same
# MAGIC page built within 15 MB (a notebook cell holds about 16 MB): at thousands of classes it
# MAGIC carries fewer transforms or coarser values than the file, and says so under its findings.

# COMMAND ----------

displayHTML(cs.explorer_page(params["out"], budget_mb=15))
