"""``NodeMask``: one trainable gate per neuron (or per input feature) that anneals to exactly k open.

The layer multiplies its input element-wise by a gate vector. While **soft**, the gate of node
``i`` is ``sigmoid(sharpness * (score_i - threshold) / spread)``, where ``threshold`` sits halfway
between the k-th and (k+1)-th largest scores and ``spread`` is the median distance of the scores to it:
the k highest scores are the gates above 0.5 (ties aside) at every step, and raising ``sharpness`` (the schedule in
:mod:`~fpgacompress.autopruning.schedule`) drives them towards a 0/1 top-k mask. The scores learn by
back-propagation which nodes the loss needs. :meth:`NodeMask.harden` then freezes the gates: the
top-k nodes keep their current gate value (so the network does not jump), every other gate becomes
exactly 0. A hard mask has exactly ``keep_count`` nonzero gates, which the exporter folds away.

Placed after a hidden layer's activation it removes neurons; placed right after the input it
selects input features.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import ModelError

__all__ = ["NodeMask", "node_masks", "harden_node_masks"]

_SPREAD_FLOOR = 1e-3  # keeps the normalisation finite while all scores are still equal (start of training)


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class NodeMask(tf.keras.layers.Layer):
    """Element-wise gates on the last axis; ``keep_count`` of them survive hardening.

    Args:
        keep_count: number of nodes (or features) left open by the hard mask, 1..width.
        sharpness: initial slope of the soft gates (the schedule raises it during training).
    """

    def __init__(self, keep_count: int, sharpness: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.keep_count = int(keep_count)
        self.initial_sharpness = float(sharpness)

    def build(self, input_shape):
        width = int(input_shape[-1])
        if not 1 <= self.keep_count <= width:
            raise ModelError(
                f"NodeMask '{self.name}' keeps {self.keep_count} nodes but its input has {width}; "
                f"keep_count must be in 1..{width}."
            )
        # Scores start equal: the ranking is learned, not inherited from a random draw.
        self.scores = self.add_weight(name="scores", shape=(width,), initializer="zeros", trainable=True)
        self.sharpness = self.add_weight(
            name="sharpness",
            shape=(),
            initializer=tf.keras.initializers.Constant(self.initial_sharpness),
            trainable=False,
        )
        self.is_hard = self.add_weight(name="is_hard", shape=(), initializer="zeros", trainable=False)
        self.hard_gates = self.add_weight(
            name="hard_gates", shape=(width,), initializer="zeros", trainable=False
        )
        super().build(input_shape)

    @property
    def width(self) -> int:
        return int(self.scores.shape[0])

    def soft_gates(self):
        """The differentiable gates; exactly ``keep_count`` of them exceed 0.5."""
        scores = self.scores
        if self.keep_count == self.width:
            threshold = tf.reduce_min(scores) - 1.0  # keep-all: every node above threshold
        else:
            top = tf.math.top_k(scores, k=self.keep_count + 1).values
            threshold = 0.5 * (top[self.keep_count - 1] + top[self.keep_count])
        distance = scores - tf.stop_gradient(threshold)
        # Median distance to the threshold: robust to the few scores that run far away, so half of
        # the gates are within one unit of the threshold whatever the scale the scores learned.
        spread = tf.maximum(_median(tf.abs(distance)), _SPREAD_FLOOR)
        normalised = distance / tf.stop_gradient(spread)
        return tf.sigmoid(self.sharpness * normalised)

    def gates(self):
        """Hard gates once :meth:`harden` ran, soft gates before."""
        # tf.where keeps a (zero) gradient path to the scores in the hard phase, so Keras does
        # not warn about variables without gradients.
        return tf.where(self.is_hard > 0.5, self.hard_gates, self.soft_gates())

    def call(self, inputs):
        return inputs * tf.cast(self.gates(), inputs.dtype)

    def harden(self) -> None:
        """Freeze the mask: the top-``keep_count`` scores keep their gate value, the rest become 0."""
        if self.hard:
            return
        gates = self.soft_gates().numpy()
        kept = np.sort(tf.math.top_k(self.scores, k=self.keep_count).indices.numpy())
        hard = np.zeros_like(gates)
        hard[kept] = gates[kept]
        self.hard_gates.assign(hard)
        self.is_hard.assign(1.0)

    @property
    def hard(self) -> bool:
        return bool(self.is_hard.numpy() > 0.5)

    def gate_values(self) -> np.ndarray:
        """The current gates as a NumPy array (hard: exactly ``keep_count`` nonzero)."""
        return np.asarray(self.gates().numpy(), dtype=np.float32)

    def kept_indices(self) -> np.ndarray:
        """Indices of the open gates of a hard mask, ascending."""
        if not self.hard:
            raise ModelError(
                f"NodeMask '{self.name}' is still soft; call harden() (or finish the schedule) first."
            )
        return np.flatnonzero(self.hard_gates.numpy())

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "keep_count": self.keep_count, "sharpness": self.initial_sharpness}


def _median(values):
    ordered = tf.sort(values)
    count = tf.shape(ordered)[0]
    return 0.5 * (ordered[(count - 1) // 2] + ordered[count // 2])


def node_masks(model) -> list[NodeMask]:
    """The :class:`NodeMask` layers of ``model``, in model order."""
    return [layer for layer in model.layers if isinstance(layer, NodeMask)]


def harden_node_masks(model) -> None:
    """Harden every :class:`NodeMask` of ``model`` (idempotent)."""
    for mask in node_masks(model):
        mask.harden()
