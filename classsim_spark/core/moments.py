"""Mergeable sufficient statistics for Pearson correlation (pure numpy).

For a set of n rows x_i (vectors of m values) the statistics are the count ``n``, the mean vector
and the *centred* co-moment matrix ``C = sum_i (x_i - mean)(x_i - mean)^T``. Two disjoint sets
merge exactly (Chan, Golub & LeVeque 1979):

    n = n_a + n_b,  d = mean_b - mean_a,
    mean = mean_a + d * n_b / n,
    C = C_a + C_b + d d^T * n_a n_b / n.

Centring inside each block keeps float64 exact to ~1e-12 even when every score carries a large
offset, where the one-pass ``E[xy] - E[x]E[y]`` loses all digits. Because the merge only needs the
means of the rows and columns involved, any rectangular tile of ``C`` merges on its own: this is
what lets Spark reduce an m x m matrix in tiles on the executors (:func:`merge_tiles`).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(100, 4)) + 1e4
>>> whole = Moments.from_block(x)
>>> parts = Moments.from_block(x[:30]).merge(Moments.from_block(x[30:]))
>>> bool(np.allclose(parts.correlation().matrix, np.corrcoef(x, rowvar=False), atol=1e-12))
True
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from classsim_spark.core.symmetric import average_with_transpose
from classsim_spark.errors import ClasssimError

ZERO_VARIANCE_POLICIES: tuple[str, ...] = ("zero", "error")
# A column whose standard deviation is below this fraction of its magnitude is constant up to
# float64 round-off (float32 inputs cannot even represent such variation).
ZERO_VARIANCE_RTOL = 1e-10


class ZeroVarianceError(ClasssimError, ValueError):
    """Raised when classes have constant scores and the policy is ``"error"``."""


@dataclass(frozen=True)
class Correlation:
    """A Pearson correlation matrix and the classes whose variance was zero.

    Attributes
    ----------
    matrix : ndarray, shape (m, m), float64
        Symmetric, unit diagonal, entries in [-1, 1]. Rows and columns of zero-variance classes
        are 0 off the diagonal (they correlate with nothing) and 1 on it.
    zero_variance : ndarray of int
        Indices of the classes whose scores were constant.
    """

    matrix: np.ndarray
    zero_variance: np.ndarray


@dataclass(frozen=True)
class Moments:
    """Count, mean and centred co-moment of m variables over n observations.

    Attributes
    ----------
    n : int
    mean : ndarray, shape (m,)
    comoment : ndarray, shape (m, m)
        ``sum_i (x_i - mean)(x_i - mean)^T``; symmetric.
    """

    n: int
    mean: np.ndarray
    comoment: np.ndarray = field(repr=False)

    @classmethod
    def empty(cls, m: int) -> Moments:
        """Statistics of zero observations of m variables (the identity of :meth:`merge`)."""
        return cls(0, np.zeros(m), np.zeros((m, m)))

    @classmethod
    def from_block(cls, x: np.ndarray) -> Moments:
        """Statistics of the rows of ``x`` (shape (n, m)), accumulated in float64."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"expected a 2-d block, got shape {x.shape}")
        if x.shape[0] == 0:
            return cls.empty(x.shape[1])
        mean = x.mean(axis=0)
        centred = x - mean
        return cls(x.shape[0], mean, centred.T @ centred)

    @property
    def m(self) -> int:
        return self.mean.shape[0]

    def merge(self, other: Moments) -> Moments:
        """Statistics of the union of two disjoint sets of observations."""
        if other.m != self.m:
            raise ValueError(f"cannot merge moments of {self.m} and {other.m} variables")
        n, mean, _, comoment = merge_comoment(
            (self.n, self.mean, self.mean, self.comoment),
            (other.n, other.mean, other.mean, other.comoment),
        )
        return Moments(n, mean, comoment)

    @classmethod
    def merge_all(cls, parts: list[Moments]) -> Moments:
        """Statistics of the union of disjoint sets, merged in the given order.

        The same pairwise formula as :meth:`merge`, accumulated into one m x m array (each
        pairwise merge made three m x m temporaries: at thousands of classes the stability's
        resamples spent more on them than on their correlation).
        """
        if not parts:
            raise ValueError("no moments to merge")
        first = parts[0]
        if any(p.m != first.m for p in parts):
            raise ValueError(f"cannot merge moments of {sorted({p.m for p in parts})} variables")
        if len(parts) == 1:
            return first
        n, mean, comoment = first.n, first.mean.copy(), first.comoment.copy()
        for part in parts[1:]:
            if part.n == 0:
                continue
            if n == 0:
                n, mean, comoment[...] = part.n, part.mean.copy(), part.comoment
                continue
            total = n + part.n
            d = part.mean - mean
            comoment += part.comoment
            _add_outer(comoment, (n * part.n / total) * d, d)
            mean += d * (part.n / total)
            n = total
        return cls(n, mean, comoment)

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """Sample covariance matrix (``ddof=1``, as ``numpy.cov``)."""
        if self.n <= ddof:
            raise ValueError(f"covariance needs more than {ddof} observations, got {self.n}")
        return self.comoment / (self.n - ddof)

    def zero_variance(self) -> np.ndarray:
        """Indices of the variables that are constant up to float64 round-off."""
        ss = np.diag(self.comoment)
        scale = ZERO_VARIANCE_RTOL * np.abs(self.mean)
        return np.flatnonzero((ss <= 0.0) | (ss / max(self.n, 1) <= scale * scale))

    def correlation(self, zero_variance: str = "zero") -> Correlation:
        """Pearson correlation matrix, with an explicit rule for constant variables.

        Parameters
        ----------
        zero_variance : {"zero", "error"}
            ``"zero"``: a constant variable correlates 0 with every other one (1 with itself) and
            is listed in the result. ``"error"``: raise :class:`ZeroVarianceError`.

        Returns
        -------
        Correlation
        """
        if zero_variance not in ZERO_VARIANCE_POLICIES:
            raise ValueError(
                f"zero_variance must be one of {ZERO_VARIANCE_POLICIES}, got {zero_variance!r}"
            )
        if self.n < 2:
            raise ValueError(f"correlation needs at least 2 observations, got {self.n}")
        constant = self.zero_variance()
        if constant.size and zero_variance == "error":
            raise ZeroVarianceError(
                f"{constant.size} of {self.m} classes have constant scores "
                f"(indices {constant[:10].tolist()}{' ...' if constant.size > 10 else ''})"
            )
        ss = np.diag(self.comoment).copy()
        ss[constant] = 1.0
        inv_sd = 1.0 / np.sqrt(ss)
        r = self.comoment * inv_sd[:, None]
        r *= inv_sd[None, :]
        average_with_transpose(r)  # (r + r.T) / 2 clipped to [-1, 1], tile by tile
        r[constant, :] = 0.0
        r[:, constant] = 0.0
        np.fill_diagonal(r, 1.0)
        return Correlation(r, constant)


