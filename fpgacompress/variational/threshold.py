"""From trained log alphas to a pruning mask: the threshold, its checks and the per-layer summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..pruning.mask import PruningMask
from .layer import VariationalDense, variational_layers

__all__ = ["LayerSparsity", "threshold_mask"]


@dataclass(frozen=True)
class LayerSparsity:
    """One variational layer after thresholding.

    Attributes:
        name: layer name (the same in the exported model).
        n_weights / n_kept: weights in the layer and weights surviving the threshold (and fallback).
        log_alpha: every weight's log alpha (for the histogram), in the layer's weight shape.
        n_fallback: weights kept by ``keep_best_per_output`` although over the threshold.
    """

    name: str
    n_weights: int
    n_kept: int
    log_alpha: np.ndarray
    n_fallback: int = 0

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
            "log_alpha_quantiles": dict(
                zip(("min", "p10", "median", "p90", "max"), map(float, quantiles), strict=False)
            ),
        }


def threshold_mask(
    variational, threshold: float, on_empty_layer: str = "refuse"
) -> tuple[PruningMask, dict[str, LayerSparsity]]:
    """Keep the weights with ``log alpha < threshold`` in every variational layer.

    Args:
        variational: a trained model with variational layers.
        threshold: the log alpha cut.
        on_empty_layer: ``refuse`` or ``keep_best_per_output`` when a layer (or the feature gate) would
            lose every weight.

    Raises:
        ModelError: a log alpha is not finite (the training diverged), or the threshold empties a
            Dense layer and ``on_empty_layer`` is ``refuse``.
    """
    layers = variational_layers(variational)
    if not layers:
        raise ModelError(f"Model '{variational.name}' has no variational layer to threshold.")
    masks, summary = {}, {}
    for layer in layers:
        raw = layer.log_sigma2.numpy() - np.log(np.square(layer.theta.numpy().astype(np.float64)) + 1e-8)
        bad = int(np.count_nonzero(~np.isfinite(raw)))
        if bad:
            raise ModelError(
                f"Layer '{layer.name}' has {bad} non-finite log alpha values (the variational training diverged); "
                "lower the learning rate or raise initial_log_sigma2, and train again."
            )
        log_alpha = layer.log_alpha()
        keep = log_alpha < np.float32(threshold)  # the layer compares in float32 too
        n_fallback = 0
        if not keep.any():
            if on_empty_layer == "refuse":
                raise ModelError(
                    f"threshold={threshold} removes every weight of layer '{layer.name}' (smallest log alpha "
                    f"{float(log_alpha.min()):.2f}), so the output would not depend on the input. Raise the "
                    "threshold, train fewer epochs, or set on_empty_layer: keep_best_per_output."
                )
            keep = np.zeros_like(keep)
            if isinstance(layer, VariationalDense):  # each output keeps its least noisy weight
                keep[np.argmin(log_alpha, axis=0), np.arange(keep.shape[1])] = True
            else:  # the feature gate keeps its most relevant feature
                keep[np.argmin(log_alpha)] = True
            n_fallback = int(keep.sum())
        masks[layer.name] = keep
        summary[layer.name] = LayerSparsity(
            layer.name, int(keep.size), int(keep.sum()), log_alpha, n_fallback
        )
    return PruningMask(masks), summary
