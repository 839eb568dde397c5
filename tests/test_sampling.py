"""RowSample: exact contents while the sample is not full, and uniformity checked statistically.

Row i of the test inputs holds the value i in every column, so a sampled row names itself.
A uniform sample of k of n rows includes each row with probability k / n, and the number of its
rows among any fixed r of the n is hypergeometric(n, r, k): both are checked over many seeds for
reservoir sampling alone and for samples merged in either order.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

from classsim_spark.executor.sampling import RowSample

N, CAPACITY, TRIALS = 40, 10, 2000
BLOCKS = (3, 11, 1, 25)  # uneven blocks of the N rows
FIRST = 13  # unequal halves of the N rows: 13 and 27


def numbered(n: int, m: int = 3, start: int = 0) -> np.ndarray:
    return np.repeat(np.arange(start, start + n, dtype=np.float64)[:, None], m, axis=1)


def ids(sample: RowSample) -> np.ndarray:
    return sample.rows[:, 0].astype(int)


def added(x: np.ndarray, blocks, rng, capacity: int = CAPACITY) -> RowSample:
    sample = RowSample.empty(capacity, x.shape[1])
    for piece in np.split(x, np.cumsum(blocks)[:-1]):
        sample.add(piece, rng)
    assert sample.seen == x.shape[0]
    return sample


def add_only(x, rng):
    return added(x, BLOCKS, rng)


def halves(x, rng):
    return added(x[:FIRST], (5, 8), rng), added(x[FIRST:], (20, 7), rng)


def merged(x, rng):
    a, b = halves(x, rng)
    return RowSample.merge(a, b, rng)


def merged_reversed(x, rng):
    a, b = halves(x, rng)
    return RowSample.merge(b, a, rng)


def merged_chain(x, rng):
    """Three uneven parts, merged as ((2 + 31) + 7), the middle one filled in one block."""
    parts = [added(x[:2], (2,), rng), added(x[2:33], (31,), rng), added(x[33:], (4, 3), rng)]
    return RowSample.merge(RowSample.merge(parts[0], parts[1], rng), parts[2], rng)


@pytest.mark.parametrize("draw", [add_only, merged, merged_reversed, merged_chain])
def test_every_row_is_equally_likely_and_the_sample_is_uniform(draw):
    x = numbered(N)
    included = np.zeros(N)
    from_first = np.zeros(CAPACITY + 1, dtype=int)
    for trial in range(TRIALS):
        sample = draw(x, np.random.default_rng(trial))
        assert sample.seen == N and sample.rows.shape == (CAPACITY, 3)
        picked = ids(sample)
        assert len(set(picked)) == CAPACITY
        included[picked] += 1
        from_first[np.count_nonzero(picked < FIRST)] += 1
    p = CAPACITY / N
    sigma = np.sqrt(p * (1 - p) / TRIALS)
    assert np.abs(included / TRIALS - p).max() < 5 * sigma
    # The whole sample, not only each row's share: rows among the first 13 ~ hypergeometric.
    expected = ss.hypergeom(N, FIRST, CAPACITY).pmf(np.arange(CAPACITY + 1)) * TRIALS
    pooled = expected >= 5
    observed = np.append(from_first[pooled], from_first[~pooled].sum())
    expected = np.append(expected[pooled], expected[~pooled].sum())
    assert ss.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-4


@pytest.mark.parametrize("n", [0, 1, 9, 10])
def test_holds_every_row_while_seen_is_within_capacity(n):
    x = numbered(n, m=4) + 0.25
    rng = np.random.default_rng(1)
    alone = added(x, (n // 2, n - n // 2), rng)
    split = RowSample.merge(
        added(x[:3], (min(3, n),), rng), added(x[3:], (max(0, n - 3),), rng), rng
    )
    for sample in (alone, split):
        assert sample.seen == n and sample.rows.dtype == np.float32
        np.testing.assert_array_equal(np.sort(sample.rows, axis=0), x.astype(np.float32))


@pytest.mark.parametrize("capacity", [0, 1, 7, 40, 100])
def test_size_is_min_of_capacity_and_seen_and_rows_are_input_rows(capacity):
    rng = np.random.default_rng(capacity)
    x = rng.normal(size=(N, 5))
    for sample in (
        added(x, BLOCKS, rng, capacity),
        RowSample.merge(
            added(x[:FIRST], (FIRST,), rng, capacity), added(x[FIRST:], (1, 26), rng, capacity), rng
        ),
    ):
        k = min(capacity, N)
        assert sample.rows.shape == (k, 5) and sample.seen == N
        rows = {r.tobytes() for r in x.astype(np.float32)}
        got = [r.tobytes() for r in sample.rows]
        assert len(set(got)) == k and set(got) <= rows


class Draws:
    """A stand-in generator that returns given slot draws and checks their bounds."""

    def __init__(self, *draws):
        self.draws = list(draws)

    def integers(self, low, high):
        j = np.asarray(self.draws.pop(0))
        assert low == 0 and j.shape == high.shape and (j < high).all()
        return j


def test_later_row_wins_when_a_block_hits_a_slot_twice():
    sample = RowSample.empty(3, 2)
    sample.add(numbered(3, m=2), Draws())  # fills the slots, draws nothing
    # Rows 3..7 draw slots 0, 2, 0, 6 (a miss), 2: rows 5 and 7 are the last to hit 0 and 2.
    sample.add(numbered(5, m=2, start=3), Draws([0, 2, 0, 6, 2]))
    assert ids(sample).tolist() == [5, 1, 7] and sample.seen == 8


def test_sampled_rows_are_copies_and_float32():
    block = numbered(4, m=2)
    sample = RowSample.empty(10, 2)
    sample.add(block, np.random.default_rng(0))
    block[:] = -1.0
    assert sample.rows.dtype == np.float32 and ids(sample).tolist() == [0, 1, 2, 3]


def test_merge_with_empty_samples_and_zero_capacity():
    rng = np.random.default_rng(3)
    empty = RowSample.empty(5, 3)
    full = added(numbered(8), (8,), rng, capacity=5)
    for sample in (RowSample.merge(empty, full, rng), RowSample.merge(full, empty, rng)):
        assert sample.seen == 8 and sorted(ids(sample)) == sorted(ids(full))
    both = RowSample.merge(empty, RowSample.empty(5, 3), rng)
    assert both.seen == 0 and both.rows.shape == (0, 3)
    none = RowSample.merge(added(numbered(4), (4,), rng, 0), added(numbered(3), (3,), rng, 0), rng)
    assert none.seen == 7 and none.rows.shape == (0, 3)


def test_merge_beyond_numpy_hypergeometric_limit():
    """3e9 rows + 1e9 rows (numpy's hypergeometric refuses counts >= 1e9): 3/4 come from a."""
    a = RowSample(CAPACITY, np.zeros((CAPACITY, 1)), 3 * 10**9)
    b = RowSample(CAPACITY, np.ones((CAPACITY, 1)), 10**9)
    rng = np.random.default_rng(5)
    from_a = [np.count_nonzero(RowSample.merge(a, b, rng).rows == 0) for _ in range(500)]
    sigma = np.sqrt(ss.hypergeom(4000, 3000, CAPACITY).var() / 500)  # ~ the huge population's
    assert abs(np.mean(from_a) - 0.75 * CAPACITY) < 5 * sigma
    assert RowSample.merge(a, b, rng).seen == 4 * 10**9


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        RowSample.empty(-1, 3)
    with pytest.raises(ValueError, match="m must be >= 0"):
        RowSample.empty(3, -1)
    with pytest.raises(ValueError, match="holds 2 rows, got 3"):
        RowSample(2, np.zeros((3, 4)), 5)
    with pytest.raises(ValueError, match="2-D"):
        RowSample(2, np.zeros(4), 0)
    sample = RowSample.empty(3, 4)
    with pytest.raises(ValueError, match=r"shape \(b, 4\)"):
        sample.add(np.zeros((2, 5)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot merge"):
        RowSample.merge(sample, RowSample.empty(3, 5), np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot merge"):
        RowSample.merge(sample, RowSample.empty(4, 4), np.random.default_rng(0))
