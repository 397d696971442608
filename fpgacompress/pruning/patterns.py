"""Pattern pruning for a reuse factor above 1: cut every weight of a multiplier together.

At ``reuse_factor`` RF, hls4ml's resource strategy runs ``n_in * n_out / RF`` multipliers, each
over RF weights (:func:`~fpgacompress.pruning.saliency.multiplier_groups`). Unstructured zeros
scattered over the groups save no multiplier; zeroing a whole group does. Groups are ranked by the
sum of their members' scores (for OBD: the predicted loss of removing them all) and cut under one
global threshold, never leaving an output neuron without weights and never beyond a layer's
``max_sparsity`` cap.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from .mask import PruningMask
from .saliency import multiplier_groups
from .spec import PruneSpec

__all__ = ["next_pattern_mask"]


def next_pattern_mask(
    scores: dict[str, np.ndarray], mask: PruningMask, spec: PruneSpec, reuse_factor: int
) -> PruningMask:
    """The mask after one iteration that removes whole multiplier groups (the lowest scores first)."""
    convolutions = [name for name, kept in mask.masks.items() if kept.ndim != 2]
    if convolutions:
        raise ConfigError(
            f"Pattern pruning at reuse_factor={reuse_factor} groups the weights of one multiplier of a Dense "
            f"layer; convolution kernels ({', '.join(convolutions)}) are not grouped yet. Prune convolutional "
            "models at hardware.reuse_factor: 1 (unstructured zeros), or use AutoPruner to remove whole filters."
        )
    total = mask.n_weights
    needed = mask.n_kept - int(round((1.0 - spec.target_sparsity) * total))
    budget = min(needed, max(1, round(spec.fraction_per_iteration * mask.n_kept)))
    if needed <= 0:
        return mask
    candidates = []  # (score, layer, group id, weights it removes)
    groups = {}
    for name, kept in mask.masks.items():
        groups[name] = multiplier_groups(kept.shape, reuse_factor)
        for group in np.unique(groups[name][kept]):
            members = (groups[name] == group) & kept
            candidates.append(
                (float(np.abs(scores[name][members]).sum()), name, int(group), int(members.sum()))
            )
    candidates.sort(key=lambda item: item[0])
    new = {name: kept.copy() for name, kept in mask.masks.items()}
    min_kept = {
        name: math.ceil((1.0 - spec.max_sparsity_for(name)) * kept.size - 1e-9)
        for name, kept in mask.masks.items()
    }
    removed = 0
    for _, name, group, size in candidates:
        if removed >= budget:
            break
        members = groups[name] == group
        trial = new[name] & ~members
        if trial.sum() < min_kept[name] or not (trial.any(axis=0) | ~new[name].any(axis=0)).all():
            continue  # the layer's cap, or an output neuron would lose its last weight
        new[name] = trial
        removed += size
    return PruningMask(new)
