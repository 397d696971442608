"""Suggest per-layer integer bits for a total bit budget from the ranges a float model really uses.

For a budget of ``total_bits``, every bit spent left of the binary point is a bit of resolution
lost on the right, and every bit too few saturates. The ranges come from the model itself:
the largest kernel and bias magnitude of each Dense layer, a high quantile of each ReLU's output
on the training jets, and a high quantile of the standardized inputs — each times ``headroom``
(for data that may drift from the training jets; 1 by default). Quantiles rather than maxima for
the activations and inputs, because a handful of outlier jets would otherwise cost every jet a bit:
on the jets with 6-bit ReLUs and a 10-bit input, covering 99.9 % of the training jets exactly
(``quantile=0.999, headroom=1``) beat covering 99.99 % with 25 % headroom, i.e. resolution matters
more than the rare saturated jet (see docs/benchmarks.md).
Activations are observed in a NumPy forward pass with the kernels already quantized.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from ..data import Dataset
from ..errors import ConfigError
from ..layer_kinds import kind_of
from .convert import layer_chain
from .spec import QuantizationSpec, WeightQuantizer, max_integer_bits

__all__ = ["suggest_precision", "integer_bits"]

_MAX_JETS = 20_000  # enough jets for a 99.9 % quantile, small enough to stay fast


def integer_bits(magnitude: float, total_bits: int, signed: bool, saturating: bool = False) -> int:
    """The fewest integer bits whose range holds ``magnitude``, within what ``total_bits`` allows.

    Signed ``quantized_bits(bits, integer)`` spans ``[-2**integer, 2**integer)`` (the sign bit is
    not counted in ``integer``); unsigned ``quantized_relu(bits, integer)`` spans ``[0, 2**integer)``.
    Saturating quantizers (input, ReLU) keep one fractional bit (see :func:`max_integer_bits`).

    Example:
        >>> integer_bits(0.7, 8, signed=True), integer_bits(3.2, 8, signed=False)
        (0, 2)
    """
    needed = 0 if magnitude <= 0 else max(0, math.floor(math.log2(magnitude)) + 1)
    return min(needed, max_integer_bits(total_bits, signed, saturating))


def suggest_precision(
    model,
    data: Dataset | np.ndarray,
    total_bits: int,
    *,
    headroom: float = 1.0,
    quantile: float = 0.999,
    input_bits: int | None = None,
    activation_bits: int | None = None,
    weight_kind: Literal["fixed", "ternary", "binary"] = "fixed",
    weight_quantile: float = 1.0,
) -> QuantizationSpec:
    """A :class:`QuantizationSpec` with ``total_bits`` everywhere and integer bits per layer from data.

    Activation ranges are observed with the weights *as they will be quantized*: ternary and
    binary weights are +-1, far larger than typical float weights, so their ReLUs need many more
    integer bits than the float model's. Ternary thresholds are set per layer to
    ``0.7 * mean(|w|)`` (Ternary Weight Networks, Li & Liu 2016), so QAT starts with the larger
    weights at +-1 instead of every weight at 0.

    Args:
        model: the float Keras MLP (``Dense`` + separate ReLU ``Activation`` layers).
        data: the *standardized* dataset the model was trained on (its training split is used), or
            an array of standardized calibration inputs.
        total_bits: the bit budget of every fixed-point weight, bias and activation (2 to 32).
        headroom: factor (>= 1) applied to every observed magnitude before choosing integer bits.
        quantile: the fraction of training jets whose activations and inputs must not saturate.
        input_bits: total bits of the input quantizer; ``None`` uses ``total_bits``.
        activation_bits: total bits of every ReLU output; ``None`` uses ``total_bits``.
        weight_kind: ``fixed`` (``total_bits`` wide), ``ternary`` or ``binary`` kernels.
        weight_quantile: the fraction of each kernel's nonzero weights that must fit the fixed-point
            range (1: the largest); below 1 the few largest saturate and every other weight gains
            resolution.
    """
    if not 2 <= total_bits <= 32:
        raise ConfigError(f"total_bits must be between 2 and 32; received {total_bits}.")
    if headroom < 1:
        raise ConfigError(f"headroom must be >= 1 (a factor on observed ranges); received {headroom}.")
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must be in (0, 1]; received {quantile}.")
    if not 0 < weight_quantile <= 1:
        raise ConfigError(f"weight_quantile must be in (0, 1]; received {weight_quantile}.")
    if weight_kind not in ("fixed", "ternary", "binary"):
        raise ConfigError(f"weight_kind must be fixed, ternary or binary; received {weight_kind!r}.")
    input_bits = input_bits or total_bits
    activation_bits = activation_bits or total_bits
    x = np.asarray((data.x_train if isinstance(data, Dataset) else data)[:_MAX_JETS], dtype=np.float32)
    if x.shape[1:] != tuple(model.input_shape[1:]):
        raise ConfigError(
            f"The data has {x.shape[1]} features but the model expects input shape {model.input_shape[1:]}."
        )

    def fixed(magnitude: float, bits: int, signed: bool = True, saturating: bool = False) -> dict:
        return {"bits": bits, "integer": integer_bits(magnitude * headroom, bits, signed, saturating)}

    layer_name: dict[str, dict] = {}
    input_magnitude = float(np.quantile(np.abs(x), quantile))
    x_float = x
    for layer in layer_chain(model):
        roles = dict(kind_of(layer).quantizable_parts(layer))
        if roles.get(layer.name) == "Dense":
            kernel = layer.kernel.numpy()
            bias = layer.bias.numpy() if layer.use_bias else np.zeros(kernel.shape[1], np.float32)
            weight = _weight_quantizer(kernel, weight_kind, total_bits, fixed, weight_quantile)
            quantized = np.asarray(WeightQuantizer(**weight).build()(kernel))
            # +-1 weights scale a layer's output up; its bias must be able to grow by the same factor
            scale = _typical(x @ quantized) / max(_typical(x_float @ kernel), 1e-12)
            layer_name[layer.name] = {
                "weight": weight,
                "bias": fixed(float(np.abs(bias).max()) * scale, total_bits),
            }
            x, x_float = x @ quantized + bias * scale, x_float @ kernel + bias
            fused_relu = [name for name, role in roles.items() if role == "Activation"]
        elif roles.get(layer.name) == "Activation":
            fused_relu = [layer.name]
        else:  # batch norm, dropout, output activations: as Keras computes them
            x = np.asarray(layer(x.astype(np.float32), training=False), np.float64)
            x_float = np.asarray(layer(x_float.astype(np.float32), training=False), np.float64)
            fused_relu = []
        for name in fused_relu:
            x, x_float = np.maximum(x, 0), np.maximum(x_float, 0)
            magnitude = float(np.quantile(x, quantile))
            layer_name[name] = {
                "activation": fixed(magnitude, activation_bits, signed=False, saturating=True)
            }
    payload = {
        "input": fixed(input_magnitude, input_bits, saturating=True),
        "default": {
            "weight": {"bits": total_bits, "integer": 0},
            "bias": {"bits": total_bits, "integer": 0},
            "activation": {"bits": activation_bits, "integer": 0},
        },
        "layer_name": layer_name,
    }
    return QuantizationSpec.parse(payload, "suggested precision")


def _typical(values: np.ndarray) -> float:
    return float(np.mean(np.abs(values)))


def _weight_quantizer(kernel: np.ndarray, weight_kind: str, total_bits: int, fixed, quantile: float) -> dict:
    if weight_kind == "ternary":
        nonzero = np.abs(kernel[kernel != 0])
        threshold = 0.7 * float(nonzero.mean()) if nonzero.size else 0.5
        return {"kind": "ternary", "threshold": threshold}
    if weight_kind == "binary":
        return {"kind": "binary"}
    nonzero = np.abs(kernel[kernel != 0])
    return fixed(float(np.quantile(nonzero, quantile)) if nonzero.size else 0.0, total_bits)
