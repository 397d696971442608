"""``prune()``: one entry point for every pruning method, chosen by ``PruneSpec.method``.

Example:
    >>> data, scaler = load_jets().standardized()
    >>> result = prune(model, data, PruneSpec(target_sparsity=0.9,
    ...                accuracy_budget=AccuracyBudget(max_drop=0.005)), run_dir="runs/prune")
    >>> result.final.sparsity, result.mask.layer_sparsity()
"""

from __future__ import annotations

from pathlib import Path

from ..config import TrainingConfig, parse_section
from ..data import Dataset, Standardizer
from ..errors import DataError, ModelError
from .mask import prunable_layers
from .result import PruneResult, save_result
from .spec import PruneSpec

__all__ = ["prune"]


def _method(name: str):
    if name == "iterative":
        from .iterative import prune_iteratively

        return prune_iteratively
    from .tfmot import prune_with_tfmot  # the only other value PruneSpec accepts

    return prune_with_tfmot


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
        training: optimizer settings for every retraining (``epochs`` is taken from the spec).
        standardizer: saved beside ``run_dir/model.h5`` so the pruned model keeps its preprocessing.
        run_dir: if given, model, ``mask.npz``, ``records.json`` and the plots are written there.
        progress: show a progress bar per retraining.

    Raises:
        ConfigError: the spec is invalid or names layers the model lacks.
        ModelError: the model has nothing to prune.
        DataError: the data do not fit the model's input.
    """
    if spec is None:
        spec = PruneSpec()
    elif isinstance(spec, dict):
        spec = parse_section(PruneSpec, spec, "pruning spec")
    training = training or TrainingConfig()
    if not prunable_layers(model):
        raise ModelError(f"Model '{model.name}' has no Dense or QDense kernel to prune.")
    n_inputs = model.input_shape[-1]
    if n_inputs != data.n_features:
        raise DataError(
            f"Model '{model.name}' expects {n_inputs} input features but the data have {data.n_features}. "
            "Use the dataset the model was trained on."
        )
    if run_dir is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    result = _method(spec.method)(model, data, spec, training, run_dir=run_dir, progress=progress)
    if run_dir is not None:
        save_result(result, run_dir, standardizer)
    return result
