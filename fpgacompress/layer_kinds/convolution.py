"""Convolutions: Keras ``Conv1D`` / ``Conv2D`` and QKeras ``QConv1D`` / ``QConv2D``, ``channels_last``.

hls4ml builds a convolution as a stream of pixels (``io_stream``: one output pixel, all its filters,
per step of the line buffer) or as arrays (``io_parallel``). Like a Dense layer, a fused activation
is split into ``NAME`` and ``NAME_ACTIVATION``; the C-simulation compares the feature maps flattened
channels_last and row-major (``[row][column][filter]``), the order hls4ml's streams and arrays hold
them. ``DepthwiseConv2D`` / ``QDepthwiseConv2D`` with ``depth_multiplier=1`` are their own kind here
(measured bit-exact); separable convolutions are refused (``layer_kinds.ALTERNATIVES`` says what to
use: hls4ml 1.3.0 splits them into layers the C-simulation trace does not match).
"""

from __future__ import annotations

import math

from ..errors import ModelError
from .activation import activation_step, check_activation_function, tune_activation_step
from .base import LayerKind, Step, keras_activation_name, quantizer_name

__all__ = [
    "ConvolutionKind",
    "CONV_WEIGHT_QUANTIZERS",
    "CHANNELS_LAST_FIX",
    "check_channels_last",
    "check_convolution_settings",
    "DepthwiseConvolutionKind",
]

# QKeras kernel quantizers whose products hls4ml types exactly in a convolution (binary and po2
# weights need the accumulator sized by hand, as dense.py does for Dense; not done for convolutions)
CONV_WEIGHT_QUANTIZERS = ("quantized_bits", "ternary")
FLOAT_WEIGHTS = "float weights: hls4ml rounds them to a fixed-point type"
CHANNELS_LAST_FIX = (
    "hls4ml streams each pixel with its channels together, so the firmware flow needs channels_last: "
    "rebuild the model with data_format='channels_last' (the Keras default) and inputs shaped (..., channels)"
)


