"""Fully connected layers: Keras ``Dense`` and QKeras ``QDense``, with or without a fused activation.

hls4ml splits ``Dense(5, activation='softmax')`` into the Dense ``NAME`` (its output: the logits)
and an activation layer ``NAME_softmax``. Everything here follows that split, so a fused
activation is handled exactly like a separate ``Activation`` layer: the same hls4ml settings
(the softmax tables), and the C-simulation compares the Dense's pre-activation output with Keras'
pre-activation output.
"""

from __future__ import annotations

import math
import re

from ..errors import ModelError
from .activation import activation_step, check_activation_function, tune_activation_step
from .base import LayerKind, Step, keras_activation_name, quantizer_name

__all__ = ["DenseKind", "WEIGHT_QUANTIZERS", "binary_dense_precision", "po2_dense_precision"]

# QKeras weight quantizer -> note for the table (all are exact in hls4ml)
WEIGHT_QUANTIZERS = {
    "quantized_bits": "fixed point (alpha=1)",
    "quantized_po2": "powers of two: multiplications become shifts (accumulator sized exactly)",
    "ternary": "-1, 0, +1",
    "binary": "-1, +1 (accumulator sized exactly)",
}
FLOAT_WEIGHTS = "float weights: hls4ml rounds them to a fixed-point type"


def _parse_fixed(precision: str) -> tuple[bool, int, int] | None:
    """``fixed<16,6,...>`` -> (signed, width, integer bits); ``None`` for anything else (``auto``)."""
    match = re.fullmatch(r"(u?)fixed<(\d+),(-?\d+)(,.*)?>", precision.replace(" ", ""))
    if match is None:
        return None
    return match.group(1) != "u", int(match.group(2)), int(match.group(3))


def binary_dense_precision(n_in: int, input_precision: str, bias_precision: str) -> str:
    """An exact result type for a Dense layer with binary (+-1) weights.

    hls4ml's automatic type inference does not handle binary (XNOR) weights and falls back to the
    model default ``fixed<16,6>``, which silently wraps. The sum of ``n_in`` terms ``+-x`` plus the
    bias needs the larger fractional part and enough integer bits for ``n_in x max|x| + max|bias|``.

    Example:
        >>> binary_dense_precision(16, "ufixed<8,3,RND_CONV,SAT>", "fixed<6,1>")
        'fixed<14,9>'
    """
    parsed_input, parsed_bias = _parse_fixed(input_precision), _parse_fixed(bias_precision)
    if parsed_input is None or parsed_bias is None:
        raise ModelError(
            f"Binary weights need a fixed-point input and bias to size the accumulator exactly. "
            f"Received input {input_precision}, bias {bias_precision}: put a QActivation before the layer."
        )
    input_signed, input_width, input_integer = parsed_input
    _, bias_width, bias_integer = parsed_bias
    largest = n_in * 2.0 ** (input_integer - int(input_signed)) + 2.0 ** (bias_integer - 1)
    integer = math.ceil(math.log2(largest)) + 1  # + sign bit
    fractional = max(input_width - input_integer, bias_width - bias_integer)
    return f"fixed<{integer + fractional},{integer}>"


def po2_dense_precision(input_precision: str, bias_precision: str, kernel) -> str:
    """An exact result type for a Dense layer with power-of-two weights (``quantized_po2``).

    hls4ml multiplies by shifting but does not infer the sum's type for exponent weights and falls
    back to ``fixed<16,6>``. Shifting right by up to ``-min(exponent)`` bits adds as many fractional
    bits; the integer bits cover the largest possible ``sum |w| x max|x| + max|bias|`` of any output.

    Example:
        >>> po2_dense_precision("ufixed<8,3>", "fixed<8,2>", [[0.5, -0.25], [1.0, 0.125]])
        'fixed<13,5>'
    """
    import numpy as np

    parsed_input, parsed_bias = _parse_fixed(input_precision), _parse_fixed(bias_precision)
    if parsed_input is None or parsed_bias is None:
        raise ModelError(
            f"Power-of-two weights need a fixed-point input and bias to size the accumulator exactly. "
            f"Received input {input_precision}, bias {bias_precision}: put a QActivation before the layer."
        )
    input_signed, input_width, input_integer = parsed_input
    _, bias_width, bias_integer = parsed_bias
    magnitudes = np.abs(np.asarray(kernel, dtype=np.float64))
    nonzero = magnitudes[magnitudes > 0]
    smallest_exponent = int(np.floor(np.log2(nonzero.min()))) if nonzero.size else 0
    largest = magnitudes.sum(axis=0).max() * 2.0 ** (input_integer - int(input_signed)) + 2.0 ** (
        bias_integer - 1
    )
    integer = math.ceil(math.log2(max(largest, 1.0))) + 1  # + sign bit
    fractional = max(input_width - input_integer - min(smallest_exponent, 0), bias_width - bias_integer)
    return f"fixed<{integer + fractional},{integer}>"


def _kernel_quantizer(layer):
    # the *_internal attribute is the live quantizer; the plain one may be its serialized form
    return getattr(layer, "kernel_quantizer_internal", None) or getattr(layer, "kernel_quantizer", None)


