"""The KL divergence of sparse variational dropout, and the warm-up of its weight in the loss.

With the log-uniform prior and the Gaussian posterior ``N(theta, sigma^2)`` of every weight, the
KL divergence depends only on ``log alpha = log sigma^2 - log theta^2`` and has no closed form.
Molchanov, Ashukha and Vetrov (ICML 2017, eq. 14) fit it to within 0.01:

``-KL ~= k1 * sigmoid(k2 + k3 * log alpha) - 0.5 * log(1 + exp(-log alpha)) - k1``

with ``k1 = 0.63576, k2 = 1.87320, k3 = 1.48695``. It decreases monotonically in ``log alpha``, so
minimizing it pushes every weight the data do not need towards infinite noise (``alpha -> inf``),
where the weight can be removed without changing the network's expected output.

The variational lower bound is ``N * E[log p(y|x, w)] - KL``; dividing by the training-set size
``N`` gives what Keras minimizes per sample: the cross-entropy plus ``kl_weight * KL / N``.
:class:`KlWarmUp` raises ``kl_weight`` linearly to 1 (or to ``kl_scale``) over the first epochs, so the network
first re-fits the data under noise before the prior starts to prune it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["K1", "K2", "K3", "LOG_ALPHA_CLIP", "negative_kl", "kl_divergence", "KlWarmUp", "warm_up_weight"]

K1, K2, K3 = 0.63576, 1.87320, 1.48695
LOG_ALPHA_CLIP = 10.0  # the approximation (and the gradient) are flat beyond |log alpha| ~ 10


def negative_kl(log_alpha: np.ndarray) -> np.ndarray:
    """``-KL`` per weight in NumPy (for reports and tests); the layer uses the TensorFlow twin."""
    log_alpha = np.clip(np.asarray(log_alpha, dtype=np.float64), -LOG_ALPHA_CLIP, LOG_ALPHA_CLIP)
    sigmoid = 1.0 / (1.0 + np.exp(-(K2 + K3 * log_alpha)))
    return K1 * sigmoid - 0.5 * np.log1p(np.exp(-log_alpha)) - K1


def kl_divergence(log_alpha):
    """Sum over weights of the approximate KL divergence, as a TensorFlow scalar."""
    log_alpha = tf.clip_by_value(log_alpha, -LOG_ALPHA_CLIP, LOG_ALPHA_CLIP)
    negative = K1 * tf.sigmoid(K2 + K3 * log_alpha) - 0.5 * tf.math.softplus(-log_alpha) - K1
    return -tf.reduce_sum(negative)


def warm_up_weight(epoch: int, warmup_epochs: int, final_weight: float = 1.0) -> float:
    """The KL weight during ``epoch`` (0-based): ``final_weight * (epoch + 1) / warmup_epochs``, capped."""
    if warmup_epochs <= 0:
        return float(final_weight)
    return float(final_weight * min(1.0, (epoch + 1) / warmup_epochs))


class KlWarmUp(tf.keras.callbacks.Callback):
    """Sets every variational layer's ``kl_weight`` at the start of each epoch (linear ramp).

    ``final_weight`` is 1 for the variational lower bound itself; above 1 it weighs the prior
    more than the data (as if the training set were ``final_weight`` times smaller): sparser
    networks at some cost in accuracy.
    """

    def __init__(self, warmup_epochs: int, final_weight: float = 1.0):
        super().__init__()
        self.warmup_epochs = int(warmup_epochs)
        self.final_weight = float(final_weight)

    def on_epoch_begin(self, epoch, logs=None):
        from .layer import variational_layers

        weight = np.float32(warm_up_weight(epoch, self.warmup_epochs, self.final_weight))
        for layer in variational_layers(self.model):
            layer.kl_weight.assign(weight)
