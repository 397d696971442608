"""``autoprune``: insert node masks, train through the annealing schedule, export, retrain.

This is the AutoPruner stage as one ordinary function: the user states how many nodes (and input
features) remain, training finds which ones, and the surviving layout is exported as a plain,
smaller Keras model with its data pipeline (selected features, their standardization) to match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import TrainingConfig
from ..data import Dataset, Standardizer
from ..errors import ConfigError, ModelError
from ..metrics import Metrics, evaluate
from .spec import AutoPruneSpec, resolve_keep_count, resolve_keep_counts

__all__ = ["AutoPruneResult", "autoprune", "mask_model", "retrain_reduced"]


@dataclass(frozen=True)
class AutoPruneResult:
    """Everything the AutoPruner stage produced.

    Attributes:
        masked_model: the trained model with its (hard) NodeMask layers, reading every feature.
        reduced_model: the exported plain model, retrained when the spec asks for it.
        keep_counts: hidden layer -> number of nodes the mask keeps (exactly, per layer).
        kept_nodes: hidden layer -> original indices of the nodes the reduced model keeps.
        kept_features: names of the reduced model's inputs, in its input order.
        feature_ranking: every feature, most relevant first (``None`` without feature selection).
        metrics_before / metrics_masked / metrics_reduced / metrics_retrained: test metrics of the
            input model, the masked model, the exported model before retraining, and after it
            (``None`` when ``retrain`` is ``none``).
        export_max_abs_difference: largest |masked - exported| output on the test split.
        data / standardizer: the dataset and standardization restricted to ``kept_features``.
    """

    masked_model: object
    reduced_model: object
    keep_counts: dict[str, int]
    kept_nodes: dict[str, tuple[int, ...]]
    kept_features: tuple[str, ...]
    feature_ranking: tuple[str, ...] | None
    metrics_before: Metrics
    metrics_masked: Metrics
    metrics_reduced: Metrics
    metrics_retrained: Metrics | None
    export_max_abs_difference: float
    data: Dataset
    standardizer: Standardizer | None
    topology: str
    run_dir: Path | None = None

    @property
    def metrics_final(self) -> Metrics:
        """Metrics of :attr:`reduced_model` as returned (retrained or not)."""
        return self.metrics_retrained or self.metrics_reduced

    def to_dict(self) -> dict:
        return {
            "topology": self.topology,
            "keep_counts": self.keep_counts,
            "kept_nodes": {name: list(nodes) for name, nodes in self.kept_nodes.items()},
            "kept_features": list(self.kept_features),
            "feature_ranking": None if self.feature_ranking is None else list(self.feature_ranking),
            "export_max_abs_difference": self.export_max_abs_difference,
            "metrics": {
                "before": self.metrics_before.to_dict(),
                "masked": self.metrics_masked.to_dict(),
                "reduced": self.metrics_reduced.to_dict(),
                "retrained": None if self.metrics_retrained is None else self.metrics_retrained.to_dict(),
            },
        }


def mask_model(model, spec: AutoPruneSpec):
    """``model`` with node masks inserted as ``spec`` asks, counts checked against the layer widths.

    Raises:
        ConfigError: a count is 0 or larger than its layer, or ``keep`` names an unknown layer.
    """
    from .filters import insert_filter_masks, is_convolutional, maskable_widths
    from .network import insert_node_masks, read_chain

    if is_convolutional(model):
        if spec.keep_features is not None:
            raise ConfigError(
                f"keep_features selects input features of a flat MLP; model '{model.name}' takes inputs of shape "
                f"{tuple(model.input_shape[1:])}. Leave keep_features unset and mask filters with keep."
            )
        keep_counts = resolve_keep_counts(spec.keep, maskable_widths(model))
        return insert_filter_masks(model, keep_counts, sharpness=spec.initial_sharpness)
    chain = read_chain(model)
    keep_counts = resolve_keep_counts(spec.keep, chain.hidden_widths())
    keep_features = None
    if spec.keep_features is not None:
        keep_features = resolve_keep_count(spec.keep_features, chain.n_inputs, "keep_features")
    return insert_node_masks(model, keep_counts, keep_features, sharpness=spec.initial_sharpness)


def autoprune(
    model,
    data: Dataset,
    spec: AutoPruneSpec,
    *,
    training: TrainingConfig | None = None,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> AutoPruneResult:
    """Node-prune ``model`` on the standardized ``data`` and export the reduced network.

    On a convolutional model (inputs of rank > 1 per sample) ``spec.keep`` names convolutions (filters
    kept) and hidden Dense layers (nodes kept); the export removes the dropped filters and the next
    layers' inputs that read them (see :mod:`~fpgacompress.autopruning.filters`).

    The masked phase trains ``spec.soft_epochs + spec.hard_epochs`` epochs without early stopping
    (restoring an earlier epoch would bring back a soft mask); the optional retraining of the
    reduced model uses ``training`` as given, early stopping included.

    Raises:
        ConfigError: invalid keep counts for this model.
        ModelError: ``model`` is not a plain Dense MLP, or does not fit ``data``.
    """
    from ..training import train
    from .export import reduce_network
    from .filters import is_convolutional, reduce_filter_network
    from .layer import harden_node_masks
    from .network import INPUT_MASK_NAME
    from .schedule import TopKAnnealing

    training = training or TrainingConfig()
    _check_fits(model, data)
    metrics_before = evaluate(model, data.x_test, data.y_test, data.class_names)
    masked = mask_model(model, spec)
    schedule = TopKAnnealing(spec.soft_epochs, spec.initial_sharpness, spec.final_sharpness)
    masked_training = training.model_copy(
        update={"epochs": spec.masked_epochs, "early_stopping_patience": None}
    )
    masked_result = train(masked, data, masked_training, progress=progress, callbacks=[schedule])
    harden_node_masks(masked)

    if is_convolutional(model):  # filters are removed, every input channel stays
        reduction = reduce_filter_network(masked)
        kept_features, reduced_data, reduced_standardizer = data.feature_names, data, standardizer
    else:
        reduction = reduce_network(masked)
        kept_features = tuple(data.feature_names[index] for index in reduction.kept_inputs)
        reduced_data = data.select_features(kept_features)
        reduced_standardizer = standardizer.select(kept_features) if standardizer is not None else None
    reference = masked.predict(data.x_test, batch_size=4096, verbose=0)
    exported = reduction.model.predict(reduced_data.x_test, batch_size=4096, verbose=0)
    metrics_reduced = evaluate(reduction.model, reduced_data.x_test, reduced_data.y_test, data.class_names)

    feature_ranking = None
    if any(layer.name == INPUT_MASK_NAME for layer in masked.layers):
        # Kept features first (the hard mask decides), each group ordered by its learned score.
        input_mask = masked.get_layer(INPUT_MASK_NAME)
        order = np.lexsort((-input_mask.scores.numpy(), input_mask.gate_values() == 0))
        feature_ranking = tuple(data.feature_names[i] for i in order)

    reduced_model, metrics_retrained = reduction.model, None
    if spec.retrain != "none":
        retrained = retrain_reduced(
            reduction.model, reduced_data, training, from_scratch=spec.retrain == "scratch", progress=progress
        )
        reduced_model, metrics_retrained = retrained.model, retrained.metrics

    result = AutoPruneResult(
        masked_model=masked,
        reduced_model=reduced_model,
        keep_counts={mask.name.removesuffix("_node_mask"): mask.keep_count for mask in _hidden_masks(masked)},
        kept_nodes=reduction.kept_nodes,
        kept_features=kept_features,
        feature_ranking=feature_ranking,
        metrics_before=metrics_before,
        metrics_masked=masked_result.metrics,
        metrics_reduced=metrics_reduced,
        metrics_retrained=metrics_retrained,
        export_max_abs_difference=float(np.max(np.abs(reference - exported))),
        data=reduced_data,
        standardizer=reduced_standardizer,
        topology=reduction.topology,
    )
    if run_dir is not None:
        result = _save(result, Path(run_dir), standardizer)
    return result


def retrain_reduced(
    reduced_model,
    data: Dataset,
    training: TrainingConfig,
    *,
    from_scratch: bool = False,
    progress: bool = True,
):
    """Retrain a reduced model as an independent network: from its own weights or re-initialized.

    ``from_scratch`` clones the topology with fresh weights drawn by the layers' initializers
    (seeded by ``training.seed``), the fair comparison for "was the pruning worth it?".
    Returns the :class:`~fpgacompress.training.TrainResult`; ``data`` must hold the kept features.
    """
    import tensorflow as tf

    from ..training import train

    # A clone either way, so the exported model stays as exported (the caller may compare both).
    tf.keras.utils.set_random_seed(training.seed)
    model = tf.keras.models.clone_model(reduced_model)  # fresh weights from the layers' initializers
    if not from_scratch:
        model.set_weights(reduced_model.get_weights())
    return train(model, data, training, progress=progress)


def _hidden_masks(masked) -> list:
    from .layer import node_masks
    from .network import INPUT_MASK_NAME

    return [mask for mask in node_masks(masked) if mask.name != INPUT_MASK_NAME]


def _check_fits(model, data: Dataset) -> None:
    input_shape, data_shape = tuple(model.input_shape[1:]), tuple(data.x_train.shape[1:])
    if len(input_shape) > 1 and input_shape != data_shape:
        raise ModelError(
            f"Model '{model.name}' takes inputs of shape {input_shape} but the data have shape {data_shape}; "
            "give the dataset the model was trained on."
        )
    n_inputs, n_outputs = int(model.inputs[0].shape[-1]), int(model.outputs[0].shape[-1])
    if n_inputs != data.n_features or n_outputs != data.n_classes:
        raise ModelError(
            f"Model '{model.name}' takes {n_inputs} inputs and gives {n_outputs} outputs, but the data has "
            f"{data.n_features} features and {data.n_classes} classes; give the dataset the model was trained on."
        )


def _save(result: AutoPruneResult, run_dir: Path, standardizer: Standardizer | None) -> AutoPruneResult:
    from dataclasses import replace

    from ..model_io import save_model

    run_dir.mkdir(parents=True, exist_ok=True)
    save_model(result.masked_model, run_dir / "masked_model.h5", standardizer=standardizer)
    save_model(result.reduced_model, run_dir / "model.h5", standardizer=result.standardizer)
    (run_dir / "autoprune.json").write_text(json.dumps(result.to_dict(), indent=2))
    return replace(result, run_dir=run_dir)
