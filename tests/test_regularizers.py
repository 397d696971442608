"""L1 and Lp penalties: values and gradients against hand computation, serialization, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fpgacompress.errors import ConfigError
from fpgacompress.regularizers import L1, Lp, make_regularizer

WEIGHTS = np.array([[0.5, -0.25], [0.0, 2.0]], dtype=np.float32)


def value_and_gradient(regularizer, weights):
    variable = tf.Variable(weights)
    with tf.GradientTape() as tape:
        penalty = regularizer(variable)
    return float(penalty), tape.gradient(penalty, variable).numpy()


def test_l1_value_and_gradient_match_hand_computation():
    penalty, gradient = value_and_gradient(L1(0.01), WEIGHTS)
    assert penalty == pytest.approx(0.01 * (0.5 + 0.25 + 0.0 + 2.0), rel=1e-6)
    np.testing.assert_allclose(gradient, 0.01 * np.sign(WEIGHTS), rtol=1e-6)


def test_lp_value_and_gradient_match_hand_computation():
    lp, p, epsilon = 1e-3, 0.1, 1e-4
    penalty, gradient = value_and_gradient(Lp(lp, p=p, epsilon=epsilon), WEIGHTS)
    magnitude = np.abs(WEIGHTS.astype(np.float64))
    expected = lp * np.sum((magnitude + epsilon) ** p - epsilon**p)
    expected_gradient = lp * p * (magnitude + epsilon) ** (p - 1) * np.sign(WEIGHTS)
    assert penalty == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4)


def test_lp_is_zero_at_zero_and_its_gradient_stays_finite_near_zero():
    lp, p, epsilon = 1e-3, 0.1, 1e-4
    penalty, _ = value_and_gradient(Lp(lp, p=p, epsilon=epsilon), np.zeros((3, 3), np.float32))
    assert penalty == 0.0
    _, gradient = value_and_gradient(Lp(lp, p=p, epsilon=epsilon), np.full((2, 2), 1e-12, np.float32))
    assert np.all(np.isfinite(gradient))
    assert np.max(np.abs(gradient)) <= lp * p * epsilon ** (p - 1) * 1.0001


def test_lp_penalises_small_weights_relatively_harder_than_l1():
    small, large = np.full((1, 1), 0.01, np.float32), np.full((1, 1), 1.0, np.float32)
    lp_ratio = value_and_gradient(Lp(1.0, p=0.1), small)[0] / value_and_gradient(Lp(1.0, p=0.1), large)[0]
    l1_ratio = value_and_gradient(L1(1.0), small)[0] / value_and_gradient(L1(1.0), large)[0]
    assert lp_ratio > 30 * l1_ratio  # a weight 100x smaller costs ~0.39x as much under Lp, 0.01x under L1


@pytest.mark.parametrize("regularizer", [L1(3e-4), Lp(2e-3, p=0.25, epsilon=1e-5)])
def test_regularizers_round_trip_through_get_config(regularizer):
    clone = regularizer.__class__.from_config(regularizer.get_config())
    assert clone.get_config() == regularizer.get_config()
    assert value_and_gradient(clone, WEIGHTS)[0] == pytest.approx(value_and_gradient(regularizer, WEIGHTS)[0])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Lp(1e-3, p=1.0), "p=1.0"),
        (lambda: Lp(1e-3, p=0.0), "p=0.0"),
        (lambda: L1(-1.0), "l1=-1.0"),
        (lambda: make_regularizer("l2", 1e-3), "Unknown regularizer 'l2'"),
    ],
)
def test_invalid_regularizers_are_refused(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
