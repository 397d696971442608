"""AutoPruner on convolutional networks: node masks over filters, exported as a smaller plain CNN.

A *block* is a weighted layer (``Conv1D`` / ``Conv2D`` or a hidden ``Dense``) with the per-channel
layers that follow it (``BatchNormalization``, activations, ``Dropout``). A
:class:`~fpgacompress.autopruning.layer.NodeMask` after the block gates its output channels — the
filters of a convolution, the nodes of a Dense — on the last axis (``channels_last``), so the same
layer serves both.

Export (:func:`reduce_filter_network`) walks the chain once, carrying which original channels the
reduced tensor still holds and the gate each one was multiplied by:

* a masked block keeps only its open filters: the kernel's last axis, the bias, and the batch
  norm's parameters are cut to them;
* the gates fold into the **next** weighted layer's input channels (kernel axis -2), which also
  drops the inputs of the removed filters; pooling, ``ZeroPadding`` and ``Dropout`` commute with a
  positive per-channel scale (gates are sigmoids, so positive) and pass it through; a batch norm
  met on the way absorbs it (``gamma * g``, ``moving_mean / g``);
* ``Flatten`` turns the kept channels into kept flattened positions in ``channels_last`` order
  (``position * channels + channel``), so the Dense head loses the rows of the removed filters.

The reduced model reproduces the hard-masked model's outputs to float rounding.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import ModelError
from .export import ReducedNetwork
from .layer import NodeMask
from .network import node_mask_name

__all__ = [
    "is_convolutional",
    "maskable_widths",
    "insert_filter_masks",
    "reduce_filter_network",
    "filter_topology",
]

_WEIGHTED = ("Conv1D", "Conv2D", "Dense")
_PER_CHANNEL = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "Dropout")
_PASS_THROUGH = (
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "Dropout",
)
_POSITIVELY_HOMOGENEOUS = ("relu", "linear")  # f(g x) = g f(x) for g > 0


def is_convolutional(model) -> bool:
    """Whether ``model`` takes more than a flat feature vector per sample (images, sequences)."""
    return len(model.inputs) == 1 and len(model.inputs[0].shape) > 2


def _chain(model) -> list:
    """The layers after the input, checked to be a plain chain AutoPruner can rebuild."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"AutoPruner needs a single-input, single-output model; '{model.name}' is not.")
    layers = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    previous = model.inputs[0]
    known = (*_WEIGHTED, *_PER_CHANNEL, *_PASS_THROUGH, "Flatten", "Reshape", "NodeMask")
    for layer in layers:
        class_name = type(layer).__name__
        if layer.input is not previous:
            raise ModelError(
                f"AutoPruner needs a plain chain of layers; layer '{layer.name}' does not take the output of the layer before it."
            )
        if class_name not in known:
            hint = "prune the float model, then quantize" if class_name.startswith("Q") else "remove it"
            raise ModelError(
                f"AutoPruner on convolutional models handles {', '.join(known[:-1])}; layer '{layer.name}' "
                f"({class_name}) does not fit: {hint}."
            )
        if class_name.startswith("Conv") and layer.get_config().get("data_format") == "channels_first":
            raise ModelError(
                f"Layer '{layer.name}' is channels_first; AutoPruner masks channels_last filters."
            )
        previous = layer.output
    return layers


def _input_name(model) -> str:
    first = model.layers[0]  # a Sequential model lists no InputLayer
    return first.name if isinstance(first, tf.keras.layers.InputLayer) else "input"


def _weighted(layers) -> list:
    return [layer for layer in layers if type(layer).__name__ in _WEIGHTED]


def maskable_widths(model) -> dict[str, int]:
    """Filters of every convolution and nodes of every hidden Dense: the layers a mask can prune."""
    weighted = _weighted(_chain(model))[:-1]  # the output layer keeps every class
    return {
        layer.name: int(layer.filters if hasattr(layer, "filters") else layer.units) for layer in weighted
    }


