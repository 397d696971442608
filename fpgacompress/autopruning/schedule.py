"""The annealing schedule: soft gates sharpen epoch by epoch, then the top-k mask is frozen.

Epochs ``0 .. soft_epochs-1`` set every :class:`~fpgacompress.autopruning.layer.NodeMask`'s
sharpness on a geometric ramp from ``initial_sharpness`` to ``final_sharpness``; at the start of
epoch ``soft_epochs`` (or at the end of training, whichever comes first) the masks are hardened,
so the remaining epochs adapt the weights to exactly k open nodes per layer.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .layer import harden_node_masks, node_masks

__all__ = ["TopKAnnealing", "sharpness_at"]


def sharpness_at(epoch: int, soft_epochs: int, initial_sharpness: float, final_sharpness: float) -> float:
    """Geometric ramp: ``initial`` at epoch 0, ``final`` at the last soft epoch."""
    if soft_epochs <= 1:
        return float(final_sharpness)
    progress = min(epoch, soft_epochs - 1) / (soft_epochs - 1)
    return float(initial_sharpness * (final_sharpness / initial_sharpness) ** progress)


class TopKAnnealing(tf.keras.callbacks.Callback):
    """Anneal the model's node masks from soft to hard top-k (see the module docstring)."""

    def __init__(self, soft_epochs: int, initial_sharpness: float = 1.0, final_sharpness: float = 50.0):
        super().__init__()
        self.soft_epochs = int(soft_epochs)
        self.initial_sharpness = float(initial_sharpness)
        self.final_sharpness = float(final_sharpness)

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.soft_epochs:
            harden_node_masks(self.model)
            return
        value = sharpness_at(epoch, self.soft_epochs, self.initial_sharpness, self.final_sharpness)
        for mask in node_masks(self.model):
            mask.sharpness.assign(np.float32(value))

    def on_train_end(self, logs=None):
        harden_node_masks(self.model)
