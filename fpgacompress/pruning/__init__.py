"""Pruning: masks that hold weights at exactly zero, and the methods that choose them.

Modules:
    mask: :class:`PruningMask`, the :class:`KernelMask` constraint and :func:`apply_mask`.
    spec: :class:`PruneSpec`, the validated configuration (method, scope, targets, budget, schedule).
    magnitude: which weights to cut next (per layer or global threshold), pure NumPy.
    hessian: the Gauss-Newton diagonal of the loss, for OBD saliency.
    cost: what each weight costs the FPGA (the one adapter to the estimator).
    saliency: scores per criterion (magnitude, obd, resource) and multiplier groups.
    patterns: pattern pruning at reuse factor > 1 (a whole multiplier at a time).
    schedules: polynomial (Zhu & Gupta) sparsity steps and learning-rate restarts.
    budget: a resource budget on a board and the knapsack cut towards it.
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
    "HardwareTarget",
    "KernelMask",
    "LayerOverride",
    "PruneRecord",
    "PruneResult",
    "PruneSpec",
    "PruningMask",
    "ResourceBudget",
    "ResourceBudgetError",
    "TfmotSchedule",
    "apply_mask",
    "diagonal_hessian",
    "prunable_layers",
    "prune",
    "strip",
    "weight_scores",
]

_HOMES = {
    "AccuracyBudget": "spec",
    "LayerOverride": "spec",
    "PruneSpec": "spec",
    "TfmotSchedule": "spec",
    "HardwareTarget": "spec",
    "ResourceBudget": "budget",
    "ResourceBudgetError": "budget",
    "diagonal_hessian": "hessian",
    "weight_scores": "saliency",
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
