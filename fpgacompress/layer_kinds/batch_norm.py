"""Batch normalization: Keras ``BatchNormalization`` and QKeras ``QBatchNormalization``.

At inference a batch norm is a per-feature scale and shift. hls4ml folds it into the Dense before
it when that Dense is float (its weights absorb the scale); after a quantized Dense it stays a
scale-and-shift layer whose scale and shift hls4ml rounds to fixed point. Either way the firmware
differs from Keras' float32 arithmetic, so the C-simulation reports fidelity, not bit-exactness:
for bit-exact firmware, fold the batch norm before quantizing (``build --ptq`` does).
"""

from __future__ import annotations

import math

from ..errors import ModelError
from .base import LayerKind, Step

__all__ = ["BatchNormKind"]


class BatchNormKind(LayerKind):
    """``BatchNormalization`` / ``QBatchNormalization`` on features or on the channels of a feature map."""

    family = "batch_norm"
    keras_classes = ("BatchNormalization", "QBatchNormalization")
    supported = "on the last axis: a feature vector, or the channels of a feature map (after a convolution)"
    pruning = "kept (not pruned)"
    quantization = "kept as float BatchNormalization; build --ptq folds it into the Dense before it"
    firmware = "folded into a float Dense, else a scale-and-shift; not bit-exact (scale and shift rounded to fixed point)"

    def check(self, layer) -> None:
        axis = layer.axis if isinstance(layer.axis, int) else list(layer.axis)
        rank = len(layer.input_shape)
        if axis not in (-1, rank - 1, [rank - 1], [-1]):
            raise ModelError(
                f"Layer '{layer.name}' normalizes axis {axis} of a rank-{rank} input; the firmware build supports "
                "BatchNormalization on the last axis only (features, or the channels of a channels_last map): "
                "use axis=-1."
            )

    def steps(self, layer) -> list[Step]:
        return [
            Step(
                layer.name,
                None,
                "batch norm scale and shift are rounded to fixed point by hls4ml",
                int(math.prod(layer.input_shape[1:])),
            )
        ]

    def folding(self, layer):
        """``(scale, shift)`` of the inference-time affine map ``y = scale * x + shift``."""
        import numpy as np

        weights = {
            weight.name.split("/")[-1].split(":")[0]: np.asarray(weight.numpy(), np.float64)
            for weight in layer.weights
        }
        n = int(layer.input_shape[-1])
        gamma = weights.get("gamma", np.ones(n))
        beta = weights.get("beta", np.zeros(n))
        scale = gamma / np.sqrt(weights["moving_variance"] + layer.epsilon)
        return scale, beta - weights["moving_mean"] * scale

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        import numpy as np

        from ..estimation.layers import DenseSpec

        scale, _ = self.folding(layer)
        # one multiplier and one adder per feature: a diagonal Dense costs exactly that
        spec = DenseSpec(layer.name, np.diag(scale), current_type, default_type, default_type, reuse_factor=1)
        return [spec], default_type
