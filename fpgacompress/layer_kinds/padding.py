"""ZeroPadding1D / ZeroPadding2D: zeros around the feature map.

Minimal kind for the estimator; the rest of the flow's answers live with the convolution work of issue 17.
"""

from __future__ import annotations

import math

from .base import LayerKind, Step

__all__ = ["PaddingKind"]


class PaddingKind(LayerKind):
    """``ZeroPadding1D`` / ``ZeroPadding2D``: one word per output pixel, zeros at the border."""

    family = "padding"
    keras_classes = ("ZeroPadding1D", "ZeroPadding2D")
    supported = "any padding, channels_last"
    firmware = "nnet::zeropad (io_stream or io_parallel)"

    def steps(self, layer) -> list[Step]:
        return [Step(layer.name, None, None, int(math.prod(layer.output_shape[1:])))]

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import reshape_specs

        return reshape_specs(layer, current_type)
