"""How much each kernel weight is worth keeping, per pruning criterion (higher: keep longer).

- ``magnitude``: ``|w|``, the classic rule; needs nothing but the weights.
- ``obd``: optimal brain damage, ``1/2 * H_ii * w**2`` with the Gauss-Newton diagonal of
  :func:`~fpgacompress.pruning.hessian.diagonal_hessian` on training jets: the loss that removing
  the weight costs, in the same units across layers (so a global threshold is meaningful).
- ``resource``: the OBD saliency divided by the weight's hardware cost in LUT equivalents
  (:func:`~fpgacompress.pruning.cost.product_costs`): the loss kept per LUT. Cutting the lowest
  ratio first is the greedy solution of the knapsack "keep the most saliency within a cost".

With ``reuse_factor > 1`` and pattern pruning, the weights that share one multiplier are scored
as a group (see :func:`multiplier_groups`).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .cost import LUT_PER_DSP, product_costs
from .mask import prunable_layers

__all__ = ["CRITERIA", "weight_scores", "multiplier_groups"]

CRITERIA = ("magnitude", "obd", "resource")


def weight_scores(
    model,
    criterion: str,
    x_train=None,
    *,
    hessian_samples: int | None = 8192,
    multiplier_binding: str = "auto",
    default_precision: str = "ap_fixed<16,6>",
    lut_per_dsp: float = LUT_PER_DSP,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Non-negative scores shaped like each prunable kernel; the smallest are cut first."""
    kernels = {layer.name: np.asarray(layer.kernel.numpy()) for layer in prunable_layers(model)}
    if criterion == "magnitude":
        return {name: np.abs(kernel) for name, kernel in kernels.items()}
    if criterion not in CRITERIA:
        raise ConfigError(f"Unknown pruning criterion {criterion!r}. Available: {', '.join(CRITERIA)}.")
    if x_train is None:
        raise ConfigError(f"Criterion {criterion!r} needs training inputs to estimate the Hessian.")
    from .hessian import diagonal_hessian

    hessians = diagonal_hessian(model, x_train, max_samples=hessian_samples, seed=seed)
    saliency = {
        name: 0.5 * hessians[name] * kernel.astype(np.float64) ** 2 for name, kernel in kernels.items()
    }
    if criterion == "obd":
        return saliency
    costs = product_costs(model, multiplier_binding=multiplier_binding, default_precision=default_precision)
    return {name: value / costs[name].combined(lut_per_dsp) for name, value in saliency.items()}


def multiplier_groups(shape: tuple[int, int], reuse_factor: int) -> np.ndarray:
    """Index of the multiplier each kernel weight runs on, shaped like the kernel.

    hls4ml's resource strategy walks the transposed kernel (``n_out x n_in``, flattened) and gives
    multiplier ``m`` the ``reuse_factor`` consecutive weights ``m*RF ... m*RF + RF - 1``; hls4ml's
    own optimizer (``dsp_aware_pruning``, ``PATTERN`` structures) groups weights the same way.
    Removing a whole group removes the multiplier.

    Raises:
        ConfigError: ``reuse_factor`` does not divide ``n_in * n_out`` (hls4ml rejects it too).
    """
    n_in, n_out = shape
    if reuse_factor < 1 or (n_in * n_out) % reuse_factor:
        raise ConfigError(
            f"reuse_factor must divide the kernel size {n_in}x{n_out}={n_in * n_out} for pattern pruning. "
            f"Received reuse_factor={reuse_factor}."
        )
    transposed_index = np.arange(n_in * n_out).reshape(n_out, n_in)  # position in kernel.T.ravel()
    return (transposed_index // reuse_factor).T
