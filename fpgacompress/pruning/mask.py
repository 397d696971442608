"""Pruning masks: which kernel weights are alive, and a constraint that keeps the rest at zero.

A :class:`PruningMask` is the data object that flows from pruning to quantization-aware training
and to export: every stage after pruning must keep its zeros. :func:`apply_mask` rebuilds the model
with a :class:`KernelMask` constraint *at build time* — in Keras 2.14 a variable keeps the
constraint it was created with, so setting ``layer.kernel_constraint`` afterwards is silently
ignored and pruned weights grow back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..errors import ConfigError, ModelError

__all__ = ["KernelMask", "PruningMask", "apply_mask", "prunable_layers"]


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class KernelMask(tf.keras.constraints.Constraint):
    """Multiplies the kernel by a fixed 0/1 mask after every optimizer step (exact zeros)."""

    def __init__(self, mask):
        self.mask = np.asarray(mask, dtype=np.float32)

    def __call__(self, weights):
        return weights * tf.constant(self.mask, dtype=weights.dtype)

    def get_config(self):
        return {"mask": self.mask.astype(np.int8).tolist()}


def prunable_layers(model) -> list:
    """Layers whose kind prunes them (Dense, QDense), in model order; batch norms and dropouts are left alone."""
    from ..layer_kinds import KINDS

    return [
        layer
        for layer in model.layers
        if type(layer).__name__ in KINDS and KINDS[type(layer).__name__].prunable(layer)
    ]


@dataclass(frozen=True)
class PruningMask:
    """Per-layer boolean arrays, ``True`` where a kernel weight is kept."""

    masks: dict[str, np.ndarray]

    @classmethod
    def from_model(cls, model) -> PruningMask:
        """The mask implied by a model's exact zeros."""
        return cls({layer.name: np.asarray(layer.kernel.numpy()) != 0 for layer in prunable_layers(model)})

    @classmethod
    def dense(cls, model) -> PruningMask:
        """A mask keeping every weight (the starting point of pruning)."""
        return cls({layer.name: np.ones(layer.kernel.shape, dtype=bool) for layer in prunable_layers(model)})

    @property
    def n_weights(self) -> int:
        return int(sum(mask.size for mask in self.masks.values()))

    @property
    def n_kept(self) -> int:
        return int(sum(mask.sum() for mask in self.masks.values()))

    @property
    def sparsity(self) -> float:
        """Fraction of all kernel weights that are pruned."""
        return 1.0 - self.n_kept / max(self.n_weights, 1)

    def layer_sparsity(self) -> dict[str, float]:
        return {name: 1.0 - float(mask.mean()) for name, mask in self.masks.items()}

    def violations(self, model) -> dict[str, int]:
        """Number of nonzero weights where the mask says pruned, per layer (empty when honoured)."""
        found = {}
        for layer in prunable_layers(model):
            if layer.name in self.masks:
                count = int(np.count_nonzero(np.asarray(layer.kernel.numpy())[~self.masks[layer.name]]))
                if count:
                    found[layer.name] = count
        return found

    def to_dict(self) -> dict:
        return {
            "sparsity": self.sparsity,
            "n_weights": self.n_weights,
            "n_kept": self.n_kept,
            "layers": self.layer_sparsity(),
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez_compressed(path, **{name: mask for name, mask in self.masks.items()})
        return path

    @classmethod
    def load(cls, path: str | Path) -> PruningMask:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Pruning mask file not found: {path}.")
        try:
            with np.load(path, allow_pickle=False) as archive:
                return cls({name: archive[name].astype(bool) for name in archive.files})
        except (OSError, ValueError) as error:
            raise ConfigError(f"Cannot read pruning mask {path}: {error}.") from None


def apply_mask(model, mask: PruningMask):
    """A copy of ``model`` whose masked kernels are zero and constrained to stay zero.

    Layers the mask does not name are copied unchanged. Regularizers and other settings are
    kept, so L1 / Lp keeps pushing the surviving weights during retraining.
    """
    layers = {layer.name: layer for layer in prunable_layers(model)}
    unknown = sorted(set(mask.masks) - set(layers))
    if unknown:
        raise ModelError(
            f"Pruning mask names layer(s) {unknown} that the model lacks. Model layers: {sorted(layers)}."
        )
    for name, array in mask.masks.items():
        if array.shape != tuple(layers[name].kernel.shape):
            raise ModelError(
                f"Pruning mask for '{name}' has shape {array.shape} but the kernel has {tuple(layers[name].kernel.shape)}."
            )

    def clone_layer(layer):
        config = layer.get_config()
        if layer.name in mask.masks:
            config["kernel_constraint"] = KernelMask(mask.masks[layer.name])
        return layer.__class__.from_config(config)

    clone = tf.keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    for layer in prunable_layers(clone):
        if layer.name in mask.masks:
            layer.kernel.assign(layer.kernel * mask.masks[layer.name].astype(np.float32))
    return clone
