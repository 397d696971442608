"""The single place that writes hls4ml's configuration dictionary.

Precision comes from the QKeras quantizers (``config_from_keras_model(granularity='name')``);
accumulators and results stay ``auto`` so hls4ml infers types wide enough to be exact. This module
only adds what a build decides: reuse factor, strategy, the input precision, and per-layer tracing
(so the C-simulation can name the first layer where firmware and Python differ).

Example:
    >>> hls_model_ready = prepare_for_hls4ml(model)          # the input layer is renamed 'input_layer'
    >>> config = hls4ml_config(hls_model_ready, BuildConfig(reuse_factor=4, strategy="resource"))
    >>> config["Model"]["Strategy"], config["LayerName"]["fc1"]["ReuseFactor"]
    ('Resource', 4)
"""

from __future__ import annotations

import math
import re

from ..errors import ModelError
from .settings import DEFAULT_INPUT_PRECISION, BuildConfig

__all__ = ["prepare_for_hls4ml", "input_quantizer_layer", "hls4ml_config", "binary_dense_precision"]


def _chain(model) -> list:
    """The model's layers after the input, in order; hls4ml MLPs are single chains."""
    import tensorflow as tf

    return [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]


def prepare_for_hls4ml(model):
    """A functional view of ``model`` whose layers avoid the names hls4ml reserves.

    ``build_mlp`` names its input layer ``input``, which hls4ml's graph refuses. The view is a new
    ``Input`` (``input_layer``) followed by the model's own layer objects, so weights, quantizers
    and constraints are shared, not copied: it computes exactly what the original computes.
    """
    import tensorflow as tf

    layers = _chain(model)
    taken = {layer.name for layer in layers}
    input_name = "input_layer"
    while input_name in taken:
        input_name += "_"
    inputs = tf.keras.Input(shape=model.inputs[0].shape[1:], name=input_name)
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    return tf.keras.Model(inputs, outputs, name=model.name)


def input_quantizer_layer(model):
    """The ``QActivation(quantized_bits)`` right after the input, or ``None``.

    Its precision is the firmware's input precision, and its output is what the testbench feeds.
    """
    first = _chain(model)[0]
    if type(first).__name__ == "QActivation" and type(first.quantizer).__name__ == "quantized_bits":
        return first
    return None


def _fixed_type(precision: str) -> str:
    """``fixed<12,5,RND_CONV,SAT,0>`` -> ``fixed<12,5>``: inputs arrive on the grid, modes do not matter."""
    kind, arguments = precision.split("<", 1)
    width, integer = arguments.rstrip(">").split(",")[:2]
    return f"{kind}<{width},{integer}>"


def _parse_fixed(precision: str) -> tuple[bool, int, int] | None:
    """``fixed<16,6,...>`` -> (signed, width, integer bits); ``None`` for anything else (``auto``)."""
    match = re.fullmatch(r"(u?)fixed<(\d+),(-?\d+)(,.*)?>", precision.replace(" ", ""))
    if match is None:
        return None
    return match.group(1) != "u", int(match.group(2)), int(match.group(3))


def binary_dense_precision(n_in: int, input_precision: str, bias_precision: str) -> str:
    """An exact result type for a Dense layer with binary (+-1) weights.

    hls4ml's automatic type inference does not handle binary (XNOR) weights and falls back to the
    model default ``fixed<16,6>``, which silently wraps. The sum of ``n_in`` terms ``+-x`` plus the
    bias needs the larger fractional part and enough integer bits for ``n_in x max|x| + max|bias|``.

    Example:
        >>> binary_dense_precision(16, "ufixed<8,3,RND_CONV,SAT>", "fixed<6,1>")
        'fixed<14,9>'
    """
    parsed_input, parsed_bias = _parse_fixed(input_precision), _parse_fixed(bias_precision)
    if parsed_input is None or parsed_bias is None:
        raise ModelError(
            f"Binary weights need a fixed-point input and bias to size the accumulator exactly. "
            f"Received input {input_precision}, bias {bias_precision}: put a QActivation before the layer."
        )
    input_signed, input_width, input_integer = parsed_input
    _, bias_width, bias_integer = parsed_bias
    largest = n_in * 2.0 ** (input_integer - int(input_signed)) + 2.0 ** (bias_integer - 1)
    integer = math.ceil(math.log2(largest)) + 1  # + sign bit
    fractional = max(input_width - input_integer, bias_width - bias_integer)
    return f"fixed<{integer + fractional},{integer}>"


