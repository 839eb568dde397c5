"""The transform chosen on a sample of rows before the scan, when the analysis chooses it.

``transforms="auto"`` scans one transform above :data:`~classsim_spark.api.AUTO_ALL_CELLS`
scores: each transform costs another pass of the Gram's arithmetic. Under the analysis's
default criterion (``fixed``) that one is ``logit``, what the analysis then uses. Under
``normality>cophenetic`` the analysis takes the transform whose similarities are closest to
normal, which only the matrices can say; rather than scanning all three for it, the three
matrices of a sample of rows are computed first (in threads of this process, as the scan
without Spark runs: :func:`~classsim_spark.executor.local_scan.scan_units`), the analysis's own rule
(:func:`~classsim_spark.core.seriation.choose`) picks one, and the scan computes that one alone.

The sample: up to :data:`SAMPLE_GROUPS` row groups drawn at random (seeded), the first rows of
each, :func:`sample_rows` rows in all (a thirtieth of the rows, within bounds) -- spread over
the files as far as their row groups allow, read without decoding whole row groups. Three
transforms on a thirtieth of the rows are a tenth of one transform's scan; with the rank
transform's sorting and the choice itself, at CASIA's size (225,000 x 3,755) about a quarter
of it (11 s beside a 46 s scan), where scanning all three would add two more scans.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

import numpy as np

from classsim_spark.core import seriation
from classsim_spark.core.transforms import TRANSFORMS, ScoreSpec
from classsim_spark.executor.local_scan import scan_units
from classsim_spark.executor.parquet_reader import ReadUnit, RowGroup
from classsim_spark.executor.partials import ScanPlan
from classsim_spark.spark.sources import FooterInput

log = logging.getLogger("classsim")

SAMPLE_ROWS_MIN = 2_000
SAMPLE_ROWS_MAX = 20_000
SAMPLE_GROUPS = 16


@dataclass(frozen=True)
class TransformChoice:
    """How the analysis will choose its transform (the ``[analysis]`` settings that matter)."""

    criterion: str
    distance: str = "auto"
    linkage: str = "auto"
    clip_negative: bool = False
    seed: int = 0

    @property
    def needs_matrices(self) -> bool:
        """Whether the choice depends on the data (``fixed`` always takes ``logit``)."""
        return self.criterion != "fixed"


def sample_rows(rows: int) -> int:
    """Rows read for the choice out of ``rows``: a thirtieth, within
    [:data:`SAMPLE_ROWS_MIN`, :data:`SAMPLE_ROWS_MAX`], never more than there are.

    >>> sample_rows(225_000), sample_rows(10_000_000), sample_rows(1_000)
    (7500, 20000, 1000)
    """
    return min(rows, max(SAMPLE_ROWS_MIN, min(SAMPLE_ROWS_MAX, rows // 30)))


def sample_groups(groups: list[RowGroup], rows: int, seed: int) -> list[tuple[RowGroup, int]]:
    """Row groups drawn at random and how many of their first rows to read, ``rows`` in all
    (fewer when the groups drawn hold fewer)."""
    groups = [g for g in groups if g[2] > 0]
    order = np.random.default_rng([seed, 7]).permutation(len(groups))
    drawn = [groups[i] for i in order[:SAMPLE_GROUPS]]
    out, left = [], rows
    for k, group in enumerate(drawn):
        take = min(group[2], math.ceil(left / (len(drawn) - k)))
        if take:
            out.append((group, take))
            left -= take
    return out


def choose_on_sample(
    footers: FooterInput,
    score_spec: ScoreSpec,
    choice: TransformChoice,
) -> tuple[str, str]:
    """The transform ``choice`` picks on a sample of the input's rows, and a note for the log.

    Parameters
    ----------
    footers : FooterInput
        The local Parquet input, described from its footers.
    score_spec : ScoreSpec
        What the scores are (logits, probabilities) and their activation.
    choice : TransformChoice
        The analysis's criterion and fixed dimensions. Classes constant in the sample
        correlate 0 with the others here; the scan applies the run's own rule to all rows.

    Returns
    -------
    transform : str
    note : str
    """
    m = footers.layout.m
    picked = sample_groups(footers.row_groups, sample_rows(footers.rows), choice.seed)
    plan = ScanPlan(footers.layout, TRANSFORMS, score_spec, m, None, 0, 0, None, None)
    units = [ReadUnit(((path, group),), head=take) for (path, group, _), take in picked]
    statistics, report = scan_units(plan, units, threads=os.cpu_count() or 1)
    moments = next(iter(statistics.values())).moments if statistics else {}
    if not moments or next(iter(moments.values())).n < 2:
        return "logit", "no valid rows in the sample: logit"
    matrices = {t: moments[t].correlation("zero").matrix for t in TRANSFORMS}
    # The criterion picks the transform before any tree: one distance and linkage suffice.
    fixed = seriation.FIXED_CHOICE
    chosen, candidates = seriation.choose(
        matrices,
        distances=(fixed["distance"] if choice.distance == "auto" else choice.distance,),
        linkages=(fixed["linkage"] if choice.linkage == "auto" else choice.linkage,),
        criterion=choice.criterion,
        clip_negative=choice.clip_negative,
        seed=choice.seed,
    )
    departure = {c["transform"]: c["normality"] for c in candidates}
    note = (
        f"{chosen['transform']} by {choice.criterion} on {report.rows_kept} of "
        f"{footers.rows} rows ({len(picked)} row groups); normality departure "
        + ", ".join(f"{t} {departure[t]:.3f}" for t in TRANSFORMS if t in departure)
    )
    return chosen["transform"], note
