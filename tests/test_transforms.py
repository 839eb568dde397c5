import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from classsim_spark.core.transforms import (
    ScoreSpec,
    rank_rows,
    transform_block,
    validate_transforms,
)


def test_rank_rows_hand_checked():
    x = np.array([[0.3, 0.1, 0.3, 0.2], [5.0, 5.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0]])
    expected = np.array([[3.5, 1.0, 3.5, 2.0], [2.5, 2.5, 2.5, 2.5], [1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(rank_rows(x), expected)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 30), st.integers(1, 25)),
        elements=st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 3.5]) | st.floats(-5, 5, width=32),
    )
)
def test_rank_rows_equals_scipy_rankdata_with_ties(x):
    np.testing.assert_array_equal(rank_rows(x), ss.rankdata(x, axis=1))


def test_rank_rows_large_generated_matches_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 300)).astype(np.float32)
    x[::7, :40] = 0.0  # many ties, as softmax probabilities that underflow to 0
    np.testing.assert_array_equal(rank_rows(x), ss.rankdata(x, axis=1))


def test_logit_of_sigmoid_probability_inverts_sigmoid():
    z = np.array([[-3.0, 0.0, 2.5]])
    p = 1.0 / (1.0 + np.exp(-z))
    out = transform_block(p, "logit", ScoreSpec("probabilities", "sigmoid"))
    np.testing.assert_allclose(out, z, atol=1e-12)


def test_logit_of_softmax_probability_is_log_p():
    p = np.array([[0.7, 0.2, 0.1]])
    out = transform_block(p, "logit", ScoreSpec("probabilities", "softmax"))
    np.testing.assert_allclose(out, np.log(p))


def test_probability_from_logits_softmax_and_sigmoid():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    soft = transform_block(z, "probability", ScoreSpec("logits", "softmax"))
    np.testing.assert_allclose(soft[0], np.exp(z[0]) / np.exp(z[0]).sum())
    np.testing.assert_allclose(soft[1], [1.0, 0.0, 0.0])  # no overflow
    sig = transform_block(z, "probability", ScoreSpec("logits", "sigmoid"))
    np.testing.assert_allclose(sig[0], 1 / (1 + np.exp(-z[0])))


def test_log_probabilities_sigmoid_to_logit():
    z = np.array([[-4.0, 0.3, 6.0]])
    logp = -np.log1p(np.exp(-z))
    out = transform_block(logp, "logit", ScoreSpec("log-probabilities", "sigmoid"))
    np.testing.assert_allclose(out, z, atol=1e-9)
    np.testing.assert_allclose(
        transform_block(logp, "probability", ScoreSpec("log-probabilities", "sigmoid")),
        1 / (1 + np.exp(-z)),
    )


def test_zero_and_one_probabilities_are_clipped_not_infinite():
    p = np.array([[0.0, 1.0, 0.5]])
    out = transform_block(p, "logit", ScoreSpec("probabilities", "sigmoid", eps=1e-12))
    assert np.isfinite(out).all()
    lo, hi = 1e-12, 1.0 - 1e-12
    np.testing.assert_allclose(out[0, :2], [np.log(lo) - np.log1p(-lo), np.log(hi) - np.log1p(-hi)])
    assert out[0, 0] == pytest.approx(-out[0, 1], rel=1e-5)


def test_bad_specs_raise():
    with pytest.raises(ValueError, match="score kind"):
        ScoreSpec("logs")
    with pytest.raises(ValueError, match="activation"):
        ScoreSpec("logits", "relu")
    with pytest.raises(ValueError, match="transforms"):
        validate_transforms(["logit", "spearman"])
    assert validate_transforms(["rank", "logit", "rank"]) == ("rank", "logit")
