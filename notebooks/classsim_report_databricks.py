# Databricks notebook source
# MAGIC %md
# MAGIC # classsim report: the findings, figures and explorer of a results directory
# MAGIC
# MAGIC The second task of the classsim bundle (`databricks.yml`): the first ran `classsim run` on
# MAGIC the prediction table into `results`. This notebook only reads files (no Spark, no package to
# MAGIC install): `run.json`, `groups.json`, the figures and `explorer.html`.

# COMMAND ----------

dbutils.widgets.text("results", "/Volumes/main/ml/classsim/dev", "Results directory")
results = dbutils.widgets.get("results")

# COMMAND ----------

import base64
import json
from pathlib import Path

folder = Path(results)
run = json.loads((folder / "run.json").read_text())
groups = json.loads((folder / "groups.json").read_text())
chosen = groups["chosen"]
print(f"{run['n']:,} samples x {run['m']} classes from {run['input']}")
print(f"chosen: {chosen['transform']}, {chosen['distance']}, {chosen['linkage']} linkage")
kinds = ("blocks", "split_groups", "failed_groups", "near_duplicates", "stars")
found = {k: len(groups.get(k) or []) for k in kinds}
print(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in found.items()))
for pair in groups.get("near_duplicates") or []:
    print(f"  near-duplicates: {' ~ '.join(pair['names'])} (r = {pair['similarity']:.3f})")
agreement = (groups.get("taxonomy") or {}).get("agreement") or {}
for level in agreement.get("levels", []):
    print(
        f"  taxonomy {level['level']} ({level['groups']} groups): ARI {level['ari']:.3f}, "
        f"NMI {level['nmi']:.3f}, dendrogram purity {level['dendrogram_purity']:.3f}"
    )

# COMMAND ----------

# MAGIC %md The figures (full resolution under `figures/`; shown here at most 1,600 px wide).

# COMMAND ----------

for png in sorted((folder / "figures").glob("*.png")):
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    displayHTML(
        f"<h3>{png.stem}</h3><img src='data:image/png;base64,{data}' style='max-width:1600px'>"
    )

# COMMAND ----------

# MAGIC %md The explorer: zoom, hover, switch orders and transforms, follow the findings. A cell holds
# MAGIC about 16 MB: a larger page (thousands of classes) is left to download from the volume
# MAGIC (`classsim explore <results> --budget-mb 15` writes one that fits).

# COMMAND ----------

LIMIT = 15e6
page = folder / "explorer.html"
if not page.is_file():
    print("no explorer.html: render ran with --no-explorer")
elif page.stat().st_size > LIMIT:
    print(f"{page} is {page.stat().st_size / 1e6:.0f} MB: download it from the volume and open it")
else:
    displayHTML(page.read_text(encoding="utf-8"))