def check_channels_last(layer) -> None:
    """Refuse a ``channels_first`` layer in one line naming it."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ModelError(f"Layer '{layer.name}' uses data_format='{layer.data_format}'; {CHANNELS_LAST_FIX}.")


def check_convolution_settings(layer, fused_activation: str | None, weight_role: str) -> None:
    """Refuse a convolution setting hls4ml cannot build (or would build differently), naming the layer.

    ``weight_role`` is the QKeras quantizer of the weights: ``kernel_quantizer``, or
    ``depthwise_quantizer`` for a depthwise convolution.
    """
    check_channels_last(layer)
    name = layer.name
    if any(int(rate) != 1 for rate in layer.dilation_rate):
        raise ModelError(
            f"Layer '{name}' has dilation_rate={tuple(layer.dilation_rate)}, which hls4ml ignores (it would "
            "build a different network); use dilation_rate=1, e.g. a larger kernel or a pooling layer."
        )
    if int(getattr(layer, "groups", 1)) != 1:
        raise ModelError(
            f"Layer '{name}' has groups={layer.groups}, which hls4ml does not build; use groups=1."
        )
    if layer.padding not in ("valid", "same"):
        raise ModelError(
            f"Layer '{name}' has padding='{layer.padding}'; the firmware build supports 'valid' and 'same' "
            "(put a ZeroPadding1D before a 'valid' convolution for causal padding)."
        )
    if len(set(int(stride) for stride in layer.strides)) != 1:
        raise ModelError(
            f"Layer '{name}' has strides={tuple(layer.strides)}; hls4ml's convolutions need the same stride "
            "along every axis, e.g. strides=(2, 2)."
        )
    check_activation_function(name, keras_activation_name(layer.activation))
    if fused_activation not in (None, "relu"):
        raise ModelError(
            f"Layer '{name}' has activation '{fused_activation}' inside a convolution; hls4ml computes it with a "
            "lookup table on every pixel. Use relu or linear, and put softmax / sigmoid on the Dense output."
        )
    if not type(layer).__name__.startswith("Q"):
        return
    for role in (weight_role, "bias_quantizer"):
        quantizer = quantizer_name(getattr(layer, f"{role}_internal", None) or getattr(layer, role, None))
        if quantizer is not None and quantizer not in CONV_WEIGHT_QUANTIZERS:
            raise ModelError(
                f"Layer '{name}' uses {role} '{quantizer}', which the bit-exact flow does not support in a "
                f"convolution. Supported: {', '.join(CONV_WEIGHT_QUANTIZERS)}."
            )
    if quantizer_name(getattr(layer, f"{weight_role}_internal", None)) is None:
        raise ModelError(
            f"Layer '{name}' ({type(layer).__name__}) has no {weight_role}; give it quantized_bits(...)."
        )


def _n_outputs(layer) -> int:
    return int(math.prod(layer.output_shape[1:]))


def fused_activation(layer) -> str | None:
    """The activation inside a convolution, or ``None`` for linear."""
    function = keras_activation_name(layer.activation)
    return None if function == "linear" else function


class _SlidingWindowKind(LayerKind):
    """What a convolution and a depthwise convolution share: their steps, reference and activation typing."""

    def steps(self, layer) -> list[Step]:
        """The convolution ``NAME`` and, with a fused activation, ``NAME_ACTIVATION``, as hls4ml splits them."""
        n_out = _n_outputs(layer)
        quantized = type(layer).__name__.startswith("Q")
        steps = [Step(layer.name, None, None if quantized else FLOAT_WEIGHTS, n_out)]
        function = fused_activation(layer)
        if function is not None:
            steps.append(activation_step(f"{layer.name}_{function}", function, n_out))
        return steps

    def reference(self, layer, tensor) -> list[tuple[str, object]]:
        """Keras' pre-activation feature map (and the activation's output), like for like with the trace."""
        function = fused_activation(layer)
        if function is None:
            return [(layer.name, layer(tensor, training=False))]
        # the same layer with a linear activation computes exactly the pre-activation Keras computes
        linear = type(layer).from_config({**layer.get_config(), "activation": "linear"})
        linear.build(tensor.shape)
        linear.set_weights(layer.get_weights())
        maps = linear(tensor, training=False)
        return [(layer.name, maps), (f"{layer.name}_{function}", layer.activation(maps))]

    def hls_settings(self, layer, hls_config: dict, previous_step: str | None) -> None:
        for step in self.steps(layer)[1:]:
            tune_activation_step(step, hls_config)


class ConvolutionKind(_SlidingWindowKind):
    """``Conv1D`` / ``Conv2D`` / ``QConv1D`` / ``QConv2D`` with a fused activation or none."""

    family = "convolution"
    keras_classes = ("Conv1D", "Conv2D", "QConv1D", "QConv2D")
    supported = (
        "channels_last; padding valid / same; equal strides; no dilation, no groups; fused activation relu / "
        "linear; QConv weights quantized_bits, ternary"
    )
    pruning = "magnitude / OBD / resource on kernel weights (reuse factor 1); AutoPruner on filters (output channels), reduced export"
    quantization = "QConv1D / QConv2D (quantized_bits / ternary); a fused relu becomes QActivation NAME_relu"
    firmware = (
        "io_stream (line buffer, one output pixel per step; ConvImplementation LineBuffer / Encoded) or "
        "io_parallel; exact with QKeras quantizers, float weights rounded; fused activation split into "
        "NAME_ACTIVATION; feature maps compared channels_last row-major"
    )

    def check(self, layer) -> None:
        check_convolution_settings(layer, self.fused_activation(layer), "kernel_quantizer")

    def fused_activation(self, layer) -> str | None:
        """The activation inside the layer, or ``None`` for linear."""
        return fused_activation(layer)

    def multiplier_shape(self, layer) -> tuple[int, int]:
        """``(n_in, n_out)`` hls4ml validates a convolution's reuse factor with: kernel x channels, filters."""
        kernel = math.prod(int(size) for size in layer.kernel_size)
        return kernel * int(layer.input_shape[-1]), int(layer.filters)

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import convolution_specs

        return convolution_specs(self, layer, current_type, default_type, reuse_factor)

    def prunable(self, layer) -> bool:
        return True

    def quantizable_parts(self, layer) -> list[tuple[str, str]]:
        from ..quantization.convolution import convolution_role

        parts = [(layer.name, convolution_role(layer))]
        if self.fused_activation(layer) == "relu":
            parts.append((f"{layer.name}_relu", "Activation"))
        return parts

    def quantize(self, layer, tensor, table):
        from ..quantization.convolution import quantize_convolution

        return quantize_convolution(layer, tensor, table)


class DepthwiseConvolutionKind(_SlidingWindowKind):
    """``DepthwiseConv2D`` / ``QDepthwiseConv2D``: one filter per channel (``depth_multiplier=1``).

    Measured with hls4ml 1.3.0: bit-exact with ``depth_multiplier=1``; with 2, the io_parallel firmware
    aborts on an assertion and the io_stream one differs from Keras, so that is refused. Not pruned or
    quantized by fpgacompress (build it from QKeras ``QDepthwiseConv2D``).
    """

    family = "depthwise_convolution"
    keras_classes = ("DepthwiseConv2D", "QDepthwiseConv2D")
    supported = (
        "channels_last; depth_multiplier=1; padding valid / same; equal strides; no dilation; fused activation "
        "relu / linear; QDepthwiseConv2D weights quantized_bits, ternary"
    )
    firmware = (
        "exact with QKeras quantizers, float weights rounded; feature maps compared channels_last row-major"
    )

    def check(self, layer) -> None:
        check_convolution_settings(layer, fused_activation(layer), "depthwise_quantizer")
        if int(layer.depth_multiplier) != 1:
            raise ModelError(
                f"Layer '{layer.name}' has depth_multiplier={layer.depth_multiplier}; hls4ml 1.3.0 builds depthwise "
                "convolutions with depth_multiplier=1 only (measured: io_parallel aborts, io_stream differs from "
                "Keras). Use depth_multiplier=1, followed by a 1x1 Conv2D for more channels."
            )

    def multiplier_shape(self, layer) -> tuple[int, int]:
        """``(kernel x channels, channels x depth_multiplier)``: hls4ml's reuse-factor shape for it."""
        channels = int(layer.input_shape[-1])
        kernel = math.prod(int(size) for size in layer.kernel_size)
        return kernel * channels, channels * int(layer.depth_multiplier)
