"""Real third-party classifier outputs (shared/data): the scan on them, and the default analysis.

Nobody here generated these: 20news and CIFAR-10 (cleanlab label-errors) hold float32 softmax
probabilities with many exact zeros (ties for the rank transform, clipping for the logit
transform) and their stored log-probabilities; four CIFAR-100 models and a WordNet-verbs text
classifier hold logits. The default analysis's numbers on every set are pinned to the values of
a fixed run (docs/seriation.md explains the default; benchmarks/fidelity.py compares it with
every other rule).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from classsim_spark import similarity
from classsim_spark.analysis import analyze
from classsim_spark.cli import main
from classsim_spark.core.moments import Moments
from classsim_spark.core.transforms import TRANSFORMS, ScoreSpec, transform_block
from classsim_spark.io.records import RunRecord
from classsim_spark.io.results import SimilarityResult

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared/data is not beside the repo")


def load(name: str, column: str) -> np.ndarray:
    table = pq.read_table(DATA / name / "scores.parquet", columns=["sample_id", column])
    flat = np.asarray(table.column(column).combine_chunks().flatten())
    return flat.reshape(table.num_rows, -1)


@pytest.mark.parametrize("name", ["20news", "cifar10"])
def test_real_probabilities_all_transforms_equal_numpy(spark, name):
    p = load(name, "probs")
    if name == "20news":
        assert (p == 0).any()  # exact zeros: ties for rank, clipping for logit
    res = similarity(
        str(DATA / name / "scores.parquet"),
        scores_col="probs",
        scores="probabilities",
        classes=str(DATA / name / "classes.csv"),
        spark=spark,
    )
    assert res.m == p.shape[1] and res.run.n == p.shape[0]
    spec = ScoreSpec("probabilities", "softmax")
    for t in ("logit", "probability", "rank"):
        oracle = np.corrcoef(transform_block(p, t, spec), rowvar=False)
        assert np.abs(res.matrix(t) - oracle).max() < 1e-9, t
    # The stored log-probabilities are log(max(p, 1e-12)): the same logit view of the model.
    from_logs = similarity(
        str(DATA / name / "scores.parquet"),
        scores_col="scores",
        scores="log-probabilities",
        transforms=["logit", "rank"],
        spark=spark,
    )
    assert np.abs(from_logs.matrix("logit") - res.matrix("logit")).max() < 1e-5
    assert np.abs(from_logs.matrix("rank") - res.matrix("rank")).max() < 1e-9


# The default analysis (logit, 1-r, average) of each set, from a fixed run: the chosen combination,
# per taxonomy level the ARI and NMI of the tree cut and the dendrogram purity, the cophenetic
# correlation with the taxonomy distance, and how many blocks, split groups, failed groups,
# near-duplicate pairs and stars were found.
DEFAULT_ANALYSIS = {
    "20news": (
        "level1,level2,topic6",
        {
            "ari": [0.4184082752797129, 0.4311377245508982, 0.6117921774664331],
            "nmi": [0.6961388710979594, 0.9439228664024879, 0.7931135408292792],
            "purity": [0.7426870748299319, 1.0, 0.7784013605442176],
            "coph": 0.5181078887705621,
            "found": [6, 0, 1, 0, 1],
        },
    ),
    "cifar10": (
        "level1,level2",
        {
            "ari": [1.0, 0.6170212765957447],
            "nmi": [1.0, 0.8900019227896939],
            "purity": [1.0, 0.8571428571428571],
            "coph": 0.8489014685366963,
            "found": [4, 0, 0, 0, 1],
        },
    ),
    "cifar100/resnet20": (
        "level0,level1",
        {
            "ari": [0.5836837678721615, 0.5175481736486789],
            "nmi": [0.6960972749468464, 0.8140215786117584],
            "purity": [0.761484552838649, 0.6296682311720675],
            "coph": 0.6026128811539709,
            "found": [21, 0, 1, 0, 1],
        },
    ),
    "cifar100/vgg11_bn": (
        "level0,level1",
        {
            "ari": [0.07807365439093485, 0.2983091519097029],
            "nmi": [0.2508744705618132, 0.6851650589547007],
            "purity": [0.6103829407221981, 0.38177919560909246],
            "coph": 0.33962534401744665,
            "found": [31, 0, 0, 0, 3],
        },
    ),
    "cifar100/mobilenetv2_x0_5": (
        "level0,level1",
        {
            "ari": [0.4241958261415346, 0.5001990070595136],
            "nmi": [0.5845177077453054, 0.8103715944229709],
            "purity": [0.8235296383518631, 0.6804968539596686],
            "coph": 0.641090377060049,
            "found": [23, 0, 0, 0, 1],
        },
    ),
    "cifar100/shufflenetv2_x1_0": (
        "level0,level1",
        {
            "ari": [0.419858758672145, 0.5272574058468918],
            "nmi": [0.5928729955488792, 0.8265331931429215],
            "purity": [0.797399862855809, 0.6503932178932179],
            "coph": 0.6250301884875505,
            "found": [23, 0, 0, 0, 1],
        },
    ),
    "wordnet_verbs": (
        "level1,level2",
        {
            "ari": [0.21447421528255192, 0.12010711331644061],
            "nmi": [0.45974266675211434, 0.8527443065222494],
            "purity": [0.33038492523037627, 0.2715295597663416],
            "coph": 0.26145015596484183,
            "found": [41, 1, 2, 0, 4],
        },
    ),
}
FINDINGS = ("blocks", "split_groups", "failed_groups", "near_duplicates", "stars")


def assert_default_analysis(groups: dict, name: str) -> None:
    levels, expected = DEFAULT_ANALYSIS[name]
    chosen = groups["chosen"]
    assert (chosen["transform"], chosen["distance"], chosen["linkage"], chosen["criterion"]) == (
        "logit",
        "1-r",
        "average",
        "fixed",
    )
    agreement = groups["taxonomy"]["agreement"]
    assert [lv["level"] for lv in agreement["levels"]] == levels.split(",")
    for key, field in (("ari", "ari"), ("nmi", "nmi"), ("purity", "dendrogram_purity")):
        got = [lv[field] for lv in agreement["levels"]]
        assert got == pytest.approx(expected[key], rel=1e-9, abs=1e-12), (name, key)
    assert agreement["cophenetic_correlation"] == pytest.approx(expected["coph"], rel=1e-9)
    assert [len(groups[k]) for k in FINDINGS] == expected["found"], name


@pytest.mark.parametrize("name", list(DEFAULT_ANALYSIS))
def test_default_analysis_of_every_real_set(name):
    """The statistics as the executors compute them (same functions), analysed with defaults."""
    table = pq.read_table(DATA / name / "scores.parquet")
    flat = np.asarray(table.column("scores").combine_chunks().flatten(), dtype=np.float64)
    x = flat.reshape(table.num_rows, -1)
    with open(DATA / name / "classes.csv", newline="", encoding="utf-8") as fh:
        classes = [row["name"] for row in csv.DictReader(fh)]
    spec = ScoreSpec("log-probabilities" if name in ("20news", "cifar10") else "logits")
    moments = {t: Moments.from_block(transform_block(x, t, spec)) for t in TRANSFORMS}
    result = SimilarityResult(
        classes,
        moments,
        {t: mo.correlation().matrix for t, mo in moments.items()},
        run=RunRecord(list(TRANSFORMS), n=table.num_rows, m=len(classes)),
    )
    levels = DEFAULT_ANALYSIS[name][0]
    analysis = analyze(
        result, taxonomy=DATA / name / "classes.csv", taxonomy_levels=levels, write=False
    )
    assert_default_analysis(analysis.groups, name)


def test_default_run_on_a_real_cifar100_model(spark, tmp_path, capsys):
    """`classsim run` with default settings, end to end through Spark: the same numbers."""
    folder = DATA / "cifar100" / "resnet20"
    out = tmp_path / "res"
    code = main(
        [
            "run",
            "--input",
            str(folder / "scores.parquet"),
            "--classes",
            str(folder / "classes.csv"),
            "--taxonomy",
            str(folder / "classes.csv"),
            "--taxonomy-levels",
            "level0,level1",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and capsys.readouterr().out.strip() == str(out)
    assert_default_analysis(json.loads((out / "groups.json").read_text()), "cifar100/resnet20")
    assert (out / "figures" / "similarity.png").is_file()


def test_run_without_class_file_matches_the_taxonomy_by_class_id(spark, tmp_path, capsys):
    """The shared sets' classes.csv hold class_id and name; without --classes the classes are
    class_0, ..., so the taxonomy is matched by class_id (it failed before: '20 names are not
    among the 20 classes')."""
    out = tmp_path / "res"
    code = main(
        [
            "run",
            "--input",
            str(DATA / "20news" / "scores.parquet"),
            "--taxonomy",
            str(DATA / "20news" / "classes.csv"),
            "--taxonomy-levels",
            "level1",
            "--out",
            str(out),
            "--stability-parts",
            "0",
            "--sample-rows",
            "0",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "matched by class_id instead" in captured.err
    taxonomy = json.loads((out / "groups.json").read_text())["taxonomy"]
    assert taxonomy["matched_by"] == "class_id"
    # the same tree as with the class file: the same agreement as the pinned default
    assert taxonomy["agreement"]["levels"][0]["ari"] == pytest.approx(
        DEFAULT_ANALYSIS["20news"][1]["ari"][0], rel=1e-9
    )
