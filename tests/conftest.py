"""Shared fixtures: one Spark session for the whole run (reused if one is already active, so the
suite can also run on a real cluster), and small score tables with known answers."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    from classsim_spark.session import get_spark

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    session = get_spark(
        "local[2]", conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "4"}
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def planted_scores() -> np.ndarray:
    """600 x 12 logits with two planted blocks of correlated classes and a +1e4 offset."""
    rng = np.random.default_rng(7)
    n, m = 600, 12
    latent = rng.normal(size=(n, 2))
    weights = np.zeros((2, m))
    weights[0, :6] = 1.0
    weights[1, 6:] = 1.0
    return (latent @ weights + 0.7 * rng.normal(size=(n, m)) + 1e4).astype(np.float64)
