"""Iterative magnitude pruning: cut the bottom of the weights, retrain with the cut held at zero, repeat.

The recipe that made the first FPGA jet taggers fit: train with L1 (or Lp), cut the smallest
weights, retrain with a :class:`~fpgacompress.pruning.mask.KernelMask` constraint that keeps the
cut weights at exactly zero while the regularizer keeps pushing the rest, and repeat. Each
retraining starts from the previous iteration's weights, with a fresh optimizer.

Example:
    >>> result = prune_iteratively(model, data, PruneSpec(target_sparsity=0.9), TrainingConfig())
"""

from __future__ import annotations

from pathlib import Path

from ..config import TrainingConfig
from ..data import Dataset
from ..metrics import evaluate
from .magnitude import next_mask
from .mask import PruningMask, apply_mask, prunable_layers
from .result import PruneRecord, PruneResult, plot_iteration_weights
from .spec import PruneSpec

__all__ = ["prune_iteratively", "baseline_record"]


def baseline_record(model, data: Dataset, mask: PruningMask) -> PruneRecord:
    """Iteration 0: the model as given, before any pruning."""
    validation = evaluate(model, data.x_val, data.y_val, data.class_names)
    test = evaluate(model, data.x_test, data.y_test, data.class_names)
    return PruneRecord.measure(0, mask, validation.accuracy, test, epochs_trained=0)


def _target_reached(mask: PruningMask, spec: PruneSpec) -> bool:
    return mask.n_kept <= round((1.0 - spec.target_sparsity) * mask.n_weights)


def prune_iteratively(
    model,
    data: Dataset,
    spec: PruneSpec,
    training: TrainingConfig,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> PruneResult:
    """Prune ``model`` until the target sparsity, ``max_iterations`` or the accuracy budget stops it.

    The returned model is the last one whose validation accuracy is within the budget; it carries
    :class:`KernelMask` constraints, so any further training keeps its zeros.
    """
    from ..training import train

    spec.check_layers([layer.name for layer in prunable_layers(model)])
    iteration_training = training.model_copy(update={"epochs": spec.epochs_per_iteration})
    mask = PruningMask.from_model(model)
    current = apply_mask(model, mask)
    baseline = baseline_record(current, data, mask)
    records, final = [baseline], baseline
    if run_dir is not None:
        plot_iteration_weights(current, run_dir, 0, baseline)

    stop_reason = f"stopped after max_iterations={spec.max_iterations}"
    for iteration in range(1, spec.max_iterations + 1):
        if _target_reached(mask, spec):
            stop_reason = f"reached target_sparsity={spec.target_sparsity}"
            break
        kernels = {
            layer.name: layer.kernel.numpy() for layer in prunable_layers(current) if layer.name in mask.masks
        }
        cut_mask = next_mask(kernels, mask, spec)
        if cut_mask.n_kept == mask.n_kept:
            stop_reason = "no weight left to cut (layer caps, exclusions, one weight kept per neuron)"
            break
        candidate = apply_mask(current, cut_mask)
        trained = train(candidate, data, iteration_training, progress=progress)
        validation_accuracy = evaluate(candidate, data.x_val, data.y_val, data.class_names).accuracy
        within_budget = spec.accuracy_budget is None or spec.accuracy_budget.allows(
            validation_accuracy, baseline.val_accuracy
        )
        record = PruneRecord.measure(
            iteration, cut_mask, validation_accuracy, trained.metrics, trained.epochs_run, within_budget
        )
        records.append(record)
        if run_dir is not None:
            plot_iteration_weights(candidate, run_dir, iteration, record)
        if not within_budget:
            stop_reason = (
                f"accuracy budget ({spec.accuracy_budget}) exceeded at iteration {iteration}: validation "
                f"accuracy {validation_accuracy:.4f} < {spec.accuracy_budget.threshold(baseline.val_accuracy):.4f}"
            )
            break
        current, mask, final = candidate, cut_mask, record
    else:
        if _target_reached(mask, spec):
            stop_reason = f"reached target_sparsity={spec.target_sparsity}"
    return PruneResult(
        model=current, mask=mask, records=tuple(records), final=final, stop_reason=stop_reason, spec=spec
    )
