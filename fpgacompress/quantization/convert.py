"""From a float Keras MLP to a QKeras one: ``Dense`` -> ``QDense``, ReLU -> ``QActivation``.

Convolutions become ``QConv1D`` / ``QConv2D`` the same way (spec layer types ``Conv1D`` / ``Conv2D``,
see :mod:`~fpgacompress.quantization.convolution`); pooling and ``Flatten`` are copied.
Batch norms and dropouts are kept as they are (fold a batch norm with ``build --ptq`` for
bit-exact firmware); a ``Dense(activation='relu')`` becomes ``QDense`` + ``QActivation NAME_relu``.

Layer names are kept (``fc1, relu1, ..., output``) so a spec, a pruning mask and the hls4ml
configuration all address the same layers. An input quantizer ``QActivation(quantized_bits)``
named ``input_quantizer`` follows the input, and the final softmax stays a float ``Activation``
named ``softmax``: hls4ml computes the logits bit-exact and the softmax with a lookup table.

Float weights are copied, and every kernel weight that is exactly zero (a pruned weight) is held
at zero by a :class:`~fpgacompress.pruning.mask.KernelMask` constraint set at build time, so
quantization-aware training cannot regrow it. ``quantized_bits`` (alpha=1) and ``ternary`` map
0 to 0; ``binary`` has no zero, so binary weights on a layer with pruned weights are refused.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
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


def _is_bottleneck(chain: list, position: int) -> bool:
    """A Dense with a linear output feeding another Dense directly (a low-rank factorized pair)."""
    layer = chain[position]
    return (
        position + 1 < len(chain)
        and layer_kind(layer) == "Dense"
        and getattr(layer.activation, "__name__", "linear") == "linear"
        and layer_kind(chain[position + 1]) == "Dense"
    )


def layer_kind(layer) -> str:
    """The quantization role of ``layer``: ``Input``, ``Dense``, ``Activation`` (a ReLU), or its class name.

    The role is what a :class:`QuantizationSpec`'s ``layer_type`` addresses; the layer's kind
    (:mod:`fpgacompress.layer_kinds`) decides it.
    """
    from ..layer_kinds import KINDS

    if type(layer).__name__ == "InputLayer":
        return "Input"
    kind = KINDS.get(type(layer).__name__)
    roles = dict(kind.quantizable_parts(layer)) if kind is not None else {}
    return roles.get(layer.name, type(layer).__name__)


def quantize(model, spec: QuantizationSpec | QuantizationTable):
    """A QKeras copy of a float MLP (plain, pruned or AutoPruner-reduced) quantized as ``spec`` says.

    Each layer's kind makes its QKeras counterpart: Dense -> QDense (a fused ReLU becomes its own
    ``QActivation`` named ``NAME_relu``, as hls4ml names it), ReLU -> QActivation; batch norm,
    dropout, softmax and linear layers are copied as they are.

    Raises:
        ModelError: the model is not a chain of supported layers (or is already QKeras, or still
            wrapped by TF-MOT pruning: call ``strip_pruning`` first).
        ConfigError: the spec names a layer the model lacks, or asks binary weights of a pruned layer.
    """
    import tensorflow as tf
    from qkeras import QActivation

    from ..layer_kinds import kind_of

    chain = layer_chain(model)
    table = spec.resolve(model) if isinstance(spec, QuantizationSpec) else spec

    inputs = tf.keras.Input(shape=model.input_shape[1:], name=_input_name(model))
    x = inputs
    if table.input is not None:
        x = QActivation(table.input.build(), name=INPUT_QUANTIZER_NAME)(x)
    copies = []
    for position, layer in enumerate(chain):
        x, made = kind_of(layer).quantize(layer, x, table)
        copies.extend(made)
        if _is_bottleneck(chain, position):
            # a low-rank bottleneck (Dense -> Dense): requantize its sum, or the next products grow
            # past float32's exact range
            x = QActivation(BOTTLENECK_PRECISION.build(), name=f"{layer.name}_quantizer")(x)
    quantized_model = tf.keras.Model(inputs, x, name=model.name)
    for quantized, layer in copies:
        quantized.set_weights(layer.get_weights())
    return quantized_model


def _input_name(model) -> str:
    first = model.layers[0]
    return first.name if layer_kind(first) == "Input" else "input"


def layer_chain(model) -> list:
    """The model's layers after the input, checked to be a single chain of supported float layers."""
    import tensorflow as tf

    from ..layer_kinds import kind_of

    if not isinstance(model, tf.keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"quantize needs a single-input, single-output Keras model; received {type(model).__name__}."
        )
    chain = [layer for layer in model.layers if layer_kind(layer) != "Input"]
    previous = model.inputs[0]
    for layer in chain:
        class_name = type(layer).__name__
        if class_name.startswith("Q") or class_name == "PruneLowMagnitude":
            hint = (
                "strip TF-MOT pruning first (tfmot.sparsity.keras.strip_pruning)"
                if class_name == "PruneLowMagnitude"
                else ("quantize the float model it came from")
            )
            raise ModelError(f"Layer '{layer.name}' is a {class_name}, not a float layer: {hint}.")
        try:
            kind_of(layer).check(layer)
        except ModelError as error:
            raise ModelError(f"{error} It cannot be quantized.") from None
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