class ShiftedAccumulator:
    """Accumulates blocks in place, without an m x m temporary per block.

    Within one task, merging per-block :class:`Moments` costs three m x m temporaries per block,
    which at m in the thousands rivals the Gram itself. Instead the task keeps the sum and the
    Gram of ``x - K`` (each block's ``syrk`` product added in place, :func:`add_gram`), with the
    shift ``K`` = the first block's mean. Since ``K`` is within a few standard deviations of the
    true mean, the final ``C = G - n d d^T`` (``d`` = mean of ``x - K``) loses no significant
    digits, whatever offset the scores carry; tasks then merge exactly with
    :meth:`Moments.merge`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(50, 3)) + 1e4
    >>> acc = ShiftedAccumulator(3)
    >>> acc.add(x[:20]); acc.add(x[20:])
    >>> bool(np.allclose(acc.moments().comoment, Moments.from_block(x).comoment))
    True
    """

    def __init__(self, m: int) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.sum = np.zeros(m)
        self.gram = np.zeros((m, m))

    def add(self, x: np.ndarray, overwrite: bool = False) -> None:
        """Add the rows of ``x``; ``overwrite=True`` lets a float64 ``x`` be shifted in place."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] == 0:
            return
        if self.shift is None:
            self.shift = x.mean(axis=0)
        if overwrite and x.flags.writeable and x.flags.c_contiguous:
            x -= self.shift
        else:  # row-major rows: x^T @ x is BLAS's syrk case
            x = np.subtract(x, self.shift, order="C")
        self.n += x.shape[0]
        self.sum += x.sum(axis=0)
        add_gram(self.gram, x)

    def moments(self) -> Moments:
        """The count, mean and centred co-moment of everything added (finished in the Gram
        matrix's own memory: call once, when nothing more is added)."""
        release_products()
        return _shifted_moments(self.n, self.shift, self.sum, self.gram)


class PartedAccumulator:
    """Accumulates the rows of each of ``k`` disjoint parts separately, with one common shift.

    The parts' statistics merge to those of all rows (:meth:`Moments.merge_all`); any union
    of parts is a subsample (:mod:`classsim_spark.core.stability`). Each block is shifted in place
    once, its rows gathered by part into a reusable buffer (one copy, so each part is a
    contiguous slice for ``syrk``) and each part's Gram updated as in
    :class:`ShiftedAccumulator`.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=(60, 3)) + 1e4
    >>> part = np.arange(60) % 3
    >>> acc = PartedAccumulator(3, 3, rows=60)
    >>> acc.add(x[:25].copy(), part[:25]); acc.add(x[25:].copy(), part[25:])
    >>> stats = acc.moments()
    >>> bool(np.allclose(stats[1].comoment, Moments.from_block(x[part == 1]).comoment))
    True
    """

    def __init__(self, m: int, k: int, rows: int) -> None:
        self.shift: np.ndarray | None = None
        self.n = np.zeros(k, dtype=np.int64)
        self.sum = np.zeros((k, m))
        self.gram = [np.zeros((m, m)) for _ in range(k)]
        self.buffer = np.empty((rows, m))  # rows: the largest block added

    def add(self, x: np.ndarray, part: np.ndarray) -> None:
        """Add the rows of the writable float64 block ``x`` (shifted in place); ``part`` holds
        each row's part (``uint8`` sorts fastest)."""
        if x.shape[0] == 0:
            return
        if self.shift is None:
            self.shift = x.mean(axis=0)
        x -= self.shift
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(len(self.gram) + 1))
        gathered = self.buffer[: x.shape[0]]
        # mode="clip" (indices valid by construction): with "raise" numpy gathers through an
        # extra buffer, four times slower.
        np.take(x, order, axis=0, out=gathered, mode="clip")
        for p, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if b > a:
                rows = gathered[a:b]
                self.n[p] += b - a
                self.sum[p] += rows.sum(axis=0)
                add_gram(self.gram[p], rows)

    def moments(self) -> list[Moments]:
        """Each part's count, mean and centred co-moment (finished in the Gram matrices' own
        memory: call once, when nothing more is added)."""
        release_products()
        return [
            _shifted_moments(int(n), self.shift, s, g)
            for n, s, g in zip(self.n, self.sum, self.gram, strict=True)
        ]


