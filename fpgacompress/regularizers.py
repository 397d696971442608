"""Sparsity-promoting weight penalties: L1 and Lp (0 < p < 1).

L1 (``lambda * sum|w|``) pulls unimportant weights towards zero, so that the bottom of the weight
distribution can be cut without loss. Lp with p < 1 approaches the L0 count of nonzero weights and
prunes harder (93 % at p = 1/10, lambda = 1e-3 in the seed talk), but ``|w|**p`` has an infinite
slope at zero. We use ``(|w| + epsilon)**p - epsilon**p``: it is zero at zero, equals ``|w|**p``
for ``|w| >> epsilon``, and its gradient never exceeds ``p * epsilon**(p - 1)``.

Both are registered Keras serializables, so models saved with them reload without
``custom_objects`` once ``fpgacompress.regularizers`` is imported.

Example:
    >>> layer = tf.keras.layers.Dense(64, kernel_regularizer=Lp(1e-3, p=0.1))
"""

from __future__ import annotations

import tensorflow as tf

from .errors import ConfigError

__all__ = ["L1", "Lp", "make_regularizer"]


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class L1(tf.keras.regularizers.Regularizer):
    """``l1 * sum(|w|)``."""

    def __init__(self, l1: float = 1e-4):
        if not l1 >= 0:
            raise ConfigError(f"L1 strength must be a float >= 0. Received: l1={l1}.")
        self.l1 = float(l1)

    def __call__(self, weights):
        return self.l1 * tf.reduce_sum(tf.abs(weights))

    def get_config(self):
        return {"l1": self.l1}


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class Lp(tf.keras.regularizers.Regularizer):
    """``lp * sum((|w| + epsilon)**p - epsilon**p)`` with 0 < p < 1."""

    def __init__(self, lp: float = 1e-3, p: float = 0.1, epsilon: float = 1e-4):
        if not 0 < p < 1:
            raise ConfigError(f"Lp exponent must be a float in (0, 1). Received: p={p}.")
        if not lp >= 0:
            raise ConfigError(f"Lp strength must be a float >= 0. Received: lp={lp}.")
        if not epsilon > 0:
            raise ConfigError(f"Lp epsilon must be a float > 0. Received: epsilon={epsilon}.")
        self.lp = float(lp)
        self.p = float(p)
        self.epsilon = float(epsilon)

    def __call__(self, weights):
        magnitude = tf.abs(weights) + self.epsilon
        return self.lp * tf.reduce_sum(tf.pow(magnitude, self.p) - self.epsilon**self.p)

    def get_config(self):
        return {"lp": self.lp, "p": self.p, "epsilon": self.epsilon}


def make_regularizer(kind: str | None, strength: float, p: float = 0.1, epsilon: float = 1e-4):
    """The regularizer a recipe names: ``'l1'``, ``'lp'`` or ``None`` / ``'none'``."""
    if kind in (None, "none"):
        return None
    if kind == "l1":
        return L1(strength)
    if kind == "lp":
        return Lp(strength, p=p, epsilon=epsilon)
    raise ConfigError(f"Unknown regularizer '{kind}'. Available: none, l1, lp.")