def insert_filter_masks(model, keep_counts: dict[str, int], sharpness: float = 1.0):
    """A copy of ``model`` (same weights) with a :class:`NodeMask` after each named block.

    Args:
        model: a plain chain of convolutions, pooling, Flatten and Dense layers without masks.
        keep_counts: layer name -> filters (or nodes) to keep (see
            :func:`~fpgacompress.autopruning.spec.resolve_keep_counts`).
        sharpness: initial sharpness of the soft gates.
    """
    layers = _chain(model)
    if any(isinstance(layer, NodeMask) for layer in layers):
        raise ModelError(
            f"Model '{model.name}' already has node masks; export it with reduce_filter_network() first."
        )
    widths = maskable_widths(model)
    unknown = sorted(set(keep_counts) - set(widths))
    if unknown:
        raise ModelError(
            f"Cannot mask {unknown}: not maskable layers of '{model.name}' ({', '.join(widths)})."
        )
    inputs = tf.keras.Input(shape=model.input_shape[1:], name=_input_name(model))
    x, pending, copies = inputs, None, []
    for layer in layers:
        if pending is not None and type(layer).__name__ not in _PER_CHANNEL:
            x = NodeMask(keep_counts[pending], sharpness=sharpness, name=node_mask_name(pending))(x)
            pending = None
        copy = type(layer).from_config(layer.get_config())
        x = copy(x)
        if layer.get_weights():
            copies.append((copy, layer))
        if layer.name in keep_counts:
            pending = layer.name
    masked = tf.keras.Model(inputs, x, name=f"{model.name}_masked")
    for copy, original in copies:
        copy.set_weights(original.get_weights())
    return masked


class _Block:
    """A weighted layer's new kernel and bias, and the per-channel layers after it, before its cut."""

    def __init__(self, layer, kernel: np.ndarray, bias: np.ndarray):
        self.layer, self.kernel, self.bias = layer, kernel, bias
        self.per_channel: list = []

    def cut(self, kept: np.ndarray) -> list[tuple]:
        """``(layer, new width, weights)`` for the block's layers with only output channels ``kept``."""
        rows = [(self.layer, kept.size, [self.kernel[..., kept], self.bias[kept]])]
        for layer in self.per_channel:
            rows.append((layer, None, [weight[kept] for weight in layer.get_weights()]))
        return rows


def _activation_name(layer) -> str:
    if isinstance(layer, tf.keras.layers.ReLU):
        return "relu"
    return getattr(getattr(layer, "activation", None), "__name__", type(layer).__name__)


def reduce_filter_network(masked_model) -> ReducedNetwork:
    """Remove the masked filters (and the next layers' inputs that read them) of a hard-masked CNN.

    Raises:
        ModelError: a mask is still soft, or a layer between a mask and the next weighted layer does not
            commute with the gates (a non-ReLU activation, a Reshape of cut channels).
    """
    layers = _chain(masked_model)
    soft = [layer.name for layer in layers if isinstance(layer, NodeMask) and not layer.hard]
    if soft:
        raise ModelError(
            f"Node mask(s) {', '.join(soft)} are still soft, so dead filters are not exactly zero; "
            "train through the TopKAnnealing schedule or call harden_node_masks(model) before exporting."
        )
    channels = int(masked_model.input_shape[-1])
    kept, scale = np.arange(channels), np.ones(channels)
    block: _Block | None = None
    plan: list[tuple] = []  # (original layer, new width or None, new weights or None), in order
    kept_nodes: dict[str, tuple[int, ...]] = {}

    def close(kept_out=None):
        nonlocal block, kept, scale
        width = block.kernel.shape[-1]
        kept_out = np.arange(width) if kept_out is None else kept_out
        plan.extend(block.cut(kept_out))
        kept, scale, block = kept_out, np.ones(kept_out.size), None

    for layer in layers:
        class_name = type(layer).__name__
        if isinstance(layer, NodeMask):
            if block is None:
                raise ModelError(
                    f"Node mask '{layer.name}' does not follow a convolution or Dense block; masks on convolutional "
                    "models are placed by insert_filter_masks()."
                )
            gates = layer.gate_values().astype(np.float64)
            name = block.layer.name
            close(np.flatnonzero(gates))
            kept_nodes[name] = tuple(int(i) for i in kept)
            scale = gates[kept]
            continue
        if block is not None and class_name in _PER_CHANNEL:
            block.per_channel.append(layer)
            continue
        if block is not None:
            close()
        if class_name in _WEIGHTED:
            weights = [np.asarray(value, dtype=np.float64) for value in layer.get_weights()]
            kernel = weights[0]
            kernel = np.take(kernel, kept, axis=-2) * scale[:, None]
            bias = weights[1] if layer.use_bias else np.zeros(kernel.shape[-1])
            block = _Block(layer, kernel, bias)
            kept, scale = np.arange(kernel.shape[-1]), np.ones(kernel.shape[-1])
        elif class_name == "Flatten":
            positions = int(np.prod(layer.input_shape[1:-1]))
            original_channels = int(layer.input_shape[-1])
            kept = (np.arange(positions)[:, None] * original_channels + kept[None, :]).ravel()
            scale = np.tile(scale, positions)
            plan.append((layer, None, None))
        elif class_name == "BatchNormalization":
            plan.append((layer, None, _folded_batch_norm(layer, kept, scale)))
            scale = np.ones(kept.size)
        elif class_name == "Reshape" or (
            class_name in ("Activation", "ReLU", "LeakyReLU")
            and _activation_name(layer) not in _POSITIVELY_HOMOGENEOUS
        ):
            if kept.size != int(layer.input_shape[-1]) or not np.all(scale == 1.0):
                raise ModelError(
                    f"Layer '{layer.name}' ({class_name}) follows a filter mask but does not commute with its gates; "
                    "put the mask's layer right before pooling / Flatten / the next convolution."
                )
            plan.append((layer, None, None))
        else:
            plan.append((layer, None, None))
    if block is not None:
        close()
    model = _build(masked_model, plan)
    return ReducedNetwork(model, tuple(range(channels)), kept_nodes, {name: () for name in kept_nodes})


