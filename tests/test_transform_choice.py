"""The transform chosen on a sample of rows before the scan (classsim_spark.transform_choice):
the rows it reads, its pick against seriation.choose on numpy's matrices of the same rows, and
the scan that follows computing that transform alone."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.special import log_softmax, softmax
from scipy.stats import rankdata

from classsim_spark import api, similarity
from classsim_spark.core import seriation
from classsim_spark.core.transforms import ScoreSpec
from classsim_spark.spark.sources import check_paths, describe_from_footers
from classsim_spark.transform_choice import (
    SAMPLE_GROUPS,
    TransformChoice,
    choose_on_sample,
    sample_groups,
    sample_rows,
)


@pytest.fixture(scope="module")
def scores_dir(tmp_path_factory) -> tuple[str, np.ndarray]:
    """Logits of 30 classes in three blocks: 3 files of 2,400 rows in row groups of 300."""
    rng = np.random.default_rng(5)
    n, m = 7200, 30
    latent = rng.normal(size=(n, 3)) * 2.0
    weights = np.kron(np.eye(3), np.ones((1, 10)))
    x = latent @ weights + rng.normal(size=(n, m))
    path = tmp_path_factory.mktemp("choice") / "scores"
    path.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(n), 3)):
        table = pa.table({"scores": pa.array(list(x[rows]))})
        pq.write_table(table, path / f"part-{k}.parquet", row_group_size=300)
    return str(path), x


def test_sample_size_and_row_groups():
    assert sample_rows(225_000) == 7_500 and sample_rows(10**8) == 20_000
    assert sample_rows(30_000) == 2_000 and sample_rows(500) == 500
    groups = [(f"f{i // 10}", i % 10, 300) for i in range(40)]
    picked = sample_groups(groups, 2_000, seed=0)
    assert len(picked) == SAMPLE_GROUPS and sum(take for _, take in picked) == 2_000
    assert len({g for g, _ in picked}) == SAMPLE_GROUPS
    assert picked == sample_groups(groups, 2_000, seed=0) != sample_groups(groups, 2_000, seed=1)
    few = sample_groups(groups[:3], 2_000, seed=0)  # fewer rows than asked: every row
    assert sorted(take for _, take in few) == [300, 300, 300]


def _footers(path: str):
    groups = check_paths(path, "parquet")
    spec = api.InputSpec(layout="array", scores_col="scores")
    return describe_from_footers(path, spec, "parquet", None, "auto", None, groups)


def _matrices(x: np.ndarray) -> dict[str, np.ndarray]:
    views = {
        "logit": log_softmax(x, axis=1),
        "probability": softmax(x, axis=1),
        "rank": rankdata(x, axis=1),
    }
    return {t: np.corrcoef(v, rowvar=False) for t, v in views.items()}


def test_the_pick_is_seriation_choose_on_the_same_rows(scores_dir):
    path, x = scores_dir
    footers = _footers(path)
    choice = TransformChoice("normality>cophenetic", seed=3)
    chosen, note = choose_on_sample(footers, ScoreSpec(), choice)
    # the rows it read: the first rows of the row groups drawn, as the files hold them
    starts = {(g[0], g[1]): 300 * g[1] + 2400 * int(g[0][-9]) for g in footers.row_groups}
    picked = sample_groups(footers.row_groups, sample_rows(len(x)), seed=3)
    rows = np.concatenate([starts[(p, g)] + np.arange(take) for (p, g, _), take in picked])
    assert len(rows) == sample_rows(len(x)) == 2_000
    want, candidates = seriation.choose(
        _matrices(x[rows]), distances=("1-r",), linkages=("average",), criterion=choice.criterion
    )
    assert chosen == want["transform"]
    assert f"on 2000 of {len(x)} rows" in note and f"{len(picked)} row groups" in note
    departures = {c["transform"]: c["normality"] for c in candidates}
    assert chosen == min(departures, key=departures.get)  # the most normal
    assert chosen != "logit"  # this data's pick differs from the fixed criterion's


def test_the_scan_then_computes_the_chosen_transform_alone(scores_dir, monkeypatch):
    path, x = scores_dir
    monkeypatch.setattr(api, "AUTO_ALL_CELLS", 1000)  # this small set counts as large
    chosen, _ = choose_on_sample(
        _footers(path),
        ScoreSpec(),
        TransformChoice("normality>cophenetic"),
    )
    res = similarity(
        path, engine="python", transform_choice=TransformChoice("normality>cophenetic")
    )
    assert res.transforms == [chosen] and "choose transform" in res.run.timings_s
    expected = _matrices(x)[chosen]
    assert np.abs(res.matrix(chosen) - expected).max() < 1e-9
    # the fixed criterion takes logit without a sample; a named transform is kept as asked
    fixed = similarity(path, engine="python", transform_choice=TransformChoice("fixed"))
    assert fixed.transforms == ["logit"] and "choose transform" not in fixed.run.timings_s
    named = similarity(
        path,
        engine="python",
        transforms=["probability"],
        transform_choice=TransformChoice("normality>cophenetic"),
    )
    assert named.transforms == ["probability"]