class DenseKind(LayerKind):
    """``Dense`` / ``QDense``: the only layers with weights to prune and quantize."""

    family = "dense"
    keras_classes = ("Dense", "QDense")
    supported = (
        "any width; fused activation relu / linear / softmax / sigmoid / tanh; QDense weights "
        + ", ".join(WEIGHT_QUANTIZERS)
    )
    pruning = (
        "magnitude pruning and TF-MOT (kernel); AutoPruner (nodes) on chains of Dense and activations only"
    )
    quantization = "QDense (quantized_bits / ternary / binary); a fused relu becomes QActivation NAME_relu"
    firmware = "exact with QKeras quantizers; float weights are rounded (not bit-exact); fused activation split into NAME_ACTIVATION"

    def check(self, layer) -> None:
        check_activation_function(layer.name, keras_activation_name(layer.activation))
        if type(layer).__name__ != "QDense":
            return
        for role in ("kernel_quantizer", "bias_quantizer"):
            name = quantizer_name(getattr(layer, f"{role}_internal", None) or getattr(layer, role, None))
            if name is not None and name not in WEIGHT_QUANTIZERS:
                raise ModelError(
                    f"Layer '{layer.name}' uses {role} '{name}', which the bit-exact flow does not support. "
                    f"Supported weight quantizers: {', '.join(WEIGHT_QUANTIZERS)}."
                )
        if quantizer_name(getattr(layer, "kernel_quantizer_internal", None)) is None:
            raise ModelError(
                f"Layer '{layer.name}' (QDense) has no kernel_quantizer; give it quantized_bits(...)."
            )

    def fused_activation(self, layer) -> str | None:
        """The activation inside the layer, or ``None`` for linear."""
        function = keras_activation_name(layer.activation)
        return None if function == "linear" else function

    def steps(self, layer) -> list[Step]:
        n_out = int(layer.units)
        quantized = type(layer).__name__ == "QDense"
        steps = [Step(layer.name, None, None if quantized else FLOAT_WEIGHTS, n_out)]
        function = self.fused_activation(layer)
        if function is not None:
            steps.append(activation_step(f"{layer.name}_{function}", function, n_out))
        return steps

    def reference(self, layer, tensor) -> list[tuple[str, object]]:
        function = self.fused_activation(layer)
        if function is None:
            return [(layer.name, layer(tensor, training=False))]
        # the same layer with a linear activation computes exactly the pre-activation Keras computes
        linear = type(layer).from_config({**layer.get_config(), "activation": "linear"})
        linear.build(tensor.shape)
        linear.set_weights(layer.get_weights())
        logits = linear(tensor, training=False)
        return [(layer.name, logits), (f"{layer.name}_{function}", layer.activation(logits))]

    def prunable(self, layer) -> bool:
        return True

    def quantizable_parts(self, layer) -> list[tuple[str, str]]:
        parts = [(layer.name, "Dense")]
        if self.fused_activation(layer) == "relu":
            parts.append((f"{layer.name}_relu", "Activation"))
        return parts

    def quantize(self, layer, tensor, table):
        from qkeras import QDense

        from ..quantization.weighted import quantize_weighted_layer

        return quantize_weighted_layer(QDense, layer, tensor, table, self.fused_activation(layer), layer.units)

    def hls_settings(self, layer, hls_config: dict, previous_step: str | None) -> None:
        layers = hls_config["LayerName"]
        quantizer = _kernel_quantizer(layer)
        if type(quantizer).__name__ in ("binary", "quantized_po2") and previous_step is not None:
            layer_config = layers[layer.name]
            input_precision = layers[previous_step]["Precision"]["result"]
            bias_precision = layer_config["Precision"]["bias"]
            if type(quantizer).__name__ == "binary":
                precision = binary_dense_precision(
                    int(layer.kernel.shape[0]), input_precision, bias_precision
                )
            else:
                precision = po2_dense_precision(
                    input_precision, bias_precision, quantizer(layer.kernel).numpy()
                )
            layer_config["Precision"]["accum"] = precision
            layer_config["Precision"]["result"] = precision
            # hls4ml keeps the Dense's linear activation as its own layer here; it must not narrow the sum
            linear = layers.get(f"{layer.name}_linear")
            if linear is not None:
                linear["Precision"]["result"] = precision
        for step in self.steps(layer)[1:]:
            tune_activation_step(step, hls_config)

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        import numpy as np

        from ..estimation.keras_reader import quantizer_type
        from ..estimation.layers import ActivationSpec, DenseSpec

        kernel = np.asarray(layer.get_weights()[0])
        quantizer = getattr(layer, "kernel_quantizer_internal", None)
        if quantizer is not None:
            kernel = np.asarray(quantizer(kernel))
        specs = [
            DenseSpec(
                name=layer.name,
                weights=kernel,
                input_type=current_type,
                weight_type=quantizer_type(quantizer, default_type),
                accum_type=default_type,
                reuse_factor=reuse_factor,
            )
        ]
        for step in self.steps(layer)[1:]:
            specs.append(ActivationSpec(step.name, step.function, step.n_outputs, default_type, default_type))
        return specs, default_type
