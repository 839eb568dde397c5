"""The numpy reference pipeline: a results directory computed from demo data without Spark,
the oracle the tests compare the scan with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classsim_spark.demo.generator import DemoData


def numpy_results(
    data: DemoData,
    out: str | Path,
    transforms: tuple[str, ...] = ("logit",),
    sample_rows: int = 1000,
    stability_parts: int | str = "auto",
) -> tuple[Path, Path]:
    """Save a results directory of ``data`` computed in this process with numpy (no Spark).

    The files ``classsim similarity`` writes for the same scores (matrices, moments, class
    frequencies, the confusion or co-occurrence counts of the labels, a uniform sample of
    ``sample_rows`` score rows), for trying the
    analysis and the figures without a cluster, and for tests and benchmarks.

    Parameters
    ----------
    data : DemoData
        From :func:`~classsim_spark.demo.generator.generate`.
    out : str or Path
        Folder to create; receives ``res/`` (the results directory) and ``classes.csv``.
    transforms : tuple of str
        Transforms to compute (the scores are logits).
    sample_rows : int
        Rows of the uniform score sample (``sample.npy``).
    stability_parts : int or "auto"
        Parts of the rows whose statistics of the first transform are kept (as
        :func:`classsim_spark.similarity` keeps them; ``"auto"`` by m, 0 none).

    Returns
    -------
    (Path, Path)
        The results directory and the taxonomy file.
    """
    from classsim_spark.core.moments import Moments, row_parts
    from classsim_spark.core.stability import choose_parts
    from classsim_spark.core.transforms import ScoreSpec, transform_block
    from classsim_spark.io.records import LabelsRecord, PartsRecord, RunRecord, SampleRecord
    from classsim_spark.io.results import SimilarityResult

    out = Path(out)
    names = data.taxonomy.name.tolist()
    m = len(names)
    moments = {
        t: Moments.from_block(transform_block(data.scores, t, ScoreSpec())) for t in transforms
    }
    k = choose_parts(m) if stability_parts == "auto" else int(stability_parts)
    parts = {}
    if k:
        part = row_parts(data.scores, k)
        parts[transforms[0]] = [
            Moments.from_block(transform_block(data.scores[part == p], transforms[0], ScoreSpec()))
            if (part == p).any()
            else Moments.empty(m)
            for p in range(k)
        ]
    if isinstance(data.labels, list):  # multi-label: indicator Gram matrix
        Y = np.zeros((len(data.labels), m), dtype=np.int64)
        for row, positives in enumerate(data.labels):
            Y[row, positives] = 1
        counts = {"cooccurrence": Y.T @ Y, "frequencies": Y.sum(axis=0)}
    else:
        label = np.asarray(data.labels)
        confusion = np.zeros((m, m), dtype=np.int64)
        np.add.at(confusion, (label, data.scores.argmax(axis=1)), 1)
        counts = {"confusion": confusion, "frequencies": np.bincount(label, minlength=m)}
    n = int(data.scores.shape[0])
    rows = np.sort(np.random.default_rng(0).choice(n, min(n, sample_rows), replace=False))
    multi = "cooccurrence" in counts
    score_spec = ScoreSpec(activation="sigmoid" if multi else "softmax")
    run = RunRecord(
        transforms=list(transforms),
        n=n,
        m=m,
        zero_variance={t: [] for t in transforms},
        scores=score_spec,
        labels=LabelsRecord.of("labels" if multi else "label", multi, counts),
        sample=SampleRecord(len(rows), n, sample_rows),
        parts=PartsRecord.of(parts),
    )
    result = SimilarityResult(
        names,
        moments,
        {t: mo.correlation().matrix for t, mo in moments.items()},
        run=run,
        counts=counts,
        sample=data.scores[rows].astype(np.float32),
        parts=parts,
    )
    out.mkdir(parents=True, exist_ok=True)
    result.save(out / "res")
    data.taxonomy.to_csv(out / "classes.csv", index=False)
    return out / "res", out / "classes.csv"
