"""Between plain Keras and variational models: ``to_variational`` and ``export_sparse``.

``to_variational`` rebuilds a trained float model with every ``Dense`` replaced by a
:class:`~.layer.VariationalDense` whose ``theta`` starts at the trained kernel (and bias), so the
variational training starts from the network the user already has, not from scratch. With
``feature_gate`` a :class:`~.layer.VariationalFeatureGate` is inserted after the input.

``export_sparse`` goes back: every variational layer becomes a plain ``Dense`` with the same name
and ``kernel = theta`` where the mask keeps the weight, exactly ``0.0`` elsewhere. A feature gate
is folded into the next Dense layer's kernel rows (``(x * g) @ W == x @ (diag(g) W)``). The result
contains no custom layer, so quantization, hls4ml and the estimator treat it like any pruned model.

Only plain chains (``input -> layer -> layer -> ...``, as ``build_mlp`` makes) are supported.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import ModelError
from ..pruning.mask import PruningMask
from .layer import VariationalDense, VariationalFeatureGate

__all__ = ["to_variational", "export_sparse", "chain_layers", "FEATURE_GATE_NAME"]

FEATURE_GATE_NAME = "input_feature_gate"


def chain_layers(model) -> list:
    """The layers after the input of a single-input, single-output plain chain.

    Raises:
        ModelError: the model branches, or has several inputs or outputs.
    """
    if not isinstance(model, tf.keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"sparsify needs a single-input, single-output Keras model; received {type(model).__name__}."
        )
    chain = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    previous = model.inputs[0]
    for layer in chain:
        if layer.input is not previous:
            raise ModelError(
                f"Layer '{layer.name}' does not follow the previous layer: sparsify supports plain chains "
                "(MLPs like build_mlp makes), not branching models."
            )
        previous = layer.output
    return chain


def to_variational(
    model,
    n_train_samples: int,
    *,
    threshold: float = 3.0,
    log_sigma2_initial: float = -10.0,
    feature_gate: bool = False,
):
    """A copy of the float ``model`` with variational Dense layers initialised from its weights.

    Raises:
        ModelError: no ``Dense`` layer, a quantized (QKeras) layer, or a model that is not a chain.
    """
    chain = chain_layers(model)
    quantized = [layer.name for layer in chain if type(layer).__module__.split(".")[0] == "qkeras"]
    if quantized:
        raise ModelError(
            f"Layer(s) {', '.join(quantized)} are already quantized (QKeras); sparsify the float model, "
            "then quantize the sparse export."
        )
    if not any(type(layer) is tf.keras.layers.Dense for layer in chain):
        kinds = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in chain) or "(none)"
        raise ModelError(
            f"Model '{model.name}' has no Dense layer to sparsify; sparse variational dropout replaces Dense "
            f"layers. Received layers: {kinds}."
        )
    common = {
        "threshold": threshold,
        "n_train_samples": n_train_samples,
        "log_sigma2_initial": log_sigma2_initial,
    }
    inputs = tf.keras.Input(shape=model.input_shape[1:], name=model.layers[0].name)
    x = inputs
    if feature_gate:
        x = VariationalFeatureGate(name=FEATURE_GATE_NAME, **common)(x)
    copies = []
    for layer in chain:
        if type(layer) is tf.keras.layers.Dense:
            config = layer.get_config()
            new = VariationalDense(
                config["units"],
                activation=config["activation"],
                use_bias=config["use_bias"],
                kernel_initializer=config["kernel_initializer"],
                bias_initializer=config["bias_initializer"],
                name=layer.name,
                **common,
            )
        else:
            new = type(layer).from_config(layer.get_config())
        x = new(x)
        copies.append((new, layer))
    variational = tf.keras.Model(inputs, x, name=f"{model.name}_variational")
    for new, layer in copies:
        if isinstance(new, VariationalDense):
            new.theta.assign(layer.kernel)
            if layer.use_bias:
                new.bias.assign(layer.bias)
        else:
            new.set_weights(layer.get_weights())
    return variational


def export_sparse(variational, mask: PruningMask, name: str | None = None):
    """The plain Keras model computing ``variational``'s deterministic output under ``mask``.

    ``mask`` names every variational layer (the feature gate by its name, a 1-D mask). Without a
    feature gate the export reproduces the variational model bit for bit; with one, the folded
    rows are rounded once more (float32).

    Raises:
        ModelError: ``mask`` lacks a variational layer or has the wrong shape for it.
    """
    chain = chain_layers(variational)
    for layer in chain:
        if isinstance(layer, VariationalDense | VariationalFeatureGate):
            expected = tuple(layer.theta.shape)
            found = mask.masks.get(layer.name)
            if found is None or found.shape != expected:
                raise ModelError(
                    f"The mask must cover variational layer '{layer.name}' with shape {expected}; "
                    f"received {None if found is None else found.shape}."
                )
    inputs = tf.keras.Input(shape=variational.input_shape[1:], name=variational.layers[0].name)
    x = inputs
    row_scale = None  # the folded feature gate, applied to the next Dense layer's rows
    weights = []
    for layer in chain:
        if isinstance(layer, VariationalFeatureGate):
            row_scale = np.where(mask.masks[layer.name], layer.theta.numpy(), 0.0).astype(np.float32)
            continue
        if isinstance(layer, VariationalDense):
            dense = tf.keras.layers.Dense(
                layer.units,
                activation=layer.activation,
                use_bias=layer.use_bias,
                kernel_initializer=layer.kernel_initializer,
                bias_initializer=layer.bias_initializer,
                name=layer.name,
            )
            kernel = np.where(mask.masks[layer.name], layer.theta.numpy(), np.float32(0.0))
            if row_scale is not None:
                kernel = np.where(kernel != 0, kernel * row_scale[:, None], np.float32(0.0))
                row_scale = None
            values = [kernel.astype(np.float32)] + ([layer.bias.numpy()] if layer.use_bias else [])
        else:
            if row_scale is not None:
                raise ModelError(
                    f"The feature gate must be followed by a Dense layer to fold into; found '{layer.name}'."
                )
            dense = type(layer).from_config(layer.get_config())
            values = layer.get_weights()
        x = dense(x)
        weights.append((dense, values))
    base = variational.name.removesuffix("_variational")
    model = tf.keras.Model(inputs, x, name=name or f"{base}_sparse")
    for layer, values in weights:
        if values:
            layer.set_weights(values)
    return model
