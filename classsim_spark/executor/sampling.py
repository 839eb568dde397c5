"""A bounded, mergeable, uniform sample of rows (pure numpy).

The results directory keeps only moments of the scores, but a histogram of input values (the
distribution figure) needs the values themselves. :class:`RowSample` keeps at most ``capacity``
rows drawn uniformly without replacement from every row it has seen, in memory independent of
the number of rows: each Spark task fills one with reservoir sampling (:meth:`RowSample.add`,
Algorithm R) and the tasks' samples are combined pairwise (:meth:`RowSample.merge`) into a
uniform sample of all rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# numpy's Generator.hypergeometric refuses ngood or nbad at or above this.
_HYPERGEOMETRIC_LIMIT = 10**9


@dataclass
class RowSample:
    """A uniform sample, without replacement, of at most ``capacity`` of the rows seen.

    Every subset of ``min(capacity, seen)`` of the rows seen is equally likely to be the sample;
    while ``seen <= capacity`` the sample is all of them.

    Attributes
    ----------
    capacity : int
        Largest number of rows kept (>= 0).
    rows : ndarray, shape (k, m), float32
        The sampled rows, ``k = min(capacity, seen)``, in no particular order.
    seen : int
        Number of rows the sample stands for.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> first = RowSample.empty(capacity=3, m=2)
    >>> first.add(np.arange(10.0).reshape(5, 2), rng)
    >>> second = RowSample.empty(capacity=3, m=2)
    >>> second.add(np.full((2, 2), -1.0), rng)
    >>> both = RowSample.merge(first, second, rng)
    >>> both.rows.shape, both.seen
    ((3, 2), 7)
    """

    capacity: int
    rows: np.ndarray
    seen: int

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {self.capacity}")
        if self.seen < 0:
            raise ValueError(f"seen must be >= 0, got {self.seen}")
        self.rows = np.asarray(self.rows, dtype=np.float32)
        if self.rows.ndim != 2:
            raise ValueError(f"rows must be 2-D (k x m), got shape {self.rows.shape}")
        if self.rows.shape[0] != min(self.capacity, self.seen):
            raise ValueError(
                f"a sample of {self.seen} rows with capacity {self.capacity} holds "
                f"{min(self.capacity, self.seen)} rows, got {self.rows.shape[0]}"
            )

    @property
    def m(self) -> int:
        """Number of columns of every row."""
        return self.rows.shape[1]

    @classmethod
    def empty(cls, capacity: int, m: int) -> RowSample:
        """A sample of no rows.

        Parameters
        ----------
        capacity : int
            Largest number of rows the sample will keep (>= 0).
        m : int
            Number of columns of the rows (>= 0).

        Returns
        -------
        RowSample
            ``seen == 0`` and ``rows`` of shape (0, m).
        """
        if m < 0:
            raise ValueError(f"m must be >= 0, got {m}")
        return cls(capacity, np.empty((0, m), dtype=np.float32), 0)

    def add(self, block: np.ndarray, rng: np.random.Generator) -> None:
        """Sample the rows of ``block`` as if they followed every row seen so far (in place).

        Reservoir sampling (Algorithm R), vectorised over the block: the row with global index
        ``g`` (counting every row ever added, from 0) is appended while ``g < capacity``;
        afterwards it draws ``j`` uniformly from ``0..g`` and replaces slot ``j`` when
        ``j < capacity``. When rows of the block hit the same slot, the later row wins, as in
        the one-row-at-a-time algorithm.

        Parameters
        ----------
        block : array_like, shape (b, m)
            New rows; sampled rows are copied (as float32), so the caller may reuse ``block``.
        rng : numpy.random.Generator
            Source of the draws (one integer per row after the sample is full).
        """
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.m:
            raise ValueError(f"block must have shape (b, {self.m}), got {block.shape}")
        b = block.shape[0]
        fill = min(b, max(0, self.capacity - self.seen))
        if fill:
            self.rows = np.concatenate([self.rows, block[:fill].astype(np.float32)])
        if fill < b:
            g = np.arange(self.seen + fill, self.seen + b)
            j = rng.integers(0, g + 1)
            hit = np.flatnonzero(j < self.capacity)[::-1]
            # Latest hit first, so the first occurrence of a slot is the row that keeps it.
            slots, latest = np.unique(j[hit], return_index=True)
            self.rows[slots] = block[fill + hit[latest]]
        self.seen += b

    @classmethod
    def merge(cls, a: RowSample, b: RowSample, rng: np.random.Generator) -> RowSample:
        """A uniform sample of the union of the rows ``a`` and ``b`` stand for.

        Of the ``k = min(capacity, a.seen + b.seen)`` rows of a uniform sample of the union,
        the number drawn from ``a``'s rows is hypergeometric (``a.seen`` good, ``b.seen`` bad,
        ``k`` drawn); given that number ``ka``, they are a uniform subset of ``a``'s rows, which
        a random ``ka`` of ``a.rows`` are (likewise for ``b``). The result is shuffled. The
        inputs are not changed.

        Parameters
        ----------
        a, b : RowSample
            Samples of disjoint sets of rows, with the same ``capacity`` and ``m``.
        rng : numpy.random.Generator

        Returns
        -------
        RowSample
            ``seen = a.seen + b.seen``; its distribution does not depend on the order of ``a``
            and ``b``.
        """
        if a.capacity != b.capacity or a.m != b.m:
            raise ValueError(
                f"cannot merge a sample of capacity {a.capacity} and m {a.m} with one of "
                f"capacity {b.capacity} and m {b.m}"
            )
        k = min(a.capacity, a.seen + b.seen)
        ka = _hypergeometric(rng, a.seen, b.seen, k)
        rows = np.concatenate(
            [
                a.rows[rng.choice(a.rows.shape[0], ka, replace=False)],
                b.rows[rng.choice(b.rows.shape[0], k - ka, replace=False)],
            ]
        )
        rng.shuffle(rows)
        return cls(a.capacity, rows, a.seen + b.seen)


def _hypergeometric(rng: np.random.Generator, good: int, bad: int, k: int) -> int:
    """How many of ``k`` draws without replacement from ``good + bad`` items are good."""
    if max(good, bad) < _HYPERGEOMETRIC_LIMIT:
        return int(rng.hypergeometric(good, bad, k))
    # Beyond numpy's limit: draw the k positions themselves (O(k)) and count the good ones.
    return int(np.count_nonzero(rng.choice(good + bad, k, replace=False, shuffle=False) < good))