def _size_binary_layers(model, hls_config: dict) -> None:
    layers = model.layers
    for previous, layer in zip(layers, layers[1:], strict=False):
        quantizer = getattr(layer, "kernel_quantizer_internal", None)
        if type(quantizer).__name__ != "binary":
            continue
        layer_config = hls_config["LayerName"][layer.name]
        input_precision = hls_config["LayerName"][previous.name]["Precision"]["result"]
        precision = binary_dense_precision(
            int(layer.kernel.shape[0]), input_precision, layer_config["Precision"]["bias"]
        )
        layer_config["Precision"]["accum"] = precision
        layer_config["Precision"]["result"] = precision
        # hls4ml keeps the Dense's linear activation as its own layer here; it must not narrow the sum
        linear = hls_config["LayerName"].get(f"{layer.name}_linear")
        if linear is not None:
            linear["Precision"]["result"] = precision


def _fold_requantizers(model, hls_config: dict) -> None:
    """Give a Dense followed by a ``QActivation(quantized_bits)`` that activation's type as its result.

    hls4ml's ``MergeLinearActivation`` folds such a linear quantizer into an ``auto``-typed Dense and
    the precision inference then overwrites it with the exact accumulator type: the requantization
    (e.g. of a low-rank bottleneck) silently disappears. With the Dense's result set to the
    quantizer's type, the exact accumulator is cast once, rounding and saturating as QKeras does.
    """
    layers = model.layers
    for layer, following in zip(layers, layers[1:], strict=False):
        quantizer = getattr(following, "quantizer", None)
        if type(layer).__name__ not in ("Dense", "QDense") or type(quantizer).__name__ != "quantized_bits":
            continue
        precision = hls_config["LayerName"][following.name]["Precision"]["result"]
        hls_config["LayerName"][layer.name]["Precision"]["result"] = precision


def softmax_table_types(n_classes: int) -> dict[str, str]:
    """Types that index hls4ml's stable-softmax tables finely; the logits are not touched.

    The tables are addressed by the top 10 bits of ``max - x`` (``inp_norm_t``) and of the sum of
    exponentials (``inv_inp_t``). hls4ml derives both from the logits' type, e.g. ``ufixed<19,9>``:
    steps of 0.5 in ``x``, coarse enough to change the winning class on about one jet in ten. On
    ``[0, 8)`` with 7 fractional bits the steps are 1/128 (``exp(-8) < 4e-4``: saturating there is
    harmless); the sum of ``n_classes`` exponentials, each at most 1, gets just enough integer bits.

    Example:
        >>> softmax_table_types(5)["inv_inp_t"]
        'ufixed<10,3,RND,SAT>'
    """
    sum_integer_bits = max(1, math.ceil(math.log2(n_classes + 1)))
    return {
        "inp_norm_t": "ufixed<10,3,RND,SAT>",
        "inv_inp_t": f"ufixed<{7 + sum_integer_bits},{sum_integer_bits},RND,SAT>",
        "exp_table_t": "ufixed<18,1,RND,SAT>",  # exp(x - max) in (0, 1]
        "inv_table_t": "ufixed<18,1,RND,SAT>",  # 1 / sum in [1 / n_classes, 1]
    }


def _tune_softmax_tables(model, hls_config: dict) -> None:
    for layer in model.layers:
        if type(layer).__name__ != "Activation" or layer.get_config().get("activation") != "softmax":
            continue
        layer_config = hls_config["LayerName"].get(layer.name)
        if layer_config is not None and layer_config.get("Implementation", "stable") == "stable":
            layer_config.update(softmax_table_types(int(layer.output_shape[-1])))


def hls4ml_config(model, config: BuildConfig) -> dict:
    """hls4ml's ``hls_config`` for ``model`` (already through :func:`prepare_for_hls4ml`)."""
    import hls4ml

    hls_config = hls4ml.utils.config_from_keras_model(
        model, granularity="name", backend=config.hls4ml_backend
    )
    hls_config["Model"]["ReuseFactor"] = config.reuse_factor
    hls_config["Model"]["Strategy"] = config.hls4ml_strategy
    for layer_config in hls_config["LayerName"].values():
        layer_config["Trace"] = True
        if "ReuseFactor" in layer_config:
            layer_config["ReuseFactor"] = config.reuse_factor
        layer_config["Strategy"] = config.hls4ml_strategy
    input_name = model.layers[0].name
    quantizer = input_quantizer_layer(model)
    if quantizer is not None:
        input_precision = _fixed_type(hls_config["LayerName"][quantizer.name]["Precision"]["result"])
    else:
        input_precision = config.input_precision or DEFAULT_INPUT_PRECISION
    hls_config["LayerName"].setdefault(input_name, {}).setdefault("Precision", {})["result"] = input_precision
    _size_binary_layers(model, hls_config)
    _fold_requantizers(model, hls_config)
    _tune_softmax_tables(model, hls_config)
    return hls_config
