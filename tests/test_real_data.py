"""Real third-party classifier outputs (shared/data: 20news and CIFAR-10, cleanlab label-errors).

Nobody here generated these: float32 softmax probabilities with many exact zeros (ties for the
rank transform, clipping for the logit transform) and their stored log-probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from classsim_spark import similarity
from classsim_spark.transforms import ScoreSpec, transform_block

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
    res = similarity(str(DATA / name / "scores.parquet"), scores_col="probs",
                     scores="probabilities", classes=str(DATA / name / "classes.csv"),
                     spark=spark)
    assert res.m == p.shape[1] and res.run["n"] == p.shape[0]
    spec = ScoreSpec("probabilities", "softmax")
    for t in ("logit", "probability", "rank"):
        oracle = np.corrcoef(transform_block(p, t, spec), rowvar=False)
        assert np.abs(res.matrix(t) - oracle).max() < 1e-9, t
    # The stored log-probabilities are log(max(p, 1e-12)): the same logit view of the model.
    from_logs = similarity(str(DATA / name / "scores.parquet"), scores_col="scores",
                           scores="log-probabilities", transforms=["logit", "rank"], spark=spark)
    assert np.abs(from_logs.matrix("logit") - res.matrix("logit")).max() < 1e-5
    assert np.abs(from_logs.matrix("rank") - res.matrix("rank")).max() < 1e-9
