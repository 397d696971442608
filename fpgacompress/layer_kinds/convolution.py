"""Convolutions: Keras ``Conv1D`` / ``Conv2D`` and QKeras ``QConv1D`` / ``QConv2D`` (``channels_last``).

Pruning and quantization treat a convolution like a Dense layer whose kernel has more axes
(``kernel_size... x in_channels x filters``): the magnitude and OBD criteria score every kernel
weight (the resource criterion and reuse-factor patterns are Dense-only and refuse convolutions), a :class:`~fpgacompress.pruning.mask.KernelMask` keeps the zeros, and quantization makes the
QKeras layer (:mod:`fpgacompress.quantization.convolution`). AutoPruner masks whole filters.
"""

from __future__ import annotations

from ..errors import ModelError
from .base import LayerKind

__all__ = ["ConvolutionKind"]

_WEIGHTED = ("Conv1D", "Conv2D", "QConv1D", "QConv2D")


class ConvolutionKind(LayerKind):
    """``Conv1D`` / ``Conv2D`` / ``QConv1D`` / ``QConv2D``."""

    family = "convolution"
    keras_classes = _WEIGHTED
    supported = "channels_last; fused activation split into NAME_ACTIVATION"
    pruning = "magnitude / OBD on kernel weights (reuse factor 1); AutoPruner on filters (output channels), reduced export"
    quantization = (
        "QConv1D / QConv2D (quantized_bits / ternary / binary); a fused relu becomes QActivation NAME_relu"
    )
    firmware = "not built yet"

    def prunable(self, layer) -> bool:
        return type(layer).__name__ in _WEIGHTED

    def quantizable_parts(self, layer) -> list[tuple[str, str]]:
        from ..quantization.convolution import convolution_role, fused_activation

        parts = [(layer.name, convolution_role(layer))]
        if fused_activation(layer) == "relu":
            parts.append((f"{layer.name}_relu", "Activation"))
        return parts

    def quantize(self, layer, tensor, table):
        from ..quantization.convolution import quantize_convolution

        return quantize_convolution(layer, tensor, table)

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
