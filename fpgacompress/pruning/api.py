"""``prune()``: one entry point for every pruning method, chosen by ``PruneSpec.method``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..config import TrainingConfig, parse_section
from ..data import Dataset, Standardizer
from ..errors import DataError, ModelError
from .mask import prunable_layers
from .result import PruneResult, save_result
from .spec import PruneSpec, TfmotSchedule

__all__ = ["prune"]


def _method(name: str):
    if name == "iterative":
        from .iterative import prune_iteratively

        return prune_iteratively
    from .tfmot import prune_with_tfmot  # the only other value PruneSpec accepts

    return prune_with_tfmot


def _spec_with_training_epochs(spec: PruneSpec, training: TrainingConfig) -> PruneSpec:
    """Honour ``TrainingConfig(epochs=N)``: it used to be silently replaced by the spec's default."""
    if "epochs" not in training.model_fields_set:
        return spec
    if spec.method == "iterative":
        field, current, explicit = (
            "epochs_per_iteration",
            spec.epochs_per_iteration,
            "epochs_per_iteration" in spec.model_fields_set,
        )
    else:
        field, current, explicit = (
            "schedule.epochs",
            spec.schedule.epochs,
            "epochs" in spec.schedule.model_fields_set,
        )
    if explicit:
        if current != training.epochs:
            warnings.warn(
                f"prune(): the spec sets {field}={current}, so training.epochs={training.epochs} is not used. "
                "Set only one of them.",
                stacklevel=3,
            )
        return spec
    if spec.method == "iterative":
        return spec.model_copy(update={"epochs_per_iteration": training.epochs})
    schedule = parse_section(
        TfmotSchedule,
        {**spec.schedule.model_dump(exclude_unset=True), "epochs": training.epochs},
        "pruning schedule",
    )
    return spec.model_copy(update={"schedule": schedule})


def prune(
    model,
    data: Dataset,
    spec: PruneSpec | dict | None = None,
    *,
    training: TrainingConfig | None = None,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> PruneResult:
    """Prune a trained ``model`` on standardized ``data`` as ``spec`` says.

    Args:
        model: a trained Keras model with Dense / QDense layers (its regularizers stay on).
        data: standardized jets; validation accuracy judges the budget, test accuracy is recorded.
        spec: a :class:`PruneSpec` (or its dict form); default: iterative, 90 % zeros.
        training: optimizer settings for every retraining. Its ``epochs``, when given, is the
            retraining length: epochs per iteration (``iterative``) or under the schedule (``tfmot``);
            when the spec sets that length too, the spec wins (with a warning).
        standardizer: saved beside ``run_dir/model.h5`` so the pruned model keeps its preprocessing.
        run_dir: if given, model, ``mask.npz``, ``records.json`` and the plots are written there.
        progress: show a progress bar per retraining.

    Raises:
        ConfigError: the spec is invalid or names layers the model lacks.
        ModelError: the model has nothing to prune.
        DataError: the data do not fit the model's input.
        ResourceBudgetError: budget mode cannot fit the design within the accuracy budget.
    """
    if spec is None:
        spec = PruneSpec()
    elif isinstance(spec, dict):
        spec = parse_section(PruneSpec, spec, "pruning spec")
    training = training or TrainingConfig()
    spec = _spec_with_training_epochs(spec, training)
    if not prunable_layers(model):
        raise ModelError(f"Model '{model.name}' has no Dense, QDense or convolution kernel to prune.")
    input_shape, data_shape = tuple(model.input_shape[1:]), tuple(data.x_train.shape[1:])
    if input_shape != data_shape:
        expected, received = (
            (f"{input_shape[0]} input features", f"{data_shape[-1]}")
            if len(input_shape) == 1
            else (f"inputs of shape {input_shape}", f"shape {data_shape}")
        )
        raise DataError(
            f"Model '{model.name}' expects {expected} but the data have {received}. "
            "Use the dataset the model was trained on."
        )
    if run_dir is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    result = _method(spec.method)(model, data, spec, training, run_dir=run_dir, progress=progress)
    if run_dir is not None:
        save_result(result, run_dir, standardizer)
    return result
