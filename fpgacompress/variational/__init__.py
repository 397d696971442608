"""Sparse variational dropout (Molchanov, Ashukha, Vetrov 2017): Bayesian sparsification of Dense layers.

Every weight learns its own noise; weights whose noise swamps their mean (large ``log alpha``) are
useless and removed. The result is a plain Keras model with exact zeros and a pruning mask, so the
firmware path (quantize -> build -> csim -> report) does not care which method made the zeros.

Modules:

* ``layer``     — :class:`VariationalDense`, :class:`VariationalFeatureGate` (serializable)
* ``kl``        — the KL approximation and the :class:`KlWarmUp` callback
* ``convert``   — :func:`to_variational` (from a trained model) and :func:`export_sparse`
* ``threshold`` — :func:`threshold_mask`: log alpha -> :class:`~fpgacompress.pruning.PruningMask`;
  :func:`threshold_for_sparsity`: the cut that reaches a target sparsity
* ``spec``      — :class:`SparsifySpec`, the recipe section
* ``pipeline``  — :func:`sparsify`, the whole stage, and :class:`SparsifyResult`
* ``plots``     — log alpha histograms, input-feature relevance

Names resolve lazily, so importing this package (e.g. for the spec) does not import TensorFlow.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_PUBLIC_API: dict[str, str] = {
    "VariationalDense": "layer",
    "VariationalFeatureGate": "layer",
    "variational_layers": "layer",
    "KlWarmUp": "kl",
    "kl_divergence": "kl",
    "negative_kl": "kl",
    "to_variational": "convert",
    "export_sparse": "convert",
    "threshold_mask": "threshold",
    "threshold_for_sparsity": "threshold",
    "LayerSparsity": "threshold",
    "SparsifySpec": "spec",
    "SparsifyResult": "pipeline",
    "sparsify": "pipeline",
    "plot_log_alpha": "plots",
    "plot_feature_relevance": "plots",
}

__all__ = sorted(_PUBLIC_API)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
