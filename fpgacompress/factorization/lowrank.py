"""SVD low-rank factorization of Dense layers: ``W ~ U_r S_r V_r^T`` split into two Dense layers.

A Dense(n->m) layer costs ``n*m`` products; its rank-``r`` factorization Dense(n->r, linear, no
bias) + Dense(r->m) costs ``r*(n+m)``, fewer when ``r < n*m/(n+m)``. The singular values are split
evenly (``U_r sqrt(S_r)`` and ``sqrt(S_r) V_r^T``) so both factors have similar ranges, which
suits a common fixed-point weight type. The first layer is named ``NAME_bottleneck`` and the
second keeps ``NAME``, so a quantization spec written for the original names still applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import TrainingConfig
from ..data import Dataset, Standardizer
from ..errors import ConfigError

__all__ = [
    "BOTTLENECK_SUFFIX",
    "FactorizationResult",
    "choose_rank",
    "factorize",
    "factorize_and_fine_tune",
    "products",
]

BOTTLENECK_SUFFIX = "_bottleneck"


def products(n_in: int, n_out: int, rank: int | None = None) -> int:
    """Products of a Dense layer (``rank=None``) or of its rank-``rank`` factorization."""
    return n_in * n_out if rank is None else rank * (n_in + n_out)


def choose_rank(
    kernel: np.ndarray,
    *,
    rank: int | None = None,
    energy: float | None = None,
    max_products: int | None = None,
    name: str = "layer",
) -> int:
    """The rank for ``kernel`` (n x m): given, by retained energy, or the largest within a products budget.

    ``energy`` is the fraction of ``sum(s_i**2)`` the kept singular values retain.

    Raises:
        ConfigError: not exactly one criterion, a rank outside ``[1, min(n, m))``, an energy outside
            (0, 1), or a budget below one rank.
    """
    n_in, n_out = kernel.shape
    given = [value is not None for value in (rank, energy, max_products)]
    if sum(given) != 1:
        raise ConfigError("Give exactly one of --rank, --energy or --max-products.")
    full = min(n_in, n_out)
    if energy is not None:
        if not 0.0 < energy < 1.0:
            raise ConfigError(
                f"--energy is the fraction of singular-value energy kept, in (0, 1); received {energy}."
            )
        singular = np.linalg.svd(kernel.astype(np.float64), compute_uv=False)
        cumulative = np.cumsum(singular**2) / max(np.sum(singular**2), 1e-300)
        rank = int(np.searchsorted(cumulative, energy) + 1)
        return min(rank, max(full - 1, 1))
    if max_products is not None:
        rank = max_products // (n_in + n_out)
        if rank < 1:
            raise ConfigError(
                f"Layer '{name}' ({n_in}->{n_out}): a budget of {max_products} products is below one rank, "
                f"which costs {n_in + n_out}. Give --max-products >= {n_in + n_out}."
            )
        return min(rank, max(full - 1, 1))
    if rank < 1 or rank >= full:
        raise ConfigError(
            f"Layer '{name}' is Dense({n_in}->{n_out}): its rank must be in [1, {full - 1}] (below min(n, m) = {full}, "
            f"else nothing is saved); received rank={rank}."
        )
    return rank


@dataclass(frozen=True)
class FactorizationResult:
    """The factorized float model and, per factorized layer, its rank and retained energy."""

    model: object
    ranks: dict[str, int]
    retained_energy: dict[str, float]
    products_before: int
    products_after: int
    training: object = field(default=None)  # TrainResult after fine-tuning, if any

    def to_dict(self) -> dict:
        return {
            "ranks": self.ranks,
            "retained_energy": self.retained_energy,
            "products_before": self.products_before,
            "products_after": self.products_after,
        }


def _dense_layers(model) -> list:
    return [layer for layer in model.layers if type(layer).__name__ == "Dense"]


def factorize(
    model,
    *,
    rank: int | None = None,
    energy: float | None = None,
    max_products: int | None = None,
    layers: list[str] | None = None,
) -> FactorizationResult:
    """A copy of the float ``model`` with the chosen Dense layers split by a truncated SVD.

    ``layers`` defaults to every Dense layer whose factorization saves products at the chosen rank
    (the output layer, 32->5, usually does not). The two factors multiply to the best rank-r
    approximation of the kernel; the bias stays on the second layer.

    Raises:
        ConfigError: an unknown layer name, or a rank the layer cannot take (see :func:`choose_rank`).
        ModelError: the model is not a float Dense / Activation chain.
    """
    import tensorflow as tf

    from ..quantization.convert import layer_chain

    chain = layer_chain(model)
    dense = {layer.name: layer for layer in chain if type(layer) is tf.keras.layers.Dense}
    if layers is not None:
        unknown = sorted(set(layers) - set(dense))
        if unknown:
            raise ConfigError(f"No Dense layer named {unknown}; Dense layers: {', '.join(dense)}.")
    plan: dict[str, int] = {}
    for name, layer in dense.items():
        kernel = layer.kernel.numpy()
        explicit = layers is not None and name in layers
        if layers is not None and not explicit:
            continue
        if rank is not None and not explicit and rank >= min(kernel.shape):
            continue  # a global --rank skips layers it cannot shrink; a named layer is refused instead
        chosen = choose_rank(kernel, rank=rank, energy=energy, max_products=max_products, name=name)
        if explicit or products(*kernel.shape, chosen) < products(*kernel.shape):
            plan[name] = chosen
    if not plan:
        raise ConfigError(
            "No layer would be factorized: at this rank every Dense layer costs as many products as before. "
            "Lower --rank / --energy, or name layers with --layers."
        )

    inputs = tf.keras.Input(shape=model.input_shape[1:], name=model.layers[0].name)
    x = inputs
    factors = {}
    for layer in chain:
        if layer.name in plan:
            r = plan[layer.name]
            first = tf.keras.layers.Dense(r, use_bias=False, name=f"{layer.name}{BOTTLENECK_SUFFIX}")
            second = tf.keras.layers.Dense(
                layer.units,
                use_bias=layer.use_bias,
                kernel_regularizer=layer.kernel_regularizer,
                name=layer.name,
            )
            x = second(first(x))
            factors[layer.name] = (first, second, layer)
        else:
            clone = type(layer).from_config(layer.get_config())
            x = clone(x)
            clone.set_weights(layer.get_weights())
    factorized = tf.keras.Model(inputs, x, name=model.name)
    energies = {}
    for name, (first, second, layer) in factors.items():
        r = plan[name]
        u, s, vt = np.linalg.svd(layer.kernel.numpy().astype(np.float64), full_matrices=False)
        root = np.sqrt(s[:r])
        first.set_weights([(u[:, :r] * root).astype(np.float32)])
        second.set_weights([(root[:, None] * vt[:r]).astype(np.float32), *layer.get_weights()[1:]])
        energies[name] = float(np.sum(s[:r] ** 2) / max(np.sum(s**2), 1e-300))
    before = sum(products(*layer.kernel.shape) for layer in dense.values())
    after = sum(products(*dense[name].kernel.shape, plan.get(name)) for name in dense)
    return FactorizationResult(factorized, plan, energies, before, after)


def factorize_and_fine_tune(
    model,
    data: Dataset,
    config: TrainingConfig | None = None,
    *,
    rank: int | None = None,
    energy: float | None = None,
    max_products: int | None = None,
    layers: list[str] | None = None,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> FactorizationResult:
    """:func:`factorize`, then fine-tune the whole network; ``run_dir`` gets ``train``'s files + ``factorization.json``."""
    from ..training import train

    result = factorize(model, rank=rank, energy=energy, max_products=max_products, layers=layers)
    training = train(
        result.model, data, config, standardizer=standardizer, run_dir=run_dir, progress=progress
    )
    result = FactorizationResult(
        training.model,
        result.ranks,
        result.retained_energy,
        result.products_before,
        result.products_after,
        training,
    )
    if run_dir is not None:
        (Path(run_dir) / "factorization.json").write_text(json.dumps(result.to_dict(), indent=2))
    return result
