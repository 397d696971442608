"""Reshaping: ``Flatten`` and ``Reshape`` (no weights; ``channels_last`` order is kept)."""

from __future__ import annotations

from ..errors import ModelError
from .base import LayerKind

__all__ = ["ReshapeKind"]


class ReshapeKind(LayerKind):
    """``Flatten`` / ``Reshape``: copied as they are by pruning and quantization."""

    family = "reshape"
    keras_classes = ("Flatten", "Reshape")
    supported = "channels_last order"
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
