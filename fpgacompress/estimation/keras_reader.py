"""Read a Keras / QKeras model into a :class:`DesignSpec` without running hls4ml.

QKeras quantizers give the types (``quantized_bits(6,0)`` -> ``ap_fixed<6,1>``,
``quantized_relu(6)`` -> ``ap_ufixed<6,0>``), as hls4ml's own converter reads them; float layers
take ``default_precision``. Dense and Activation layers are modelled; anything else is refused.

Example:
    >>> design = read_keras_model("runs/qkeras_6bit/model.h5", reuse_factor=2)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from .fixed_point import FixedPointType, parse_fixed_point
from .hls_tools import DEFAULT_HLS_TOOL
from .layers import ActivationSpec, DenseSpec, DesignSpec

__all__ = ["read_keras_model"]


def _quantizer_type(quantizer, default: FixedPointType, unsigned: bool = False) -> FixedPointType:
    if quantizer is None:
        return default
    config = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    bits = int(config.get("bits", default.width))
    integer = int(config.get("integer", 0))
    if unsigned:
        return FixedPointType(bits, integer, signed=False)
    return FixedPointType(bits, integer + 1, signed=True)


def read_keras_model(
    model,
    *,
    clock_period_ns: float = 5.0,
    hls_tool: str = DEFAULT_HLS_TOOL,
    multiplier_binding: str = "auto",
    default_precision: str = "ap_fixed<16,6>",
    reuse_factor: int = 1,
) -> DesignSpec:
    """Build the estimator's input from a model object or a saved model path."""
    if isinstance(model, (str, Path)):
        from ..model_io import load_model

        model = load_model(model)
    default = parse_fixed_point(default_precision)
    layers = []
    current_type = default
    for layer in model.layers:
        class_name = type(layer).__name__
        if class_name == "InputLayer":
            continue
        if class_name in ("Dense", "QDense"):
            kernel = np.asarray(layer.get_weights()[0])
            weight_type = _quantizer_type(getattr(layer, "kernel_quantizer_internal", None), default)
            if class_name == "QDense" and getattr(layer, "kernel_quantizer_internal", None) is not None:
                kernel = np.asarray(layer.kernel_quantizer_internal(kernel))
            layers.append(
                DenseSpec(
                    name=layer.name,
                    weights=kernel,
                    input_type=current_type,
                    weight_type=weight_type,
                    accum_type=default,
                    reuse_factor=reuse_factor,
                )
            )
            current_type = default
            activation = getattr(layer.activation, "__name__", "linear")
            if activation != "linear":
                layers.append(
                    ActivationSpec(
                        f"{layer.name}_{activation}", activation, kernel.shape[1], default, default
                    )
                )
        elif class_name in ("Activation", "QActivation", "ReLU", "Softmax"):
            function = getattr(getattr(layer, "activation", None), "__name__", None) or class_name.lower()
            quantizer = getattr(layer, "quantizer", None)
            result_type = default
            if quantizer is not None:
                function = "relu" if "relu" in type(quantizer).__name__ else "linear"
                result_type = _quantizer_type(quantizer, default, unsigned=function == "relu")
            size = int(np.prod(layer.output_shape[1:]))
            layers.append(ActivationSpec(layer.name, str(function).lower(), size, current_type, result_type))
            current_type = result_type
        elif class_name in ("Dropout", "Flatten"):
            continue
        else:
            raise ModelError(
                f"Layer {layer.name!r} ({class_name}) is not supported by the estimator: it models Dense/QDense and "
                "Activation/QActivation layers. Estimate the hls4ml project instead (fpgacompress report PROJECT)."
            )
    return DesignSpec(
        layers=tuple(layers),
        clock_period_ns=clock_period_ns,
        hls_tool=hls_tool,
        multiplier_binding=multiplier_binding,
    )
