"""Export a node-masked MLP as a plain, physically smaller Keras model.

For each hidden layer the surviving nodes are those whose hard gate is nonzero. The exporter:

* folds each gate into the **next** layer's kernel row (``relu(z) * g @ W == relu(z) @ (g * W)``,
  exact for any gate value, signed or not) and drops the rows of dead nodes (gate exactly 0:
  they contribute exactly nothing);
* folds *constant* nodes away as well: a kept node whose incoming kernel column is all zero
  (e.g. after its inputs were removed or after unstructured pruning) outputs ``act(bias) * g``
  whatever the input, so ``act(bias) * g * W_next[row]`` is added to the next layer's bias and the
  node is removed;
* keeps only the selected input features, in their original order;
* rebuilds the layers from their own configs (same names ``fc1, relu1, ..., output, softmax``,
  initializers and regularizers; kernel constraints are dropped since their shapes no longer fit).

The result contains no custom layer, so hls4ml converts it directly, and it reproduces the masked
model's outputs to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..errors import ModelError
from .network import DenseBlock, read_chain

__all__ = ["ReducedNetwork", "reduce_network", "export_reduced", "topology_string"]


@dataclass(frozen=True)
class ReducedNetwork:
    """The exported model and which original nodes and inputs it keeps.

    Attributes:
        model: the plain Keras model (Dense layers resized, no NodeMask).
        kept_inputs: indices of the original input features it reads, in its input order.
        kept_nodes: hidden Dense layer name -> indices of the original nodes it keeps.
        folded_nodes: hidden Dense layer name -> indices of constant nodes folded into the next bias.
    """

    model: tf.keras.Model
    kept_inputs: tuple[int, ...]
    kept_nodes: dict[str, tuple[int, ...]]
    folded_nodes: dict[str, tuple[int, ...]]

    @property
    def topology(self) -> str:
        if len(self.model.inputs[0].shape) > 2:
            from .filters import filter_topology

            return filter_topology(self.model)
        return topology_string(self.model)


def topology_string(model) -> str:
    """``"8-32-16-16-5"``: input width then every Dense layer's width."""
    widths = [int(model.inputs[0].shape[-1])]
    widths += [int(layer.units) for layer in model.layers if isinstance(layer, tf.keras.layers.Dense)]
    return "-".join(map(str, widths))


def export_reduced(masked_model) -> tf.keras.Model:
    """The plain, physically resized Keras model equivalent to ``masked_model`` (see :func:`reduce_network`;
    convolutional models: :func:`~fpgacompress.autopruning.filters.reduce_filter_network`)."""
    if len(masked_model.inputs[0].shape) > 2:
        from .filters import reduce_filter_network

        return reduce_filter_network(masked_model).model
    return reduce_network(masked_model).model


def reduce_network(masked_model) -> ReducedNetwork:
    """Remove dead nodes and unselected inputs of a hard-masked MLP, folding the gates into the weights.

    Raises:
        ModelError: a node mask is still soft (train through the schedule, or ``harden_node_masks``),
            or the model is not a plain Dense MLP.
    """
    chain = read_chain(masked_model)
    masks = [chain.input_mask, *(block.mask for block in chain.blocks)]
    soft = [mask.name for mask in masks if mask is not None and not mask.hard]
    if soft:
        raise ModelError(
            f"Node mask(s) {', '.join(soft)} are still soft, so dead nodes are not exactly zero; "
            "train through the TopKAnnealing schedule or call harden_node_masks(model) before exporting."
        )

    if chain.input_mask is None:
        kept = np.arange(chain.n_inputs)
        scale = np.ones(chain.n_inputs, dtype=np.float64)
    else:
        gates = chain.input_mask.gate_values().astype(np.float64)
        kept = np.flatnonzero(gates)
        scale = gates[kept]
    kept_inputs = tuple(int(i) for i in kept)
    constant = np.zeros(0, dtype=np.float64)  # outputs of folded constant nodes of the previous layer
    constant_rows = np.zeros(0, dtype=np.int64)

    new_weights, new_widths, kept_nodes, folded_nodes = [], [], {}, {}
    for position, block in enumerate(chain.blocks):
        kernel, bias = _kernel_and_bias(block)
        # Gates of the previous layer fold into this kernel's rows; constant nodes into the bias.
        bias = bias + constant @ kernel[constant_rows]
        kernel = kernel[kept] * scale[:, None]
        if position == len(chain.blocks) - 1:
            new_weights.append((kernel, bias))
            new_widths.append(kernel.shape[1])
            break
        gates = (
            block.mask.gate_values().astype(np.float64)
            if block.mask is not None
            else np.ones(kernel.shape[1])
        )
        is_constant = (gates != 0) & ~np.any(kernel != 0, axis=0)
        is_kept = (gates != 0) & ~is_constant
        constant_rows = np.flatnonzero(is_constant)
        constant = _activate(block, bias)[constant_rows] * gates[constant_rows]
        kept = np.flatnonzero(is_kept)
        if kept.size == 0:
            raise ModelError(
                f"Every node of '{block.dense.name}' is dead or constant after masking; the reduced network "
                "would have a layer of width 0. Keep more nodes or more input features."
            )
        scale = gates[kept]
        new_weights.append((kernel[:, kept], bias[kept]))
        new_widths.append(kept.size)
        kept_nodes[block.dense.name] = tuple(int(i) for i in kept)
        folded_nodes[block.dense.name] = tuple(int(i) for i in constant_rows)

    model = _build(masked_model, chain, len(kept_inputs), new_widths, new_weights)
    return ReducedNetwork(model, kept_inputs, kept_nodes, folded_nodes)


def _kernel_and_bias(block: DenseBlock) -> tuple[np.ndarray, np.ndarray]:
    kernel = np.asarray(block.dense.kernel.numpy(), dtype=np.float64)
    if block.dense.use_bias:
        bias = np.asarray(block.dense.bias.numpy(), dtype=np.float64)
    else:
        bias = np.zeros(kernel.shape[1], dtype=np.float64)
    return kernel, bias


def _activate(block: DenseBlock, preactivation: np.ndarray) -> np.ndarray:
    """The block's activations applied to a pre-activation vector (the output of a constant node)."""
    values = tf.constant(preactivation[None, :], dtype=tf.float32)
    values = block.dense.activation(values)
    for layer in block.activations:
        values = layer(values)
    return np.asarray(values.numpy()[0], dtype=np.float64)


def _build(masked_model, chain, n_inputs: int, widths: list[int], weights: list[tuple]) -> tf.keras.Model:
    inputs = tf.keras.Input(shape=(n_inputs,), name=chain.input_name)
    x = inputs
    denses = []
    for block, width, (_kernel, bias) in zip(chain.blocks, widths, weights, strict=True):
        config = block.dense.get_config()
        config.update(units=int(width), kernel_constraint=None, bias_constraint=None)
        config["use_bias"] = bool(block.dense.use_bias or np.any(bias != 0))
        dense = tf.keras.layers.Dense.from_config(config)
        x = dense(x)
        denses.append(dense)
        for activation in block.activations:
            x = type(activation).from_config(activation.get_config())(x)
    name = masked_model.name.removesuffix("_masked")
    model = tf.keras.Model(inputs, x, name=f"{name}_reduced")
    for dense, (kernel, bias) in zip(denses, weights, strict=True):
        values = [kernel.astype(np.float32)]
        if dense.use_bias:
            values.append(bias.astype(np.float32))
        dense.set_weights(values)
    return model
