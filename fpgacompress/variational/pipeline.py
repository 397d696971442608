"""``sparsify``: the sparse variational dropout stage as one ordinary function.

A trained float model's Dense layers become :class:`~.layer.VariationalDense` (``theta`` from the
trained kernel, ``log sigma^2`` small), the variational lower bound is maximized with a KL
warm-up, weights with ``log alpha >= threshold`` are cut, and a plain Keras model with exact zeros
is exported with its :class:`~fpgacompress.pruning.mask.PruningMask` (and a ``KernelMask``
constraint on every pruned kernel, as ``prune`` returns), so quantization-aware training, ``build``,
``csim`` and ``report`` run unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import TrainingConfig
from ..data import Dataset, Standardizer
from ..errors import DataError
from ..metrics import Metrics, evaluate
from ..pruning.mask import PruningMask
from .spec import SparsifySpec
from .threshold import LayerSparsity

__all__ = ["SparsifyResult", "sparsify"]


@dataclass(frozen=True)
class SparsifyResult:
    """Everything the sparsify stage produced.

    Attributes:
        variational_model: the trained model with variational layers (inference: thresholded means).
        threshold: the log alpha cut of the Dense layers (``spec.threshold``, or the one found for
            ``spec.target_sparsity``).
        model: the exported plain Keras model with exact zeros (fine-tuned when the spec asks).
        mask: the exported model's pruning mask (``mask.npz`` in the run directory).
        layers: per variational layer, its sparsity and log alphas.
        feature_names: the input features, in input order.
        feature_log_alpha: per input feature, the gate's log alpha (``feature_gate``), else the smallest
            log alpha of the feature's first-layer weights: the larger, the less the network needs it.
        kept_features: the features whose first-layer row keeps a nonzero weight.
        metrics_before: the input model.
        metrics_unthresholded: the variational means with every weight kept.
        metrics_thresholded: after the threshold (the export, before any fine-tuning).
        metrics_fine_tuned: after ``fine_tune_epochs`` of masked training (``None`` when 0).
        export_max_abs_difference: largest |variational - exported| output on the test split.
        history: per-epoch history of the variational training.
    """

    variational_model: object
    model: object
    mask: PruningMask
    threshold: float
    layers: dict[str, LayerSparsity]
    feature_names: tuple[str, ...]
    feature_log_alpha: tuple[float, ...]
    kept_features: tuple[str, ...]
    metrics_before: Metrics
    metrics_unthresholded: Metrics
    metrics_thresholded: Metrics
    metrics_fine_tuned: Metrics | None
    export_max_abs_difference: float
    history: dict[str, list[float]]
    run_dir: Path | None = None

    @property
    def metrics_final(self) -> Metrics:
        """Metrics of :attr:`model` as returned."""
        return self.metrics_fine_tuned or self.metrics_thresholded

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "sparsity": self.mask.sparsity,
            "n_weights": self.mask.n_weights,
            "n_kept": self.mask.n_kept,
            "layers": {name: layer.to_dict() for name, layer in self.layers.items()},
            "features": {
                name: {"log_alpha": value, "kept": name in self.kept_features}
                for name, value in zip(self.feature_names, self.feature_log_alpha, strict=True)
            },
            "export_max_abs_difference": self.export_max_abs_difference,
            "metrics": {
                "before": self.metrics_before.to_dict(),
                "unthresholded": self.metrics_unthresholded.to_dict(),
                "thresholded": self.metrics_thresholded.to_dict(),
                "fine_tuned": None if self.metrics_fine_tuned is None else self.metrics_fine_tuned.to_dict(),
            },
        }


def sparsify(
    model,
    data: Dataset,
    spec: SparsifySpec | None = None,
    *,
    training: TrainingConfig | None = None,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> SparsifyResult:
    """Sparsify a trained float ``model`` by sparse variational dropout on the standardized ``data``.

    Args:
        model: a trained plain Keras chain with Dense layers (``build_mlp`` or the like).
        data: standardized jets; ``len(data.y_train)`` scales the KL term.
        spec: the variational settings; default ``SparsifySpec()``.
        training: seed (and early stopping of the optional fine-tuning); epochs, learning rate and
            batch size of the variational training come from ``spec``.
        standardizer: saved beside ``run_dir/model.h5``.
        run_dir: if given, ``model.h5``, ``variational_model.h5``, ``mask.npz``, ``sparsify.json``,
            ``log_alpha.png`` and ``feature_relevance.png`` are written there.

    Raises:
        ModelError: no Dense layer, a quantized or branching model, non-finite log alpha, or a
            threshold that empties a layer (with ``on_empty_layer: refuse``).
        DataError: the data do not fit the model.
    """
    from ..pruning.mask import apply_mask
    from ..pruning.schedules import restart_callback
    from ..training import train
    from .convert import FEATURE_GATE_NAME, export_sparse, to_variational
    from .kl import KlWarmUp
    from .threshold import threshold_mask

    spec = spec or SparsifySpec()
    training = training or TrainingConfig()
    _check_fits(model, data)
    variational = to_variational(
        model,
        len(data.y_train),
        threshold=spec.threshold,
        log_sigma2_initial=spec.initial_log_sigma2,
        feature_gate=spec.feature_gate,
    )
    metrics_before = evaluate(model, data.x_test, data.y_test, data.class_names)
    variational_training = training.model_copy(
        update={
            "epochs": spec.epochs,
            "learning_rate": spec.learning_rate,
            "batch_size": spec.batch_size,
            "early_stopping_patience": None,
        }
    )
    callbacks = [KlWarmUp(spec.warmup_epochs, spec.kl_scale)]
    if spec.learning_rate_schedule == "cosine":
        callbacks.append(restart_callback(spec.learning_rate, spec.epochs))
    trained = train(variational, data, variational_training, progress=progress, callbacks=callbacks)

    mask, layers = threshold_mask(
        variational, spec.threshold, spec.on_empty_layer, target_sparsity=spec.target_sparsity
    )
    dense_cuts = [layer.threshold for name, layer in layers.items() if name != FEATURE_GATE_NAME]
    everything = PruningMask({name: np.ones_like(array) for name, array in mask.masks.items()})
    metrics_unthresholded = evaluate(
        export_sparse(variational, everything), data.x_test, data.y_test, data.class_names
    )
    sparse = export_sparse(variational, mask, name=model.name)
    reference = variational.predict(data.x_test, batch_size=4096, verbose=0)
    exported = sparse.predict(data.x_test, batch_size=4096, verbose=0)
    metrics_thresholded = evaluate(sparse, data.x_test, data.y_test, data.class_names)
    pruning_mask = PruningMask.from_model(sparse)
    sparse = apply_mask(sparse, pruning_mask)  # further float training keeps the zeros, as after prune

    metrics_fine_tuned = None
    if spec.fine_tune_epochs:
        fine_tuning = training.model_copy(update={"epochs": spec.fine_tune_epochs})
        fine_tuning_callbacks = []
        if spec.learning_rate_schedule == "cosine":
            fine_tuning_callbacks.append(restart_callback(training.learning_rate, spec.fine_tune_epochs))
        metrics_fine_tuned = train(
            sparse, data, fine_tuning, progress=progress, callbacks=fine_tuning_callbacks
        ).metrics

    first_kernel = next(
        np.asarray(layer.kernel.numpy())
        for layer in sparse.layers
        if getattr(layer, "kernel", None) is not None
    )
    kept_features = tuple(
        name for name, row in zip(data.feature_names, first_kernel, strict=True) if np.any(row != 0)
    )
    if FEATURE_GATE_NAME in layers:
        feature_log_alpha = layers[FEATURE_GATE_NAME].log_alpha
    else:
        # A feature matters as much as its most needed first-layer weight.
        feature_log_alpha = next(iter(layers.values())).log_alpha.min(axis=1)

    result = SparsifyResult(
        variational_model=variational,
        model=sparse,
        mask=pruning_mask,
        threshold=dense_cuts[0] if dense_cuts else spec.threshold,
        layers=layers,
        feature_names=tuple(data.feature_names),
        feature_log_alpha=tuple(float(value) for value in feature_log_alpha),
        kept_features=kept_features,
        metrics_before=metrics_before,
        metrics_unthresholded=metrics_unthresholded,
        metrics_thresholded=metrics_thresholded,
        metrics_fine_tuned=metrics_fine_tuned,
        export_max_abs_difference=float(np.max(np.abs(reference - exported))),
        history=trained.history,
    )
    if run_dir is not None:
        result = _save(result, Path(run_dir), standardizer)
    return result


def _check_fits(model, data: Dataset) -> None:
    n_inputs = int(model.inputs[0].shape[-1]) if getattr(model, "inputs", None) else None
    if n_inputs != data.n_features:
        raise DataError(
            f"Model '{model.name}' expects {n_inputs} input features but the data have {data.n_features}. "
            "Use the dataset the model was trained on."
        )


def _save(result: SparsifyResult, run_dir: Path, standardizer: Standardizer | None) -> SparsifyResult:
    from ..model_io import save_model
    from ..plots import plot_history, plot_weight_distribution
    from .convert import FEATURE_GATE_NAME
    from .plots import plot_feature_relevance, plot_log_alpha

    run_dir.mkdir(parents=True, exist_ok=True)
    save_model(result.model, run_dir / "model.h5", standardizer=standardizer)
    save_model(result.variational_model, run_dir / "variational_model.h5")
    result.mask.save(run_dir / "mask.npz")
    (run_dir / "sparsify.json").write_text(json.dumps(result.to_dict(), indent=2))
    (run_dir / "history.json").write_text(json.dumps(result.history, indent=2))
    plot_log_alpha(result.layers, result.threshold, run_dir / "log_alpha.png")
    plot_feature_relevance(
        dict(zip(result.feature_names, result.feature_log_alpha, strict=True)),
        result.threshold,
        run_dir / "feature_relevance.png",
        source="feature gate" if FEATURE_GATE_NAME in result.layers else "smallest first-layer weight",
    )
    plot_weight_distribution(
        result.model, run_dir / "weights.png", title=f"{result.model.name}: sparse export"
    )
    plot_history(result.history, run_dir / "history.png")
    return replace(result, run_dir=run_dir)
