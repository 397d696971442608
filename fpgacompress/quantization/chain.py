"""Rebuild a (Q)Keras MLP chain with some layers swapped, keeping names, order and the rest.

Trained ternary quantization, weight sharing and their export all swap ``QDense`` layers for
another kind of dense layer and back. The swap keeps every other layer object (the input
quantizer, the ``QActivation`` ReLUs, the softmax) so the new model computes exactly what the old
one did wherever nothing was swapped.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["rebuild_chain", "bias_quantizer_bits", "constant_qdense"]


def rebuild_chain(model, replace: Callable):
    """A new functional model where ``replace(layer)`` swaps a layer (or returns ``None`` to keep it).

    ``replace(layer) -> (new_layer, initialize)``: the new layer is called on its input, then
    ``initialize(new_layer)`` gives it its weights. Kept layers are the same objects (shared, not
    copied, as in :func:`~fpgacompress.firmware.hls_config.prepare_for_hls4ml`).
    """
    import tensorflow as tf

    layers = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    inputs = tf.keras.Input(shape=model.inputs[0].shape[1:], name=model.layers[0].name)
    x = inputs
    pending = []
    for layer in layers:
        swapped = replace(layer)
        if swapped is None:
            x = layer(x)
        else:
            new_layer, initialize = swapped
            x = new_layer(x)
            pending.append((new_layer, initialize))
    for new_layer, initialize in pending:
        initialize(new_layer)
    return tf.keras.Model(inputs, x, name=model.name)


def bias_quantizer_bits(layer) -> tuple[int, int] | None:
    """``(bits, integer)`` of a QDense's ``quantized_bits`` bias quantizer; ``None`` without one."""
    quantizer = getattr(layer, "bias_quantizer_internal", None)
    if quantizer is None or not getattr(layer, "use_bias", False):
        return None
    config = quantizer.get_config()
    return int(config["bits"]), int(config["integer"])


def constant_qdense(layer, kernel):
    """A QDense replacing ``layer`` (TTQ or codebook) whose weights are exactly ``kernel`` and its bias.

    The kernel quantizer is the layer's ``quantized_bits(weight_bits, weight_integer, alpha=1)``,
    which maps the grid values in ``kernel`` to themselves; zeros are held by a KernelMask so a
    further fine-tune of the export cannot regrow them.

    Returns:
        ``(qdense, initialize)`` for :func:`rebuild_chain`.
    """
    from qkeras import QDense, quantized_bits

    from ..pruning.mask import KernelMask

    kept = kernel != 0
    qdense = QDense(
        layer.units,
        use_bias=layer.use_bias,
        kernel_quantizer=quantized_bits(layer.weight_bits, layer.weight_integer, alpha=1),
        bias_quantizer=(
            quantized_bits(layer.bias_bits, layer.bias_integer, alpha=1)
            if layer.use_bias and layer.bias_bits is not None
            else None
        ),
        kernel_constraint=None if kept.all() else KernelMask(kept),
        name=layer.name,
    )

    def initialize(new_layer):
        new_layer.set_weights([kernel, layer.bias.numpy()] if layer.use_bias else [kernel])

    return qdense, initialize

