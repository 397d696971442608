"""Zero padding: ``ZeroPadding1D`` / ``ZeroPadding2D`` before a ``valid`` convolution or pooling."""

from __future__ import annotations

import math

from .base import LayerKind, Step
from .convolution import check_channels_last

__all__ = ["PaddingKind"]


class PaddingKind(LayerKind):
    """Zeros around a sequence or an image, ``channels_last``."""

    family = "padding"
    keras_classes = ("ZeroPadding1D", "ZeroPadding2D")
    supported = "channels_last; any padding on each side"
    firmware = "exact (zeros inserted in the stream)"

    def check(self, layer) -> None:
        check_channels_last(layer)

    def steps(self, layer) -> list[Step]:
        return [Step(layer.name, None, None, int(math.prod(layer.output_shape[1:])))]

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import reshape_specs

        return reshape_specs(layer, current_type)
