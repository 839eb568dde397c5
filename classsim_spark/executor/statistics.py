"""What a scan computes over a set of rows, as one mergeable value.

:class:`RowStatistics` holds, for some rows: each transform's
:class:`~classsim_spark.core.moments.Moments`, the label counts, a uniform
:class:`~classsim_spark.executor.sampling.RowSample` of the raw scores, and one transform's
moments in disjoint parts of the rows. Statistics of disjoint rows merge into those of their
union (:meth:`RowStatistics.merge`): what a scan's time windows are composed from, and what an
update adds to a results directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from classsim_spark.core.moments import Moments
from classsim_spark.executor.sampling import RowSample


@dataclass
class RowStatistics:
    """The statistics of one set of rows.

    Attributes
    ----------
    moments : dict
        Transform -> :class:`Moments` (absent when no row was kept).
    counts : dict
        Label baselines: ``frequencies`` (int64, m) and ``confusion`` or ``cooccurrence``
        (int64, m x m); empty without labels.
    sample : RowSample or None
        A uniform sample of the rows' raw scores; None when none is kept.
    parts : dict
        Transform -> its :class:`Moments` in disjoint parts of the rows; empty when none.
    """

    moments: dict[str, Moments] = field(default_factory=dict)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    sample: RowSample | None = None
    parts: dict[str, list[Moments]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Rows the statistics hold (0 when none was kept)."""
        return next((s.n for s in self.moments.values()), 0)

    def merge(self, other: RowStatistics) -> RowStatistics:
        """The statistics of the union of two disjoint sets of rows, scanned with the same
        settings: moments merged (Chan's formula), counts summed, samples merged uniformly,
        parts merged part by part. Deterministic: the samples' merge draws from a generator
        seeded by the two row counts."""
        moments: dict[str, Moments] = {}
        for t in dict.fromkeys([*self.moments, *other.moments]):
            mine, theirs = self.moments.get(t), other.moments.get(t)
            if mine is None or theirs is None:
                moments[t] = mine or theirs  # type: ignore[assignment]  # one of them is set
            else:
                moments[t] = mine.merge(theirs)
        zero = np.zeros(0, dtype=np.int64)
        counts: dict[str, np.ndarray] = {
            name: self.counts[name] + other.counts[name]
            if name in self.counts and name in other.counts
            else self.counts.get(name, other.counts.get(name, zero))
            for name in dict.fromkeys([*self.counts, *other.counts])
        }
        parts = {
            t: [a.merge(b) for a, b in zip(self.parts[t], other.parts[t], strict=True)]
            if t in self.parts and t in other.parts
            else self.parts.get(t) or other.parts[t]
            for t in dict.fromkeys([*self.parts, *other.parts])
        }
        sample = self.sample if other.sample is None else other.sample
        if self.sample is not None and other.sample is not None:
            m = self.sample.m
            rng = np.random.default_rng([self.sample.seen, other.sample.seen, m])
            sample = RowSample.merge(self.sample, other.sample, rng)
        return RowStatistics(moments, counts, sample, parts)

    @classmethod
    def merge_all(cls, statistics: list[RowStatistics]) -> RowStatistics:
        """The statistics of the union of disjoint sets of rows, merged in the given order."""
        merged = cls()
        for stats in statistics:
            merged = merged.merge(stats)
        return merged

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The statistics as named arrays (the files of :mod:`classsim_spark.io.windows`):
        symmetric matrices as their upper triangles, row by row."""
        arrays: dict[str, np.ndarray] = {"n": np.array(self.n, dtype=np.int64)}
        for t, stats in self.moments.items():
            arrays[f"mean-{t}"] = stats.mean
            arrays[f"comoment-{t}"] = _upper(stats.comoment)
        for t, in_parts in self.parts.items():
            arrays["parts-transform"] = np.array(t)
            arrays["parts-n"] = np.array([s.n for s in in_parts], dtype=np.int64)
            arrays["parts-mean"] = np.stack([s.mean for s in in_parts])
            arrays["parts-comoment"] = np.stack([_upper(s.comoment) for s in in_parts])
        arrays.update({name: np.asarray(v, dtype=np.int64) for name, v in self.counts.items()})
        if self.sample is not None:
            arrays["sample"] = self.sample.rows
            arrays["sample-seen"] = np.array(self.sample.seen, dtype=np.int64)
            arrays["sample-capacity"] = np.array(self.sample.capacity, dtype=np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RowStatistics:
        """The statistics that :meth:`to_arrays` gave ``arrays``."""
        n = int(arrays["n"])
        moments = {
            name.removeprefix("mean-"): Moments(
                n, arrays[name], _symmetric(arrays[f"comoment-{name.removeprefix('mean-')}"])
            )
            for name in arrays
            if name.startswith("mean-")
        }
        parts = {}
        if "parts-transform" in arrays:
            parts[str(arrays["parts-transform"])] = [
                Moments(int(k), mean, _symmetric(upper))
                for k, mean, upper in zip(
                    arrays["parts-n"], arrays["parts-mean"], arrays["parts-comoment"], strict=True
                )
            ]
        counts: dict[str, np.ndarray] = {
            name: arrays[name]
            for name in ("frequencies", "confusion", "cooccurrence")
            if name in arrays
        }
        sample = None
        if "sample" in arrays:
            capacity, seen = int(arrays["sample-capacity"]), int(arrays["sample-seen"])
            sample = RowSample(capacity, arrays["sample"], seen)
        return cls(moments, counts, sample, parts)


def _upper(matrix: np.ndarray) -> np.ndarray:
    """The upper triangle of a square matrix (diagonal included), row by row."""
    return matrix[np.triu_indices(matrix.shape[0])]


def _symmetric(upper: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle (row by row) is ``upper``."""
    m = int((np.sqrt(8 * upper.size + 1) - 1) / 2)
    rows, cols = np.triu_indices(m)
    out = np.empty((m, m))
    out[rows, cols] = upper
    out[cols, rows] = upper
    return out
