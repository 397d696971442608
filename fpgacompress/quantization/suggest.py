"""Suggest per-layer integer bits for a total bit budget from the ranges a float model really uses.

For a budget of ``total_bits``, every bit spent left of the binary point is a bit of resolution
lost on the right, and every bit too few saturates. The ranges come from the model itself:
the largest kernel and bias magnitude of each Dense layer, a high quantile of each ReLU's output
on the training jets, and a high quantile of the standardized inputs — each times ``headroom``
(training moves weights and unseen jets stretch activations). Quantiles rather than maxima for
the activations and inputs, because a handful of outlier jets would otherwise cost every jet a bit.

Example:
    >>> spec = suggest_precision(model, data, total_bits=8)
    >>> spec.layer_name["fc1"].weight
    WeightQuantizer(kind='fixed', bits=8, integer=1, alpha=1)
"""

from __future__ import annotations

import math

import numpy as np

from ..data import Dataset
from ..errors import ConfigError
from .convert import layer_kind
from .spec import QuantizationSpec

__all__ = ["suggest_precision", "integer_bits"]

_MAX_JETS = 20_000  # enough jets for a 99.99 % quantile, small enough to stay fast


def integer_bits(magnitude: float, total_bits: int, signed: bool) -> int:
    """The fewest integer bits whose range holds ``magnitude``, within ``total_bits``.

    Signed ``quantized_bits(bits, integer)`` spans ``[-2**integer, 2**integer)`` (the sign bit is
    not counted in ``integer``); unsigned ``quantized_relu(bits, integer)`` spans ``[0, 2**integer)``.

    Example:
        >>> integer_bits(0.7, 8, signed=True), integer_bits(3.2, 8, signed=False)
        (0, 2)
    """
    needed = 0 if magnitude <= 0 else max(0, math.floor(math.log2(magnitude)) + 1)
    return min(needed, total_bits - 1 if signed else total_bits)


def suggest_precision(
    model,
    data: Dataset,
    total_bits: int,
    *,
    headroom: float = 1.25,
    quantile: float = 0.9999,
    input_bits: int | None = None,
) -> QuantizationSpec:
    """A :class:`QuantizationSpec` with ``total_bits`` everywhere and integer bits per layer from data.

    Args:
        model: the float Keras MLP (``Dense`` + separate ReLU ``Activation`` layers).
        data: the *standardized* dataset the model was trained on (its training split is used).
        total_bits: the bit budget of every weight, bias and activation (2 to 32).
        headroom: factor (>= 1) applied to every observed magnitude before choosing integer bits.
        quantile: the fraction of training jets whose activations and inputs must not saturate.
        input_bits: total bits of the input quantizer; ``None`` uses ``total_bits``.
    """
    if not 2 <= total_bits <= 32:
        raise ConfigError(f"total_bits must be between 2 and 32; received {total_bits}.")
    if headroom < 1:
        raise ConfigError(f"headroom must be >= 1 (a factor on observed ranges); received {headroom}.")
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must be in (0, 1]; received {quantile}.")
    input_bits = input_bits or total_bits
    x = np.asarray(data.x_train[:_MAX_JETS], dtype=np.float32)
    if x.shape[1:] != tuple(model.input_shape[1:]):
        raise ConfigError(
            f"The data has {x.shape[1]} features but the model expects input shape {model.input_shape[1:]}."
        )

    layer_name: dict[str, dict] = {}
    relus = [layer for layer in model.layers if layer_kind(layer) == "Activation"]
    for layer, output in zip(relus, _layer_outputs(model, relus, x), strict=True):
        magnitude = float(np.quantile(output, quantile)) * headroom
        layer_name[layer.name] = {
            "activation": {"bits": total_bits, "integer": integer_bits(magnitude, total_bits, signed=False)}
        }
    for layer in model.layers:
        if layer_kind(layer) != "Dense":
            continue
        weights = {
            "weight": layer.kernel.numpy(),
            "bias": layer.bias.numpy() if layer.use_bias else np.zeros(1),
        }
        layer_name[layer.name] = {
            field: {
                "bits": total_bits,
                "integer": integer_bits(float(np.abs(values).max()) * headroom, total_bits, signed=True),
            }
            for field, values in weights.items()
        }
    input_magnitude = float(np.quantile(np.abs(x), quantile)) * headroom
    payload = {
        "input": {"bits": input_bits, "integer": integer_bits(input_magnitude, input_bits, signed=True)},
        "default": {
            "weight": {"bits": total_bits, "integer": 0},
            "bias": {"bits": total_bits, "integer": 0},
            "activation": {"bits": total_bits, "integer": 0},
        },
        "layer_name": layer_name,
    }
    return QuantizationSpec.parse(payload, "suggested precision")


def _layer_outputs(model, layers: list, x: np.ndarray) -> list[np.ndarray]:
    import tensorflow as tf

    if not layers:
        return []
    probe = tf.keras.Model(model.inputs, [layer.output for layer in layers])
    outputs = probe.predict(x, batch_size=4096, verbose=0)
    return outputs if isinstance(outputs, list) else [outputs]