_BLOCK = 256
"""Rows per block when a co-moment is finished in place: temporaries of 256 x m."""
_PRODUCTS = threading.local()


def add_gram(gram: np.ndarray, x: np.ndarray) -> None:
    """``gram += x^T x`` for a C-contiguous float64 block ``x``.

    numpy computes ``x.T @ x`` with BLAS's ``syrk`` (half the work of a general product) and,
    unlike scipy's BLAS wrappers, lets other Python threads run meanwhile: the scan without
    Spark folds blocks in several threads. The product lands in one m x m buffer per thread,
    kept between blocks (:func:`release_products` frees it).
    """
    m = gram.shape[0]
    product = getattr(_PRODUCTS, "buffer", None)
    if product is None or product.shape != (m, m):
        product = _PRODUCTS.buffer = np.empty((m, m))
    np.matmul(x.T, x, out=product)
    gram += product


def release_products() -> None:
    """Free this thread's product buffer (:func:`add_gram`), once its blocks are added."""
    _PRODUCTS.buffer = None


def _shifted_moments(
    n: int, shift: np.ndarray | None, total: np.ndarray, gram: np.ndarray
) -> Moments:
    """Moments from the sum and the Gram of ``n`` rows shifted by ``shift``.

    The co-moment is finished in ``gram`` itself, block by block (a task at 10,000 classes
    holds no second 800 MB matrix); the accumulator is spent afterwards.
    """
    m = total.shape[0]
    if n == 0 or shift is None:  # no rows (a shift exists once a row was added)
        return Moments.empty(m)
    d = total / n
    nd = n * d
    for start in range(0, m, _BLOCK):
        rows = slice(start, min(start + _BLOCK, m))
        gram[rows] -= np.outer(d[rows], nd)
    return Moments(n, shift + d, gram)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser, element-wise on uint64 (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_parts(
    rows: np.ndarray, k: int, dtype=np.int64, ids: np.ndarray | None = None
) -> np.ndarray:
    """Assign each row to one of ``k`` parts by a hash of its integer sample id, or of its values.

    The part depends on nothing but the row itself: its integer id when ``ids`` is given (the
    cheapest: one number per row), else the wrapping integer sum of its values' float64 bit
    patterns (exact in any summation order; one pass over the row), mixed by SplitMix64. So it
    does not change with how the rows are read, batched, partitioned or ordered: a rerun, a
    retried task or a numpy reference puts every row in the same part. Without ids, rows
    holding the same values share a part. The parts are disjoint, so their statistics merge to
    those of all rows, and any union of parts is a subsample of the rows
    (:mod:`classsim_spark.core.stability`).

    Parameters
    ----------
    rows : ndarray, shape (n, m)
        The scores as read, before any transform.
    k : int
        Number of parts, >= 1.
    dtype : numpy dtype
        Of the result (``uint8`` makes sorting by part a radix sort, for k <= 256).
    ids : ndarray of int, shape (n,), optional
        Sample ids identifying the rows.

    Returns
    -------
    ndarray, shape (n,)
        Part of each row, ``0 .. k - 1``.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(6, 2)
    >>> parts = row_parts(x, 3)
    >>> bool((row_parts(x[::-1], 3) == parts[::-1]).all())  # order does not matter
    True
    """
    if ids is not None:
        h = _splitmix64(
            np.asarray(ids, dtype=np.int64).view(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        )
    else:
        bits = np.ascontiguousarray(rows, dtype=np.float64).view(np.uint64)
        h = _splitmix64(bits.sum(axis=1, dtype=np.uint64))
    return (h % np.uint64(k)).astype(dtype)


Partial = tuple[int, np.ndarray, np.ndarray, np.ndarray]
"""``(n, row_means, col_means, tile)``: one observation set's statistics for one tile of C."""


def _add_outer(a: np.ndarray, x: np.ndarray, y: np.ndarray, rows: int = 256) -> None:
    """``a += outer(x, y)`` in place, a strip of rows at a time (no m x m temporary)."""
    for s in range(0, len(x), rows):
        a[s : s + rows] += np.multiply.outer(x[s : s + rows], y)


def merge_comoment(a: Partial, b: Partial) -> Partial:
    """Merge the statistics of one co-moment tile from two disjoint observation sets.

    Parameters
    ----------
    a, b : (n, row_means, col_means, tile)
        ``tile`` is the block ``C[rows, cols]``; the means are those of the same rows and columns.

    Returns
    -------
    (n, row_means, col_means, tile) : the statistics of the union.
    """
    n_a, r_a, c_a, t_a = a
    n_b, r_b, c_b, t_b = b
    if n_a == 0:
        return b
    if n_b == 0:
        return a
    n = n_a + n_b
    dr, dc = r_b - r_a, c_b - c_a
    weight = n_a * n_b / n
    tile = t_a + t_b + weight * np.outer(dr, dc)
    return n, r_a + dr * (n_b / n), c_a + dc * (n_b / n), tile


def merge_tiles(partials: list[Partial]) -> Partial:
    """Merge one tile's statistics over any number of observation sets, in the given order."""
    if not partials:
        raise ValueError("no partial statistics to merge")
    total = partials[0]
    for part in partials[1:]:
        total = merge_comoment(total, part)
    return total
