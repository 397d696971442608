"""Quantization: from a float (or pruned) Keras MLP to a QKeras model the firmware reproduces bit for bit.

* ``spec``      — :class:`QuantizationSpec`: per-layer fixed point / ternary / binary, hls4ml precedence
* ``convert``   — :func:`quantize`: ``Dense`` -> ``QDense``, ReLU -> ``QActivation``, zeros held
* ``fine_tune`` — :func:`quantization_aware_training`: QAT that keeps every pruned weight at zero
* ``suggest``   — :func:`suggest_precision`: integer bits per layer from observed ranges
* ``report``    — :func:`quantization_report`: bits, sparsity, multiplications and BOPs per layer

Example:
    >>> from fpgacompress.quantization import QuantizationSpec, quantization_aware_training
    >>> result = quantization_aware_training(model, QuantizationSpec.uniform(6), data)
"""

from __future__ import annotations

from .convert import quantize
from .fine_tune import QuantizationResult, quantization_aware_training
from .report import LayerReport, QuantizationReport, quantization_report
from .spec import (
    ActivationQuantizer,
    FixedPoint,
    LayerQuantization,
    QuantizationSpec,
    QuantizationTable,
    WeightQuantizer,
    load_spec,
    save_spec,
)
from .suggest import suggest_precision

__all__ = [
    "ActivationQuantizer",
    "FixedPoint",
    "LayerQuantization",
    "LayerReport",
    "QuantizationReport",
    "QuantizationResult",
    "QuantizationSpec",
    "QuantizationTable",
    "WeightQuantizer",
    "load_spec",
    "quantization_aware_training",
    "quantization_report",
    "quantize",
    "save_spec",
    "suggest_precision",
]
