"""Constant propagation: neurons pruned down to their bias make the next layer's inputs constants.

A dense output whose every weight is zero is its bias, a constant; after an element-wise
activation (ReLU, batch-norm scale, sigmoid...) it is still a constant, and the next dense layer's
products on it are constants too: HLS folds them into the bias and builds no multiplier or adder
for them. So before counting hardware, the weights on constant inputs are zeroed; the counting
rules (:mod:`.hardware_model`) then drop those products like any pruned weight.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .layers import ActivationSpec, DenseSpec, DesignSpec

__all__ = ["fold_constants", "constant_inputs"]

_MIXING_FUNCTIONS = ("softmax",)
"""Activations whose every output depends on every input: constant only if all inputs are."""


def _propagate(design: DesignSpec):
    """Yield ``(layer after folding, number of constant inputs)`` in dataflow order."""
    constant = None
    for layer in design.layers:
        if isinstance(layer, DenseSpec):
            integers = layer.weight_integers
            folded = layer
            count = 0
            if constant is not None and constant.size == layer.n_in and constant.any():
                weights = np.array(layer.weights, dtype=np.float64, copy=True)
                weights[constant, :] = 0.0
                folded = replace(layer, weights=weights)
                integers = folded.weight_integers
                count = int(constant.sum())
            yield folded, count
            constant = ~np.any(integers != 0, axis=0)
        else:
            count = int(constant.sum()) if constant is not None and constant.size == layer.n_in else 0
            yield layer, count
            if constant is None or constant.size != layer.n_in:
                constant = None
            elif isinstance(layer, ActivationSpec) and layer.function in _MIXING_FUNCTIONS:
                constant = np.full(layer.n_in, bool(constant.all()))


def fold_constants(design: DesignSpec) -> DesignSpec:
    """The same design with every weight on a constant input set to zero (what HLS folds away)."""
    layers = tuple(layer for layer, _ in _propagate(design))
    return replace(design, layers=layers)


def constant_inputs(design: DesignSpec) -> dict[str, int]:
    """``{layer name: inputs that are constants}`` (the products on them fold)."""
    return {layer.name: count for layer, count in _propagate(design)}
