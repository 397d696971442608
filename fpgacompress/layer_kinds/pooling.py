"""Pooling: ``MaxPooling`` / ``AveragePooling`` 1D/2D and ``GlobalAveragePooling`` 1D/2D (no weights)."""

from __future__ import annotations

from ..errors import ModelError
from .base import LayerKind

__all__ = ["PoolingKind"]


class PoolingKind(LayerKind):
    """Pooling layers: no weights to prune or quantize, copied as they are."""

    family = "pooling"
    keras_classes = (
        "MaxPooling1D",
        "MaxPooling2D",
        "AveragePooling1D",
        "AveragePooling2D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
    )
    supported = "channels_last"
    pruning = "kept (no weights)"
    quantization = "kept as is"
    firmware = "not built yet"

    def steps(self, layer):
        raise ModelError(
            f"Layer '{layer.name}' ({type(layer).__name__}): the firmware build of {self.family} layers is not "
            "available in this version; prune and quantize the model here, build it with a version that has it."
        )

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        # never a silent zero: a layer the estimator does not cost stops the estimate
        raise ModelError(
            f"Layer '{layer.name}' ({type(layer).__name__}): the resource estimator does not cost "
            f"{self.family} layers yet."
        )
