"""Choosing which weights to cut: the smallest magnitudes, per layer or under one global threshold.

Pure NumPy on kernels and masks, so the choice is testable without training. Two rules hold for
every cut: a layer never goes beyond its ``max_sparsity`` cap, and every output neuron (kernel
column) keeps its largest weight, so no layer is ever pruned to dead outputs.
"""

from __future__ import annotations

import math

import numpy as np

from .mask import PruningMask
from .spec import PruneSpec

__all__ = ["next_mask", "layer_targets", "removable"]


def removable(kernel: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Kept weights that may be cut: all but the largest kept weight of each output column.

    A convolution kernel (``kernel_size... x in_channels x filters``) is read as its matrix
    ``(everything but filters) x filters``: every filter keeps its largest weight.
    """
    shape = kernel.shape
    kernel, kept = kernel.reshape(-1, shape[-1]), kept.reshape(-1, shape[-1])
    magnitude = np.where(kept, np.abs(kernel), -1.0)
    candidates = kept.copy()
    columns_with_weights = kept.any(axis=0)
    strongest_row = np.argmax(magnitude, axis=0)
    columns = np.flatnonzero(columns_with_weights)
    candidates[strongest_row[columns], columns] = False
    return candidates.reshape(shape)


def _room(name: str, kept: np.ndarray, candidates: np.ndarray, spec: PruneSpec) -> int:
    """How many more weights this layer may lose before hitting its cap or its last weights."""
    min_kept = math.ceil((1.0 - spec.max_sparsity_for(name)) * kept.size - 1e-9)
    return max(0, min(int(candidates.sum()), int(kept.sum()) - min_kept))


def _distribute(wanted: dict[str, int], total: int) -> dict[str, int]:
    """Scale per-layer counts down so they sum to ``total`` (largest remainders get the rest)."""
    requested = sum(wanted.values())
    if requested <= total:
        return dict(wanted)
    exact = {name: count * total / requested for name, count in wanted.items()}
    counts = {name: int(math.floor(value)) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - counts[name], reverse=True)
    for name in by_remainder[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def _cut_smallest(kernel: np.ndarray, kept: np.ndarray, candidates: np.ndarray, count: int) -> np.ndarray:
    new_kept = kept.copy()
    if count <= 0:
        return new_kept
    flat = np.flatnonzero(candidates)
    order = np.argsort(np.abs(kernel.ravel()[flat]), kind="stable")
    new_kept.ravel()[flat[order[:count]]] = False
    return new_kept


def next_mask(kernels: dict[str, np.ndarray], mask: PruningMask, spec: PruneSpec) -> PruningMask:
    """The mask after one pruning iteration.

    ``scope='layer'`` cuts ``fraction_for(layer)`` of each layer's kept weights; ``scope='global'``
    cuts ``fraction_per_iteration`` of all kept weights under one magnitude threshold. Either way
    the cut stops at ``target_sparsity`` overall (so the last iteration lands on the target), and
    the returned mask equals ``mask`` when nothing more may be cut.
    """
    total = mask.n_weights
    needed = mask.n_kept - int(round((1.0 - spec.target_sparsity) * total))
    if needed <= 0:
        return mask
    candidates = {name: removable(kernels[name], kept) for name, kept in mask.masks.items()}
    room = {name: _room(name, mask.masks[name], candidates[name], spec) for name in mask.masks}
    if spec.scope == "layer":
        wanted = {
            name: min(room[name], max(1, round(spec.fraction_for(name) * int(kept.sum()))))
            for name, kept in mask.masks.items()
        }
        counts = _distribute(wanted, needed)
    else:
        counts = _global_counts(
            kernels, candidates, room, min(needed, max(1, round(spec.fraction_per_iteration * mask.n_kept)))
        )
    return PruningMask(
        {
            name: _cut_smallest(kernels[name], kept, candidates[name], counts.get(name, 0))
            for name, kept in mask.masks.items()
        }
    )


def _global_counts(kernels, candidates, room, count: int) -> dict[str, int]:
    """Per-layer cut counts for the ``count`` globally smallest cuttable weights, honouring ``room``."""
    names, magnitudes = [], []
    for name, cuttable in candidates.items():
        values = np.abs(kernels[name][cuttable])
        magnitudes.append(values)
        names.append(np.full(values.size, name, dtype=object))
    if not magnitudes:
        return {}
    magnitudes = np.concatenate(magnitudes)
    owners = np.concatenate(names)
    counts = dict.fromkeys(candidates, 0)
    taken = 0
    for index in np.argsort(magnitudes, kind="stable"):
        owner = owners[index]
        if counts[owner] < room[owner]:
            counts[owner] += 1
            taken += 1
            if taken == count:
                break
    return counts


def layer_targets(sizes: dict[str, int], spec: PruneSpec) -> dict[str, float]:
    """Per-layer final sparsities whose weighted sum is ``target_sparsity`` (for one-shot schedules).

    Layers capped below the target (``max_sparsity``, or excluded: cap 0) keep their cap; the other
    layers share the remainder equally, so the model as a whole still lands on the target.
    """
    total = sum(sizes.values())
    capped = {
        name: spec.max_sparsity_for(name)
        for name in sizes
        if spec.max_sparsity_for(name) < spec.target_sparsity
    }
    free = [name for name in sizes if name not in capped]
    free_weights = sum(sizes[name] for name in free)
    targets = dict(capped)
    if free_weights:
        pruned_by_capped = sum(capped[name] * sizes[name] for name in capped)
        share = (spec.target_sparsity * total - pruned_by_capped) / free_weights
        for name in free:
            targets[name] = float(min(max(share, 0.0), spec.max_sparsity_for(name), 0.99))
    return targets
