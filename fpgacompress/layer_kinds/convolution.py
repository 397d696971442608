"""Convolutions: ``Conv1D`` / ``Conv2D`` / ``QConv1D`` / ``QConv2D`` (channels last).

Minimal kind for the estimator (``fpgacompress report MODEL``); the build, pruning, quantization and
csim answers live with the convolution work of issue 17.
"""

from __future__ import annotations

import math

from .activation import activation_step
from .base import LayerKind, Step, keras_activation_name

__all__ = ["ConvolutionKind"]


class ConvolutionKind(LayerKind):
    """A convolution: hls4ml's dense kernel over (kernel x in-channels) -> filters, once per output pixel."""

    family = "convolution"
    keras_classes = ("Conv1D", "Conv2D", "QConv1D", "QConv2D")
    supported = "channels_last, any kernel / stride, valid or same padding, fused activation"
    firmware = "io_stream line buffer (LineBuffer / Encoded) or io_parallel; one output pixel per II cycles"

    def fused_activation(self, layer) -> str | None:
        function = keras_activation_name(layer.activation)
        return None if function == "linear" else function

    def steps(self, layer) -> list[Step]:
        n_out = int(math.prod(layer.output_shape[1:]))
        steps = [Step(layer.name, None, None, n_out)]
        function = self.fused_activation(layer)
        if function is not None:
            steps.append(activation_step(f"{layer.name}_{function}", function, n_out))
        return steps

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import convolution_specs

        return convolution_specs(self, layer, current_type, default_type, reuse_factor)
