"""Flatten / Reshape: no arithmetic; in io_stream a repacking of the stream.

Minimal kind for the estimator; the rest of the flow's answers live with the convolution work of issue 17.
"""

from __future__ import annotations

import math

from .base import LayerKind, Step

__all__ = ["ReshapeKind"]


class ReshapeKind(LayerKind):
    """``Flatten`` / ``Reshape``: the same values in another shape."""

    family = "reshape"
    keras_classes = ("Flatten", "Reshape")
    supported = "any shape"
    firmware = "free in io_parallel; a stream repack in io_stream"

    def steps(self, layer) -> list[Step]:
        return [Step(layer.name, None, None, int(math.prod(layer.output_shape[1:])))]

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import reshape_specs

        return reshape_specs(layer, current_type)
