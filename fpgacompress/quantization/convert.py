"""From a float Keras MLP to a QKeras one: ``Dense`` -> ``QDense``, ReLU -> ``QActivation``.

Layer names are kept (``fc1, relu1, ..., output``) so a spec, a pruning mask and the hls4ml
configuration all address the same layers. An input quantizer ``QActivation(quantized_bits)``
named ``input_quantizer`` follows the input, and the final softmax stays a float ``Activation``
named ``softmax``: hls4ml computes the logits bit-exact and the softmax with a lookup table.

Float weights are copied, and every kernel weight that is exactly zero (a pruned weight) is held
at zero by a :class:`~fpgacompress.pruning.mask.KernelMask` constraint set at build time, so
quantization-aware training cannot regrow it. ``quantized_bits`` (alpha=1) and ``ternary`` map
0 to 0; ``binary`` has no zero, so binary weights on a layer with pruned weights are refused.

Example:
    >>> qmodel = quantize(pruned_model, QuantizationSpec.uniform(6))
    >>> [layer.name for layer in qmodel.layers]
    ['input', 'input_quantizer', 'fc1', 'relu1', 'fc2', 'relu2', 'fc3', 'relu3', 'output', 'softmax']
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, ModelError
from .spec import FixedPoint, QuantizationSpec, QuantizationTable

__all__ = [
    "quantize",
    "quantized_kernel",
    "layer_chain",
    "layer_kind",
    "INPUT_QUANTIZER_NAME",
    "BOTTLENECK_PRECISION",
]

INPUT_QUANTIZER_NAME = "input_quantizer"
# hls4ml's default fixed<16,6>: a low-rank bottleneck's range is not known before training
BOTTLENECK_PRECISION = FixedPoint(bits=16, integer=5)
_SUPPORTED = "an input, Dense layers (linear activation) and Activation layers (relu, softmax, linear)"


def layer_kind(layer) -> str:
    """``Input``, ``Dense``, ``Activation`` (a ReLU), ``Softmax``, ``Linear`` or the class name (unsupported)."""
    import tensorflow as tf

    if isinstance(layer, tf.keras.layers.InputLayer):
        return "Input"
    if type(layer) is tf.keras.layers.Dense:
        return "Dense"
    if type(layer) is tf.keras.layers.Activation:
        activation = tf.keras.activations.serialize(layer.activation)
        activation = (
            activation if isinstance(activation, str) else activation.get("config", {}).get("name", "")
        )
        return {"relu": "Activation", "softmax": "Softmax", "linear": "Linear"}.get(
            activation, f"Activation({activation})"
        )
    return type(layer).__name__


def quantize(model, spec: QuantizationSpec | QuantizationTable):
    """A QKeras copy of a float MLP (plain, pruned or AutoPruner-reduced) quantized as ``spec`` says.

    Raises:
        ModelError: the model is not a chain of Dense / Activation layers (or is already QKeras,
            or still wrapped by TF-MOT pruning: call ``strip_pruning`` first).
        ConfigError: the spec names a layer the model lacks, or asks binary weights of a pruned layer.
    """
    import tensorflow as tf
    from qkeras import QActivation, QDense

    from ..pruning.mask import KernelMask

    chain = layer_chain(model)
    table = spec.resolve(model) if isinstance(spec, QuantizationSpec) else spec

    inputs = tf.keras.Input(shape=model.input_shape[1:], name=_input_name(model))
    x = inputs
    if table.input is not None:
        x = QActivation(table.input.build(), name=INPUT_QUANTIZER_NAME)(x)
    copies = []
    for position, layer in enumerate(chain):
        kind = layer_kind(layer)
        if kind == "Dense":
            precision = table.layers[layer.name]
            kernel = layer.kernel.numpy()
            kept = kernel != 0
            if precision.weight.kind == "binary" and not kept.all():
                raise ConfigError(
                    f"Layer '{layer.name}' has {int((~kept).sum())} pruned (zero) weights, but binary weights have "
                    "no zero (binary maps 0 to +1). Use kind: ternary for pruned layers, or binary on a dense model."
                )
            quantized = QDense(
                layer.units,
                use_bias=layer.use_bias,
                kernel_quantizer=precision.weight.build(),
                bias_quantizer=precision.bias.build() if layer.use_bias else None,
                kernel_initializer="zeros",  # the float weights are copied in below
                kernel_regularizer=layer.kernel_regularizer,
                kernel_constraint=None if kept.all() else KernelMask(kept),
                name=layer.name,
            )
            x = quantized(x)
            copies.append((quantized, layer))
            if position + 1 < len(chain) and layer_kind(chain[position + 1]) == "Dense":
                # a low-rank bottleneck (Dense -> Dense): requantize its sum, or the next products grow
                # past float32's exact range
                x = QActivation(BOTTLENECK_PRECISION.build(), name=f"{layer.name}_quantizer")(x)
        elif kind == "Activation":
            x = QActivation(table.layers[layer.name].activation.build(), name=layer.name)(x)
        else:  # softmax and linear stay float
            x = tf.keras.layers.Activation(layer.activation, name=layer.name)(x)
    quantized_model = tf.keras.Model(inputs, x, name=model.name)
    for quantized, layer in copies:
        quantized.set_weights(layer.get_weights())
    return quantized_model


def _input_name(model) -> str:
    first = model.layers[0]
    return first.name if layer_kind(first) == "Input" else "input"


def layer_chain(model) -> list:
    """The model's layers after the input, checked to be a single chain of supported layers."""
    import tensorflow as tf

    if not isinstance(model, tf.keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"quantize needs a single-input, single-output Keras model; received {type(model).__name__}."
        )
    chain = [layer for layer in model.layers if layer_kind(layer) != "Input"]
    previous = model.inputs[0]
    for layer in chain:
        kind = layer_kind(layer)
        if kind.startswith("Q") or kind == "PruneLowMagnitude":
            hint = (
                "strip TF-MOT pruning first (tfmot.sparsity.keras.strip_pruning)"
                if kind == "PruneLowMagnitude"
                else ("quantize the float model it came from")
            )
            raise ModelError(f"Layer '{layer.name}' is a {kind}, not a float layer: {hint}.")
        if kind not in ("Dense", "Activation", "Softmax", "Linear"):
            raise ModelError(
                f"Layer '{layer.name}' ({kind}) cannot be quantized: supported are {_SUPPORTED}."
            )
        if kind == "Dense" and tf.keras.activations.serialize(layer.activation) != "linear":
            raise ModelError(
                f"Dense layer '{layer.name}' has a built-in activation; quantize needs Dense(activation=None) followed "
                "by a separate Activation layer (as build_mlp makes), so the ReLU can be quantized on its own."
            )
        if layer.input is not previous:
            raise ModelError(
                f"Layer '{layer.name}' does not follow the previous layer: only plain chains (MLPs) are supported."
            )
        previous = layer.output
    return chain


def quantized_kernel(layer) -> np.ndarray:
    """The kernel values the firmware holds: the quantizer applied to the float kernel (float layers: as is)."""
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    kernel = layer.kernel
    return np.asarray(quantizer(kernel).numpy() if quantizer is not None else kernel.numpy())
