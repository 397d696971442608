"""Dropout: a training-time regularizer, the identity at inference; hls4ml drops it."""

from __future__ import annotations

from .base import LayerKind, Step

__all__ = ["DropoutKind"]


class DropoutKind(LayerKind):
    """``Dropout``: kept through pruning and quantization-aware training, absent from the firmware."""

    family = "dropout"
    keras_classes = ("Dropout",)
    supported = "any rate"
    pruning = "kept (ignored)"
    quantization = "kept (ignored)"
    firmware = "dropped by hls4ml (identity at inference)"

    def steps(self, layer) -> list[Step]:
        return []
