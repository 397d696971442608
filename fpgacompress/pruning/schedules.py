"""Schedules of iterative pruning: how sparse after each step, and the learning rate inside a step.

Sparsity:
    ``fraction`` (the default): cut ``fraction_per_iteration`` of the remaining weights per step,
    a geometric approach to the target. ``polynomial``: Zhu & Gupta (2017, "To prune, or not to
    prune"), ``s_t = s_f + (s_0 - s_f) * (1 - t/n)**3`` over ``n = max_iterations`` steps from
    ``s_0`` = the model's current sparsity: many weights go early while the network has redundancy,
    few at the end where every cut hurts, and the last step lands exactly on the target.

Learning rate:
    ``constant``: every retraining runs at the configured rate (a fresh Adam each step).
    ``restart``: learning-rate rewinding with warm restarts (Renda et al. 2020; Loshchilov & Hutter
    2017): each retraining starts again at the full rate and decays it along a half cosine to 1 %
    over the step's epochs, so the network can move after each cut and still settles at the end.

Example:
    >>> polynomial_targets(0.0, 0.93, steps=4)
    (0.5377, 0.8138, 0.9155, 0.93)
"""

from __future__ import annotations

import math

__all__ = ["polynomial_targets", "restart_callback"]


def polynomial_targets(initial_sparsity: float, final_sparsity: float, steps: int) -> tuple[float, ...]:
    """Zhu & Gupta's cubic ramp: the target sparsity after each of ``steps`` pruning steps."""
    return tuple(
        round(final_sparsity + (initial_sparsity - final_sparsity) * (1 - step / steps) ** 3, 4)
        for step in range(1, steps + 1)
    )


def restart_callback(learning_rate: float, epochs: int, floor: float = 0.01):
    """A Keras callback: half-cosine decay from ``learning_rate`` to ``floor * learning_rate`` over ``epochs``."""
    import tensorflow as tf

    def rate(epoch: int, _current=None) -> float:
        progress = epoch / max(epochs - 1, 1)
        return learning_rate * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))

    return tf.keras.callbacks.LearningRateScheduler(rate)
