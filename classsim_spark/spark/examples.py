"""The examples scan, driven from the driver: every task's best rows per pair, the best of all.

:func:`scan_examples` maps every partition of the input through
:func:`~classsim_spark.executor.examples.pair_contributions` and keeps, per pair, the ``top``
rows with the largest contributions over all tasks (a few rows per task and pair reach the
driver). DataFrame APIs only, so it runs over Spark Connect too.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from classsim_spark.executor.examples import (
    EXAMPLE_SCHEMA,
    ExamplesPlan,
    best_rows,
    pair_contributions,
)
from classsim_spark.executor.parquet_reader import ReadUnit


def scan_examples(
    spark: SparkSession,
    df: DataFrame | None,
    plan: ExamplesPlan,
    units: list[ReadUnit] | None = None,
) -> list[list[dict]]:
    """Per pair of ``plan.pairs``, its ``plan.top`` rows by contribution, largest first.

    Each row: ``id`` (the sample id, None without an id column), ``contribution`` (the product
    of the two standardised values), ``score_a``/``score_b`` (as read), ``value_a``/``value_b``
    (transformed), ``labels`` (class indices, None without labels), ``top1`` (the class with
    the highest score).
    """
    if units is None:
        if df is None:
            raise ValueError("scan_examples needs a DataFrame or read units")
        source = df.select(*plan.columns)
    else:
        source = spark.range(0, len(units), 1, max(1, len(units)))
    found = source.mapInArrow(pair_contributions(plan, units), EXAMPLE_SCHEMA).toArrow()
    return best_rows(found.to_batches(), plan)
