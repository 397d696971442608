"""Pruning: masks that hold weights at exactly zero, and the methods that choose them.

Modules:
    mask: :class:`PruningMask`, the :class:`KernelMask` constraint and :func:`apply_mask`.
    spec: :class:`PruneSpec`, the validated configuration (method, scope, targets, budget, schedule).
    magnitude: which weights to cut next (per layer or global threshold), pure NumPy.
    iterative: cut, retrain with the mask constraint, repeat.
    tfmot: TF-MOT ``prune_low_magnitude`` and :func:`strip`.
    result: :class:`PruneRecord` / :class:`PruneResult`, plots and the run directory.
    api: :func:`prune`, the entry point for both methods.

Importing this package does not import TensorFlow; the names below load their module on first use.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

__all__ = [
    "AccuracyBudget",
    "KernelMask",
    "LayerOverride",
    "PruneRecord",
    "PruneResult",
    "PruneSpec",
    "PruningMask",
    "TfmotSchedule",
    "apply_mask",
    "prunable_layers",
    "prune",
    "strip",
]

_HOMES = {
    "AccuracyBudget": "spec",
    "LayerOverride": "spec",
    "PruneSpec": "spec",
    "TfmotSchedule": "spec",
    "KernelMask": "mask",
    "PruningMask": "mask",
    "apply_mask": "mask",
    "prunable_layers": "mask",
    "PruneRecord": "result",
    "PruneResult": "result",
    "prune": "api",
    "strip": "tfmot",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
