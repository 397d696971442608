"""From trained log alphas to a pruning mask: the threshold, its checks and the per-layer summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..pruning.mask import PruningMask
from .layer import VariationalDense, variational_layers

__all__ = ["LayerSparsity", "threshold_mask", "threshold_for_sparsity"]


@dataclass(frozen=True)
class LayerSparsity:
    """One variational layer after thresholding.

    Attributes:
        name: layer name (the same in the exported model).
        n_weights / n_kept: weights in the layer and weights surviving the threshold (and fallback).
        log_alpha: every weight's log alpha (for the histogram), in the layer's weight shape.
        n_fallback: weights kept by ``keep_best_per_output`` although over the threshold.
        threshold: the log alpha cut applied to this layer (``nan``: not recorded).
    """

    name: str
    n_weights: int
    n_kept: int
    log_alpha: np.ndarray
    n_fallback: int = 0
    threshold: float = float("nan")

    @property
    def sparsity(self) -> float:
        return 1.0 - self.n_kept / max(self.n_weights, 1)

    def to_dict(self) -> dict:
        quantiles = np.quantile(self.log_alpha, [0.0, 0.1, 0.5, 0.9, 1.0]) if self.log_alpha.size else []
        return {
            "n_weights": self.n_weights,
            "n_kept": self.n_kept,
            "sparsity": self.sparsity,
            "n_fallback": self.n_fallback,
            "threshold": self.threshold,
            "log_alpha_quantiles": dict(
                zip(("min", "p10", "median", "p90", "max"), map(float, quantiles), strict=False)
            ),
        }


def threshold_for_sparsity(variational, target_sparsity: float) -> float:
    """The log alpha cut that removes ``target_sparsity`` of all ``VariationalDense`` weights together.

    Weights are removed in order of decreasing log alpha (the noisiest first), over every Dense layer
    at once, as a global magnitude threshold ranks weights: the cut is the k-th largest log alpha,
    ``k = ceil(target_sparsity * n)``, so at least the target is removed. Ties (log alpha is clipped
    at 10) are removed together, so the sparsity reached can exceed the target; the feature gate is
    not counted.
    """
    dense = [layer for layer in variational_layers(variational) if isinstance(layer, VariationalDense)]
    if not dense:
        raise ModelError(f"Model '{variational.name}' has no VariationalDense layer to rank.")
    log_alpha = np.concatenate([layer.log_alpha().ravel() for layer in dense])
    removed = min(max(math.ceil(target_sparsity * log_alpha.size - 1e-9), 1), log_alpha.size)
    return float(np.sort(log_alpha)[::-1][removed - 1])


def threshold_mask(
    variational, threshold: float, on_empty_layer: str = "refuse", *, target_sparsity: float | None = None
) -> tuple[PruningMask, dict[str, LayerSparsity]]:
    """Keep the weights with ``log alpha < threshold`` in every variational layer.

    Every layer's inference threshold is set to the cut it receives, so the variational model's
    deterministic output keeps matching the mask.

    Args:
        variational: a trained model with variational layers.
        threshold: the log alpha cut (of every layer, or of the feature gate alone with ``target_sparsity``).
        on_empty_layer: ``refuse`` or ``keep_best_per_output`` when a layer (or the feature gate) would
            lose every weight.
        target_sparsity: if given, the Dense layers' cut is :func:`threshold_for_sparsity` instead.

    Raises:
        ModelError: a log alpha is not finite (the training diverged), or the threshold empties a
            Dense layer and ``on_empty_layer`` is ``refuse``.
    """
    layers = variational_layers(variational)
    if not layers:
        raise ModelError(f"Model '{variational.name}' has no variational layer to threshold.")
    dense_threshold = threshold
    if target_sparsity is not None:
        dense_threshold = threshold_for_sparsity(variational, target_sparsity)
    masks, summary = {}, {}
    for layer in layers:
        cut = dense_threshold if isinstance(layer, VariationalDense) else threshold
        raw = layer.log_sigma2.numpy() - np.log(np.square(layer.theta.numpy().astype(np.float64)) + 1e-8)
        bad = int(np.count_nonzero(~np.isfinite(raw)))
        if bad:
            raise ModelError(
                f"Layer '{layer.name}' has {bad} non-finite log alpha values (the variational training diverged); "
                "lower the learning rate or raise initial_log_sigma2, and train again."
            )
        log_alpha = layer.log_alpha()
        keep = log_alpha < np.float32(cut)  # the layer compares in float32 too
        n_fallback = 0
        if not keep.any():
            if on_empty_layer == "refuse":
                raise ModelError(
                    f"threshold={cut:g} removes every weight of layer '{layer.name}' (smallest log alpha "
                    f"{float(log_alpha.min()):.2f}), so the output would not depend on the input. Raise the "
                    "threshold (or lower target_sparsity), train fewer epochs, or set on_empty_layer: "
                    "keep_best_per_output."
                )
            keep = np.zeros_like(keep)
            if isinstance(layer, VariationalDense):  # each output keeps its least noisy weight
                keep[np.argmin(log_alpha, axis=0), np.arange(keep.shape[1])] = True
            else:  # the feature gate keeps its most relevant feature
                keep[np.argmin(log_alpha)] = True
            n_fallback = int(keep.sum())
        masks[layer.name] = keep
        layer.set_threshold(cut)
        summary[layer.name] = LayerSparsity(
            layer.name, int(keep.size), int(keep.sum()), log_alpha, n_fallback, float(np.float32(cut))
        )
    return PruningMask(masks), summary
