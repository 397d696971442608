"""The QKeras counterpart of one weighted layer (Dense or convolution), as the quantization spec sets it.

One home for what every weighted kind does the same way: the spec's weight and bias quantizers, the
pruned zeros held by a :class:`~fpgacompress.pruning.mask.KernelMask`, and a fused ReLU split into
``QActivation NAME_relu`` (the name hls4ml gives the split activation).
"""

from __future__ import annotations

__all__ = ["quantize_weighted_layer"]


def quantize_weighted_layer(quantized_class, layer, tensor, table, function, *shape, **layer_settings):
    """Apply ``quantized_class(*shape, **layer_settings)`` with ``layer``'s quantizers from ``table`` to ``tensor``.

    Args:
        quantized_class: ``QDense``, ``QConv1D`` or ``QConv2D``.
        layer: the float Keras layer; its weights are copied into the new layer afterwards.
        table: the resolved quantization spec.
        function: the layer's fused activation (``None``, ``relu`` or another kept as is).
        shape: the class's positional arguments (``units``; ``filters, kernel_size``).
        layer_settings: settings only this class has (strides, padding...).

    Returns:
        ``(tensor, copies)`` like :meth:`~fpgacompress.layer_kinds.base.LayerKind.quantize`.

    Raises:
        ConfigError: binary weights asked for a kernel with pruned (zero) weights.
    """
    from qkeras import QActivation

    from ..errors import ConfigError
    from ..pruning.mask import KernelMask

    precision = table.layers[layer.name]
    kept = layer.kernel.numpy() != 0
    if precision.weight.kind == "binary" and not kept.all():
        raise ConfigError(
            f"Layer '{layer.name}' has {int((~kept).sum())} pruned (zero) weights, but binary weights have "
            "no zero (binary maps 0 to +1). Use kind: ternary for pruned layers, or binary on a dense model."
        )
    quantized = quantized_class(
        *shape,
        use_bias=layer.use_bias,
        kernel_quantizer=precision.weight.build(),
        bias_quantizer=precision.bias.build() if layer.use_bias else None,
        kernel_initializer="zeros",  # the float weights are copied in afterwards
        kernel_regularizer=layer.kernel_regularizer,
        kernel_constraint=None if kept.all() else KernelMask(kept),
        activation="linear" if function in (None, "relu") else function,
        name=layer.name,
        **layer_settings,
    )
    tensor = quantized(tensor)
    if function == "relu":
        tensor = QActivation(table.layers[f"{layer.name}_relu"].activation.build(), name=f"{layer.name}_relu")(
            tensor
        )
    return tensor, [(quantized, layer)]
