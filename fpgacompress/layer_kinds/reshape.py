"""Reshapes: ``Flatten`` and ``Reshape``; they move no value, only how the next layer reads them.

hls4ml keeps channels_last row-major order, which is the order Keras' ``Flatten`` produces, so a
flattened feature map reaches the Dense head in the same order in Keras and in the firmware.
"""

from __future__ import annotations

import math

from ..errors import ModelError
from .base import LayerKind, Step
from .convolution import CHANNELS_LAST_FIX

__all__ = ["ReshapeKind"]


class ReshapeKind(LayerKind):
    """``Flatten`` (channels_last) and ``Reshape``."""

    family = "reshape"
    keras_classes = ("Flatten", "Reshape")
    supported = "Flatten of a channels_last feature map; Reshape to any shape of the same size"
    firmware = "exact (no arithmetic); io_stream repacks the stream"

    def check(self, layer) -> None:
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ModelError(
                f"Layer '{layer.name}' uses data_format='{layer.data_format}'; {CHANNELS_LAST_FIX}."
            )

    def steps(self, layer) -> list[Step]:
        return [Step(layer.name, None, None, int(math.prod(layer.output_shape[1:])))]

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import reshape_specs

        return reshape_specs(layer, current_type)
