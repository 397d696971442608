"""The model input: a flat vector of features, or a channels_last sequence / image."""

from __future__ import annotations

from .base import LayerKind, Step

__all__ = ["InputKind"]


class InputKind(LayerKind):
    """The model's ``InputLayer``."""

    family = "input"
    keras_classes = ("InputLayer",)
    supported = "one input: (features,), or channels_last (length, channels) / (height, width, channels)"
    firmware = "input precision from the model's input QActivation(quantized_bits), else --input-precision"

    def steps(self, layer) -> list[Step]:
        return []
