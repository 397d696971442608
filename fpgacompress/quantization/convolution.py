"""Quantizing convolutions: ``Conv1D`` / ``Conv2D`` -> QKeras ``QConv1D`` / ``QConv2D``, zeros kept.

The convolution kind (:mod:`fpgacompress.layer_kinds.convolution`) asks this module, so that the
layer kinds stay small: how a convolution is addressed by a quantization spec (its role is its
Keras class without the ``Q``: ``Conv1D`` or ``Conv2D``, as hls4ml's per-type configuration names
it) and how its QKeras counterpart is made.

As for Dense layers, a fused ReLU becomes its own ``QActivation`` named ``NAME_relu`` (the name
hls4ml gives the split activation), the kernel's exact zeros (pruned weights, of a kernel of any
rank) are held by a :class:`~fpgacompress.pruning.mask.KernelMask` built with the layer, and
binary weights are refused on a pruned kernel (binary has no zero).
"""

from __future__ import annotations

from ..errors import ConfigError, ModelError

__all__ = ["CONVOLUTION_ROLES", "convolution_role", "fused_activation", "quantize_convolution"]

CONVOLUTION_ROLES = ("Conv1D", "Conv2D")
_QKERAS_CLASSES = {"Conv1D": "QConv1D", "Conv2D": "QConv2D"}


def convolution_role(layer) -> str:
    """``Conv1D`` for ``Conv1D`` / ``QConv1D``, ``Conv2D`` for ``Conv2D`` / ``QConv2D``."""
    return type(layer).__name__.removeprefix("Q")


def fused_activation(layer) -> str | None:
    """The activation inside the convolution, or ``None`` for linear."""
    from ..layer_kinds.base import keras_activation_name

    function = keras_activation_name(layer.activation)
    return None if function == "linear" else function


def quantize_convolution(layer, tensor, table):
    """Apply the QKeras copy of the float convolution ``layer`` to ``tensor``.

    Returns ``(tensor, copies)`` like :meth:`~fpgacompress.layer_kinds.base.LayerKind.quantize`.

    Raises:
        ConfigError: binary weights asked for a kernel with pruned (zero) weights.
        ModelError: a ``channels_first`` convolution.
    """
    import qkeras
    from qkeras import QActivation

    from ..pruning.mask import KernelMask

    if layer.get_config().get("data_format") == "channels_first":
        raise ModelError(
            f"Layer '{layer.name}' is channels_first; hls4ml builds channels_last convolutions. Rebuild the "
            "model with data_format='channels_last' (the default) and transpose the inputs."
        )
    precision = table.layers[layer.name]
    kept = layer.kernel.numpy() != 0
    if precision.weight.kind == "binary" and not kept.all():
        raise ConfigError(
            f"Layer '{layer.name}' has {int((~kept).sum())} pruned (zero) weights, but binary weights have "
            "no zero (binary maps 0 to +1). Use kind: ternary for pruned layers, or binary on a dense model."
        )
    function = fused_activation(layer)
    config = layer.get_config()
    quantized_class = getattr(qkeras, _QKERAS_CLASSES[convolution_role(layer)])
    quantized = quantized_class(
        config["filters"],
        config["kernel_size"],
        strides=config["strides"],
        padding=config["padding"],
        data_format=config.get("data_format") or "channels_last",
        dilation_rate=config["dilation_rate"],
        use_bias=layer.use_bias,
        kernel_quantizer=precision.weight.build(),
        bias_quantizer=precision.bias.build() if layer.use_bias else None,
        kernel_initializer="zeros",  # the float weights are copied in afterwards
        kernel_regularizer=layer.kernel_regularizer,
        kernel_constraint=None if kept.all() else KernelMask(kept),
        activation="linear" if function in (None, "relu") else function,
        name=layer.name,
    )
    tensor = quantized(tensor)
    if function == "relu":
        tensor = QActivation(
            table.layers[f"{layer.name}_relu"].activation.build(), name=f"{layer.name}_relu"
        )(tensor)
    return tensor, [(quantized, layer)]
