"""Pooling: ``MaxPooling1D/2D``, ``AveragePooling1D/2D`` and their global forms, ``channels_last``.

Max pooling picks one of its inputs, so it is exact. Average pooling divides by the window size:
hls4ml sums in a wider type and multiplies by ``1 / n`` rounded to the layer's result type, so it
matches Keras only when that division is exact on the result grid; the C-simulation says where it
is not.
"""

from __future__ import annotations

import math

from ..errors import ModelError
from .base import LayerKind, Step
from .convolution import check_channels_last

__all__ = ["PoolingKind"]

_AVERAGE_INEXACT = "average pooling divides by the window size, rounded to hls4ml's fixed-point result type"


class PoolingKind(LayerKind):
    """Max / average pooling over windows, or over the whole image (global)."""

    family = "pooling"
    keras_classes = (
        "MaxPooling1D",
        "MaxPooling2D",
        "AveragePooling1D",
        "AveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
    )
    supported = (
        "channels_last; padding valid; strides equal to pool_size (non-overlapping windows); keepdims=False"
    )
    firmware = "max pooling exact; average pooling divides by the window size in fixed point (not bit-exact)"

    def check(self, layer) -> None:
        check_channels_last(layer)
        if type(layer).__name__.startswith("Global"):
            if getattr(layer, "keepdims", False):
                raise ModelError(
                    f"Layer '{layer.name}' has keepdims=True, which hls4ml does not build; use keepdims=False "
                    "(a Reshape after it if the shape matters)."
                )
            return
        if layer.padding != "valid":
            raise ModelError(
                f"Layer '{layer.name}' has padding='{layer.padding}'; the firmware build pools with "
                "padding='valid' only (put a ZeroPadding layer before it)."
            )
        if tuple(layer.strides) != tuple(layer.pool_size):
            raise ModelError(
                f"Layer '{layer.name}' has strides={tuple(layer.strides)} and pool_size={tuple(layer.pool_size)}; "
                "hls4ml's streaming pooling needs non-overlapping windows: set strides equal to pool_size."
            )

    def steps(self, layer) -> list[Step]:
        average = "Average" in type(layer).__name__
        n_out = int(math.prod(layer.output_shape[1:]))
        return [Step(layer.name, None, _AVERAGE_INEXACT if average else None, n_out)]
