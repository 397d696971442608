"""AutoPruner: node and input-feature pruning during training, exported as a smaller plain MLP.

The user states how many nodes survive per hidden layer (and how many input features); trainable
gates learn which, an annealing schedule turns them into an exact top-k mask, and the surviving
layout is exported as a physically resized Keras model that hls4ml converts directly.

Modules:

* ``spec``     — :class:`AutoPruneSpec` (the recipe section) and keep-count resolution
* ``layer``    — the :class:`NodeMask` Keras layer (serializable)
* ``schedule`` — :class:`TopKAnnealing`, the soft-to-hard callback
* ``network``  — reading an MLP as Dense blocks; inserting masks
* ``export``   — :func:`reduce_network` / :func:`export_reduced`: gates folded, dead nodes removed
* ``filters``  — convolutional models: masks over filters, the reduced CNN (next layers' inputs cut too)
* ``pipeline`` — :func:`autoprune`, the whole stage, and :func:`retrain_reduced`
* ``plots``    — accuracy vs nodes kept, accuracy vs features kept

Names resolve lazily, so importing this package (e.g. for the spec) does not import TensorFlow.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_PUBLIC_API: dict[str, str] = {
    "AutoPruneSpec": "spec",
    "resolve_keep_counts": "spec",
    "NodeMask": "layer",
    "node_masks": "layer",
    "harden_node_masks": "layer",
    "TopKAnnealing": "schedule",
    "insert_node_masks": "network",
    "insert_filter_masks": "filters",
    "reduce_filter_network": "filters",
    "ReducedNetwork": "export",
    "reduce_network": "export",
    "export_reduced": "export",
    "AutoPruneResult": "pipeline",
    "autoprune": "pipeline",
    "mask_model": "pipeline",
    "retrain_reduced": "pipeline",
    "plot_accuracy_vs_nodes_kept": "plots",
    "plot_accuracy_vs_features_kept": "plots",
}

__all__ = sorted(_PUBLIC_API)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
