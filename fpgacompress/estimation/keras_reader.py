"""Read a Keras / QKeras model into a :class:`DesignSpec` without running hls4ml.

QKeras quantizers give the types (``quantized_bits(6,0)`` -> ``ap_fixed<6,1>``,
``quantized_relu(6)`` -> ``ap_ufixed<6,0>``), as hls4ml's own converter reads them; float layers
take ``default_precision``. Each layer's kind (:mod:`fpgacompress.layer_kinds`) gives its cost
objects; a layer without a kind is refused.
"""

from __future__ import annotations

from pathlib import Path

from .fixed_point import FixedPointType, parse_fixed_point
from .hls_tools import DEFAULT_HLS_TOOL
from .keras_conv import per_pixel
from .layers import DesignSpec

__all__ = ["read_keras_model", "quantizer_type"]


def quantizer_type(quantizer, default: FixedPointType, unsigned: bool = False) -> FixedPointType:
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
    from ..layer_kinds import kind_of

    default = parse_fixed_point(default_precision)
    layers = []
    current_type = default
    for layer in model.layers:  # each layer's kind says how it is costed
        specs, current_type = kind_of(layer).estimator_specs(layer, current_type, default, reuse_factor)
        layers.extend(per_pixel(specs, layers[-1] if layers else None))  # feature maps: one pixel's hardware
    return DesignSpec(
        layers=tuple(layers),
        clock_period_ns=clock_period_ns,
        hls_tool=hls_tool,
        multiplier_binding=multiplier_binding,
    )
