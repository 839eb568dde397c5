import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classsim_spark.core.moments import Moments, ZeroVarianceError, merge_tiles


def corr(x):
    return np.corrcoef(np.asarray(x, dtype=np.float64), rowvar=False)


def assert_moments_of(got: Moments, x: np.ndarray) -> None:
    """``got`` holds the statistics of all rows of ``x`` (numpy on the whole block as oracle)."""
    whole = Moments.from_block(x)
    assert got.n == x.shape[0]
    np.testing.assert_allclose(got.mean, whole.mean, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        got.comoment, whole.comoment, rtol=1e-9, atol=1e-9 * np.abs(whole.comoment).max()
    )
    if x.shape[0] >= 3:
        assert np.abs(got.correlation().matrix - corr(x)).max() < 1e-9


def test_hand_checked_two_by_three():
    x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 5.0]])
    mom = Moments.from_block(x)
    assert mom.n == 3
    np.testing.assert_allclose(mom.mean, [2.0, 11 / 3])
    np.testing.assert_allclose(mom.comoment, [[2.0, 3.0], [3.0, 14 / 3]])
    r = 3.0 / np.sqrt(2.0 * 14 / 3)
    np.testing.assert_allclose(mom.correlation().matrix, [[1, r], [r, 1]])


def test_large_offset_matches_corrcoef_where_naive_formula_fails(planted_scores):
    x = planted_scores  # carries +1e4 on every score
    parts = [Moments.from_block(b) for b in np.array_split(x, 7)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert np.abs(merged.correlation().matrix - corr(x)).max() < 1e-9
    # the one-pass E[xy] - E[x]E[y] formula loses the digits at this offset
    n = x.shape[0]
    naive_cov = (x.T @ x - n * np.outer(x.mean(0), x.mean(0))) / (n - 1)
    sd = np.sqrt(np.diag(naive_cov).clip(1e-300))
    assert np.abs(naive_cov / np.outer(sd, sd) - corr(x)).max() > 1e-8


def test_float32_input_matches_float64_corrcoef_of_same_values():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(5000, 40)) * 3 + 1e4).astype(np.float32)
    mom = Moments.from_block(x[:2500]).merge(Moments.from_block(x[2500:]))
    assert np.abs(mom.correlation().matrix - corr(x)).max() < 1e-9


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 400),
    st.integers(1, 12),
    st.integers(0, 2**31 - 1),
    st.lists(st.floats(0.0, 1.0), min_size=0, max_size=8),
)
def test_independent_of_partitioning_and_merge_order(n, m, seed, cut_points):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, m)) * rng.uniform(0.1, 10, size=m) + rng.uniform(-1e4, 1e4, size=m)
    cuts = sorted({int(c * n) for c in cut_points})
    blocks = np.split(x, cuts)
    parts = [Moments.from_block(b) for b in blocks]
    order = rng.permutation(len(parts))
    merged = Moments.empty(m)
    for i in order:
        merged = merged.merge(parts[i])
    assert_moments_of(merged, x)
    # merge_all accumulates in place; empty parts (np.split's at repeated cuts) anywhere
    at_once = Moments.merge_all([Moments.empty(m)] + [parts[i] for i in order])
    assert_moments_of(at_once, x)
    np.testing.assert_allclose(at_once.comoment, merged.comoment, rtol=1e-12, atol=1e-9)
    assert at_once.comoment is not parts[order[0]].comoment  # the parts are left as they were


def test_tiles_merge_like_the_whole_matrix():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 10)) + 50
    a, b, c = (Moments.from_block(p) for p in np.array_split(x, 3))
    rows, cols = slice(0, 4), slice(4, 10)
    tile = merge_tiles(
        [(p.n, p.mean[rows], p.mean[cols], p.comoment[rows, cols]) for p in (a, b, c)]
    )
    whole = Moments.from_block(x)
    assert tile[0] == 300
    np.testing.assert_allclose(tile[1], whole.mean[rows])
    np.testing.assert_allclose(tile[2], whole.mean[cols])
    np.testing.assert_allclose(tile[3], whole.comoment[rows, cols], atol=1e-9)


def test_zero_variance_classes_are_reported_and_zeroed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4))
    x[:, 2] = 1e4 + 0.1  # constant, large offset
    corr_ = Moments.from_block(x).correlation()
    assert corr_.zero_variance.tolist() == [2]
    assert not np.isnan(corr_.matrix).any()
    assert corr_.matrix[2, 2] == 1.0
    assert (corr_.matrix[2, [0, 1, 3]] == 0).all() and (corr_.matrix[[0, 1, 3], 2] == 0).all()
    keep = [0, 1, 3]
    np.testing.assert_allclose(corr_.matrix[np.ix_(keep, keep)], corr(x[:, keep]), atol=1e-12)
    with pytest.raises(ZeroVarianceError, match="1 of 4 classes"):
        Moments.from_block(x).correlation("error")


def test_too_few_rows_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        Moments.from_block(np.ones((1, 3))).correlation()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(2, 300),
    st.integers(1, 9),
    st.integers(0, 2**31 - 1),
    st.lists(st.integers(1, 80), min_size=1, max_size=6),
)
def test_shifted_accumulator_equals_whole_block(n, m, seed, sizes):
    from classsim_spark.core.moments import ShiftedAccumulator

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, m)) * rng.uniform(0.1, 10, size=m) + rng.uniform(-1e4, 1e4, size=m)
    acc, start = ShiftedAccumulator(m), 0
    for size in [*sizes, n]:
        block = x[start : start + size].copy()
        acc.add(block, overwrite=True)  # may shift the block in place
        start += size
        if start >= n:
            break
    assert_moments_of(acc.moments(), x)


def test_shifted_accumulator_leaves_input_alone_unless_allowed():
    from classsim_spark.core.moments import ShiftedAccumulator

    x = np.arange(12.0).reshape(4, 3)
    acc = ShiftedAccumulator(3)
    acc.add(x)
    np.testing.assert_array_equal(x, np.arange(12.0).reshape(4, 3))
    assert ShiftedAccumulator(3).moments().n == 0
