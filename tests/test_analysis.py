"""`analyze` end to end on a results directory (no Spark): the planted demo answers come back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from classsim_spark.analysis import analyze
from classsim_spark.core.findings import FlameRow
from classsim_spark.demo.generator import DemoSpec, generate
from classsim_spark.demo.reference import numpy_results
from classsim_spark.io.records import GroupsRecord
from classsim_spark.io.results import ResultsExistError, SimilarityResult


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    """The default demo, its similarity computed with numpy, saved as a results directory."""
    data = generate(DemoSpec(samples=20_000, seed=0))
    path, taxonomy = numpy_results(data, tmp_path_factory.mktemp("analysis"), ("logit", "rank"))
    return path, taxonomy, data.answers


def test_demo_structure_is_recovered(demo_results):
    path, taxonomy, answers = demo_results
    result = analyze(path, taxonomy=taxonomy, taxonomy_levels="level1,level2")
    text = (path / "groups.json").read_text()
    g = json.loads(text)
    assert g["schema"] == "classsim.groups/1" and g == json.loads(json.dumps(result.groups))
    # the typed record reads the file back to the same text, with its findings as records
    record = GroupsRecord.from_json(g)
    assert json.dumps(record.to_json(), indent=1) + "\n" == text
    rows = [row for flames in record.spans for row in flames.rows]
    assert record == result.record and rows and all(isinstance(r, FlameRow) for r in rows)
    assert [b.id for b in record.blocks] == [b["id"] for b in g["blocks"]]
    chosen = g["chosen"]
    assert {chosen["transform"], chosen["distance"], chosen["linkage"]} <= {
        "logit",
        "rank",
        "1-r",
        "profile",
        "complete",
        "average",
        "single",
        "weighted",
        "ward",
        "centroid",
    }
    assert len(g["candidates"]) >= 2
    top = g["taxonomy"]["agreement"]["levels"][0]
    assert top["level"] == "level1" and top["ari"] >= 0.9

    planted_pairs = [sorted(p["names"]) for p in answers["near_duplicates"]]
    found_pairs = [sorted(p["names"]) for p in g["near_duplicates"][: len(planted_pairs)]]
    assert sorted(found_pairs) == sorted(planted_pairs)

    planted = set(answers["cross_cutting"]["names"])
    best = max(g["failed_groups"], key=lambda f: len(planted & set(f["members"])), default=None)
    assert best is not None and len(planted & set(best["members"])) >= 0.75 * len(planted)
    assert best["n_top_blocks"] >= 2

    planted_split = set(answers["split_group"]["level2"])
    assert g["split_groups"] and set(g["split_groups"][0]["labels"]) == planted_split

    # Baselines were computed from the label counts and are reported beside the similarity tree;
    # the confusion tree is kept for the figures (scipy on the same counts as the oracle).
    assert "confusion" in g["taxonomy"]["baselines"]
    confusion = np.load(path / "confusion.npy")
    D = 1.0 - (lambda R: (R + R.T) / 2)(confusion / confusion.sum(axis=1, keepdims=True))
    np.fill_diagonal(D, 0.0)
    want = linkage(squareform(D, checks=False), "average")
    np.testing.assert_allclose(np.load(path / "linkage-confusion.npy"), want, atol=1e-12)

    for t in ("logit", "rank"):
        order = json.loads((path / f"order-{t}.json").read_text())
        assert sorted(order["order"]) == list(range(300))
        assert order["order"] == result.seriations[t].order.tolist()
        assert order["classes"] == [SimilarityResult.load(path).classes[i] for i in order["order"]]
        assert set(order["alternatives"]) == {"spectral", "taxonomy"}
        Z = np.load(path / f"linkage-{t}.npy")
        assert Z.shape == (299, 4)
    assert np.load(path / "memberships.npy").shape[0] == 300

    with pytest.raises(ResultsExistError, match="--overwrite"):
        analyze(path)
    analyze(path, overwrite=True, transform="rank", distance="1-r", linkage="average")
    again = json.loads((path / "groups.json").read_text())
    assert (again["chosen"]["transform"], again["chosen"]["linkage"]) == ("rank", "average")
    assert again["taxonomy"] is None
    assert not (path / "linkage-confusion.npy").exists()  # no stale tree beside a new analysis
