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

__all__ = ["CONVOLUTION_ROLES", "convolution_role", "quantize_convolution"]

CONVOLUTION_ROLES = ("Conv1D", "Conv2D")
_QKERAS_CLASSES = {"Conv1D": "QConv1D", "Conv2D": "QConv2D"}


def convolution_role(layer) -> str:
    """``Conv1D`` for ``Conv1D`` / ``QConv1D``, ``Conv2D`` for ``Conv2D`` / ``QConv2D``."""
    return type(layer).__name__.removeprefix("Q")


def quantize_convolution(layer, tensor, table):
    """Apply the QKeras copy of the float convolution ``layer`` to ``tensor``.

    The layer has passed its kind's check (``quantize`` checks every layer first: channels_last, no
    dilation...). Returns ``(tensor, copies)`` like :meth:`~fpgacompress.layer_kinds.base.LayerKind.quantize`.

    Raises:
        ConfigError: binary weights asked for a kernel with pruned (zero) weights.
    """
    import qkeras

    from ..layer_kinds.convolution import fused_activation
    from .weighted import quantize_weighted_layer

    config = layer.get_config()
    return quantize_weighted_layer(
        getattr(qkeras, _QKERAS_CLASSES[convolution_role(layer)]),
        layer,
        tensor,
        table,
        fused_activation(layer),
        config["filters"],
        config["kernel_size"],
        strides=config["strides"],
        padding=config["padding"],
        data_format=config.get("data_format") or "channels_last",
        dilation_rate=config["dilation_rate"],
    )
