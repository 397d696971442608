"""Pooling: Max / Average pooling 1D / 2D and their global forms (channels last).

Minimal kind for the estimator; the rest of the flow's answers live with the convolution work of issue 17.
"""

from __future__ import annotations

import math

from .base import LayerKind, Step

__all__ = ["PoolingKind"]


class PoolingKind(LayerKind):
    """A pooling layer: a comparator / adder tree per channel behind a line buffer."""

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
    supported = "channels_last, any pool size / stride"
    firmware = "nnet::pooling (io_stream line buffer or io_parallel)"

    def steps(self, layer) -> list[Step]:
        return [Step(layer.name, None, None, int(math.prod(layer.output_shape[1:])))]

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import pooling_specs

        return pooling_specs(layer, current_type)