def _folded_batch_norm(layer, kept: np.ndarray, scale: np.ndarray) -> list[np.ndarray]:
    """A batch norm's weights for channels ``kept`` whose inputs were multiplied by ``scale``."""
    config = layer.get_config()
    values = dict(
        zip(
            [weight.name.split("/")[-1].split(":")[0] for weight in layer.weights],
            layer.get_weights(),
            strict=True,
        )
    )
    gamma = values.get("gamma", np.ones_like(values["moving_mean"]))[kept] * scale
    beta = values.get("beta", np.zeros_like(values["moving_mean"]))[kept]
    mean, variance = values["moving_mean"][kept] / scale, values["moving_variance"][kept]
    # (g x - m) / s = g (x - m / g) / s: the gate becomes part of gamma
    weights = []
    if config.get("scale", True):
        weights.append(gamma)
    elif not np.allclose(scale, 1.0):
        raise ModelError(f"Batch norm '{layer.name}' has scale=False and cannot absorb the filter gates.")
    if config.get("center", True):
        weights.append(beta)
    return [*weights, mean, variance]


def _build(masked_model, plan: list[tuple]):
    inputs = tf.keras.Input(shape=masked_model.input_shape[1:], name=_input_name(masked_model))
    x, assignments = inputs, []
    for layer, width, weights in plan:
        config = layer.get_config()
        if width is not None:
            config.update({"filters" if "filters" in config else "units": int(width)})
            config.update(kernel_constraint=None, bias_constraint=None)
            config["use_bias"] = bool(layer.use_bias or np.any(weights[1] != 0))
            if not config["use_bias"]:
                weights = weights[:1]
        copy = type(layer).from_config(config)
        x = copy(x)
        if weights is not None:
            assignments.append((copy, weights))
        elif layer.get_weights():
            assignments.append((copy, layer.get_weights()))
    name = masked_model.name.removesuffix("_masked")
    model = tf.keras.Model(inputs, x, name=f"{name}_reduced")
    for copy, weights in assignments:
        copy.set_weights([np.asarray(value, dtype=np.float32) for value in weights])
    return model


def filter_topology(model) -> str:
    """``"8x8x1-conv1:4-conv2:3-fc1:8-output:3"``: input shape, then every weighted layer's width."""
    parts = ["x".join(str(int(size)) for size in model.input_shape[1:])]
    for layer in _weighted(_chain(model)):
        parts.append(f"{layer.name}:{int(layer.filters if hasattr(layer, 'filters') else layer.units)}")
    return "-".join(parts)
