"""The model input: one flat vector of features."""

from __future__ import annotations

from .base import LayerKind, Step

__all__ = ["InputKind"]


class InputKind(LayerKind):
    """The model's ``InputLayer``: a flat feature vector."""

    family = "input"
    keras_classes = ("InputLayer",)
    supported = "one flat input of any number of features"
    firmware = "input precision from the model's input QActivation(quantized_bits), else --input-precision"

    def steps(self, layer) -> list[Step]:
        return []
