"""Reading a Dense MLP as a chain of blocks, and rebuilding it with node masks inserted.

AutoPruner works on the plain Keras MLPs :func:`~fpgacompress.models.build_mlp` makes (and any
model of the same shape): ``input -> [Dense -> activation(s) -> NodeMask?]* -> Dense -> softmax``.
A *block* is one Dense layer with the element-wise activation layers that follow it and, in a
masked model, the :class:`~fpgacompress.autopruning.layer.NodeMask` after them. Quantized layers
(QDense) are refused: node-prune the float model, then quantize the reduced one.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from ..errors import ModelError
from .layer import NodeMask

__all__ = ["DenseBlock", "MlpChain", "read_chain", "insert_node_masks", "INPUT_MASK_NAME", "node_mask_name"]

INPUT_MASK_NAME = "input_feature_mask"
_ACTIVATION_LAYERS = (tf.keras.layers.Activation, tf.keras.layers.ReLU)


def node_mask_name(dense_name: str) -> str:
    """The name of the mask that prunes the nodes of Dense layer ``dense_name``."""
    return f"{dense_name}_node_mask"


@dataclass(frozen=True)
class DenseBlock:
    """A Dense layer, the activation layers after it, and its node mask (if any)."""

    dense: tf.keras.layers.Dense
    activations: tuple[tf.keras.layers.Layer, ...]
    mask: NodeMask | None = None


@dataclass(frozen=True)
class MlpChain:
    """An MLP as ``input -> input mask? -> blocks``; the last block is the output layer."""

    input_name: str
    n_inputs: int
    input_mask: NodeMask | None
    blocks: tuple[DenseBlock, ...]

    @property
    def hidden_blocks(self) -> tuple[DenseBlock, ...]:
        return self.blocks[:-1]

    def hidden_widths(self) -> dict[str, int]:
        """Node count of every hidden Dense layer (the layers a node mask can prune)."""
        return {block.dense.name: int(block.dense.units) for block in self.hidden_blocks}


def read_chain(model) -> MlpChain:
    """Split ``model`` into Dense blocks, or raise a :class:`ModelError` naming the layer it cannot handle."""
    if len(model.inputs) != 1 or len(model.outputs) != 1 or len(model.inputs[0].shape) != 2:
        raise ModelError(
            f"AutoPruner needs a single-input, single-output MLP on flat features; model '{model.name}' has "
            f"{len(model.inputs)} input(s) of shape {[tuple(t.shape) for t in model.inputs]} and {len(model.outputs)} output(s)."
        )
    input_mask = None
    blocks: list[dict] = []
    previous = model.inputs[0]
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        if layer.input is not previous:
            raise ModelError(
                f"AutoPruner needs a plain chain of layers; layer '{layer.name}' does not take the output of the layer before it."
            )
        previous = layer.output
        if isinstance(layer, tf.keras.layers.Dense) and type(layer) is tf.keras.layers.Dense:
            blocks.append({"dense": layer, "activations": [], "mask": None})
        elif isinstance(layer, _ACTIVATION_LAYERS) and blocks and blocks[-1]["mask"] is None:
            blocks[-1]["activations"].append(layer)
        elif isinstance(layer, NodeMask) and not blocks and input_mask is None:
            input_mask = layer
        elif isinstance(layer, NodeMask) and blocks and blocks[-1]["mask"] is None:
            blocks[-1]["mask"] = layer
        else:
            raise ModelError(
                f"AutoPruner handles plain Dense MLPs (Dense, Activation/ReLU, NodeMask layers); layer "
                f"'{layer.name}' ({type(layer).__name__}) does not fit here. Node-prune the float model, then quantize."
            )
    if not blocks:
        raise ModelError(f"Model '{model.name}' has no Dense layer to prune.")
    if blocks[-1]["mask"] is not None:
        raise ModelError(
            f"The output layer '{blocks[-1]['dense'].name}' cannot be node-masked: every class needs its output."
        )
    return MlpChain(
        input_name=model.layers[0].name
        if isinstance(model.layers[0], tf.keras.layers.InputLayer)
        else "input",
        n_inputs=int(model.inputs[0].shape[-1]),
        input_mask=input_mask,
        blocks=tuple(
            DenseBlock(block["dense"], tuple(block["activations"]), block["mask"]) for block in blocks
        ),
    )


def insert_node_masks(
    model, keep_counts: dict[str, int], keep_features: int | None = None, sharpness: float = 1.0
):
    """A copy of ``model`` (same weights) with a :class:`NodeMask` after each named hidden layer.

    Args:
        model: a plain Dense MLP without node masks.
        keep_counts: hidden Dense layer name -> nodes to keep (already resolved, see
            :func:`~fpgacompress.autopruning.spec.resolve_keep_counts`).
        keep_features: input features to keep; ``None`` inserts no input mask.
        sharpness: initial sharpness of the soft gates.
    """
    chain = read_chain(model)
    if chain.input_mask is not None or any(block.mask is not None for block in chain.blocks):
        raise ModelError(
            f"Model '{model.name}' already has node masks; export it with export_reduced() first."
        )
    widths = chain.hidden_widths()
    unknown = sorted(set(keep_counts) - set(widths))
    if unknown:
        raise ModelError(
            f"Cannot mask {unknown}: not hidden Dense layers of '{model.name}' ({', '.join(widths)})."
        )

    inputs = tf.keras.Input(shape=(chain.n_inputs,), name=chain.input_name)
    x = inputs
    if keep_features is not None:
        x = NodeMask(keep_features, sharpness=sharpness, name=INPUT_MASK_NAME)(x)
    copies = []
    for block in chain.blocks:
        dense = type(block.dense).from_config(block.dense.get_config())
        x = dense(x)
        copies.append((dense, block.dense))
        for activation in block.activations:
            x = type(activation).from_config(activation.get_config())(x)
        if block.dense.name in keep_counts:
            x = NodeMask(
                keep_counts[block.dense.name], sharpness=sharpness, name=node_mask_name(block.dense.name)
            )(x)
    masked = tf.keras.Model(inputs, x, name=f"{model.name}_masked")
    for copy, original in copies:
        copy.set_weights(original.get_weights())
    return masked
