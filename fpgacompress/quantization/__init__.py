"""Quantization: from a float (or pruned) Keras MLP to a QKeras model the firmware reproduces bit for bit.

* ``spec``      — :class:`QuantizationSpec`: per-layer fixed point / ternary / binary, hls4ml precedence
* ``convert``   — :func:`quantize`: ``Dense`` -> ``QDense``, ReLU -> ``QActivation``, zeros held
* ``fine_tune`` — :func:`quantization_aware_training`: QAT that keeps every pruned weight at zero
* ``suggest``   — :func:`suggest_precision`: integer bits per layer from observed ranges
* ``report``    — :func:`quantization_report`: bits, sparsity, multiplications and BOPs per layer
* ``ptq``       — :func:`post_training_quantize`: a float model -> the QKeras model its firmware computes
* ``ttq``       — :func:`trained_ternary_quantization`: learned {+W+, 0, -W-} per layer, exported bit-exact
* ``codebook``  — :func:`weight_sharing`: a k-means codebook of 2^b fixed-point values per layer
* ``chain``     — :func:`rebuild_chain`: swap dense layers of a chain (training layer <-> QDense export)
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

# public name -> module defining it; resolved on first use so that reading a recipe's
# ``quantization`` section does not import TensorFlow.
_PUBLIC_API = {
    "quantize": "convert",
    "QuantizationResult": "fine_tune",
    "quantization_aware_training": "fine_tune",
    "LayerReport": "report",
    "QuantizationReport": "report",
    "quantization_report": "report",
    "ActivationQuantizer": "spec",
    "FixedPoint": "spec",
    "LayerQuantization": "spec",
    "QuantizationSpec": "spec",
    "QuantizationTable": "spec",
    "WeightQuantizer": "spec",
    "load_spec": "spec",
    "save_spec": "spec",
    "suggest_precision": "suggest",
    "PtqResult": "ptq",
    "post_training_quantize": "ptq",
    "fold_batch_norms": "ptq",
    "TTQDense": "ttq",
    "TTQResult": "ttq",
    "export_ttq": "ttq",
    "trained_ternary_quantization": "ttq",
    "CodebookDense": "codebook",
    "SharingResult": "codebook",
    "export_codebook": "codebook",
    "weight_sharing": "codebook",
}

__all__ = sorted(_PUBLIC_API)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
