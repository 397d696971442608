"""The single place that writes hls4ml's configuration dictionary.

Precision comes from the QKeras quantizers (``config_from_keras_model(granularity='name')``);
accumulators and results stay ``auto`` so hls4ml infers types wide enough to be exact. This module
only adds what a build decides: reuse factor, strategy, the input precision, and per-layer tracing
(so the C-simulation can name the first layer where firmware and Python differ); each layer's kind
(:mod:`fpgacompress.layer_kinds`) adds what it needs, e.g. the softmax tables, fused or not.
"""

from __future__ import annotations

from ..layer_kinds.activation import softmax_table_types
from ..layer_kinds.dense import binary_dense_precision
from .settings import DEFAULT_INPUT_PRECISION, BuildConfig

__all__ = [
    "prepare_for_hls4ml",
    "input_quantizer_layer",
    "hls4ml_config",
    "binary_dense_precision",
    "softmax_table_types",
]


def _chain(model) -> list:
    """The model's layers after the input, in order; the flow builds single chains (MLPs and CNNs)."""
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


def _fold_requantizers(model, hls_config: dict) -> None:
    """Give a Dense followed by a ``QActivation(quantized_bits)`` that activation's type as its result.

    hls4ml's ``MergeLinearActivation`` folds such a linear quantizer into an ``auto``-typed Dense and
    the precision inference then overwrites it with the exact accumulator type: the requantization
    (e.g. of a low-rank bottleneck) silently disappears. With the Dense's result set to the
    quantizer's type, the exact accumulator is cast once, rounding and saturating as QKeras does.
    A pattern across two layers, so it is a pass here rather than one kind's setting.
    """
    layers = _chain(model)
    for layer, following in zip(layers, layers[1:], strict=False):
        quantizer = getattr(following, "quantizer", None)
        if type(layer).__name__ not in ("Dense", "QDense") or type(quantizer).__name__ != "quantized_bits":
            continue
        if getattr(layer.activation, "__name__", "linear") != "linear":
            continue  # a fused activation is its own step between the two
        precision = hls_config["LayerName"][following.name]["Precision"]["result"]
        hls_config["LayerName"][layer.name]["Precision"]["result"] = precision


def hls4ml_config(model, config: BuildConfig) -> dict:
    """hls4ml's ``hls_config`` for ``model`` (already through :func:`prepare_for_hls4ml`)."""
    import hls4ml

    from ..layer_kinds import kind_of

    hls_config = hls4ml.utils.config_from_keras_model(
        model, granularity="name", backend=config.hls4ml_backend
    )
    hls_config["Model"]["ReuseFactor"] = config.reuse_factor
    hls_config["Model"]["Strategy"] = config.hls4ml_strategy
    hls_config["Model"]["ConvImplementation"] = config.hls4ml_conv_implementation
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
    previous_step = input_name
    for layer in _chain(model):  # each kind adds what it needs (binary accumulators, softmax tables)
        kind = kind_of(layer)
        kind.hls_settings(layer, hls_config, previous_step)
        previous_step = next((step.name for step in reversed(kind.steps(layer))), previous_step)
    _fold_requantizers(model, hls_config)
    return hls_config
