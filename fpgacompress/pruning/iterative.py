"""Iterative pruning: cut the least valuable weights, retrain with the cut held at zero, repeat.

The recipe that made the first FPGA jet taggers fit: train with L1 (or Lp), cut the smallest
weights, retrain with a :class:`~fpgacompress.pruning.mask.KernelMask` constraint that keeps the
cut weights at exactly zero while the regularizer keeps pushing the rest, and repeat. Each
retraining starts from the previous iteration's weights, with a fresh optimizer. What "least
valuable" means is the spec's ``criterion`` (magnitude, OBD saliency, saliency per LUT); how much
goes per step is its ``sparsity_schedule``; with ``resource_budget`` the loop runs until the
estimated design fits instead of to a sparsity.
"""

from __future__ import annotations

from pathlib import Path

from ..config import TrainingConfig
from ..data import Dataset
from ..metrics import evaluate
from .budget import ResourceBudget, ResourceBudgetError, budget_cut
from .cost import product_costs
from .magnitude import next_mask
from .mask import PruningMask, apply_mask, prunable_layers
from .patterns import next_pattern_mask
from .result import PruneRecord, PruneResult, plot_iteration_weights
from .saliency import weight_scores
from .schedules import polynomial_targets, restart_callback
from .spec import PruneSpec

__all__ = ["prune_iteratively", "baseline_record"]


def baseline_record(model, data: Dataset, mask: PruningMask) -> PruneRecord:
    """Iteration 0: the model as given, before any pruning."""
    validation = evaluate(model, data.x_val, data.y_val, data.class_names)
    test = evaluate(model, data.x_test, data.y_test, data.class_names)
    return PruneRecord.measure(0, mask, validation.accuracy, test, epochs_trained=0)


def _target_reached(mask: PruningMask, spec: PruneSpec) -> bool:
    return mask.n_kept <= round((1.0 - spec.target_sparsity) * mask.n_weights)


def _step_spec(spec: PruneSpec, iteration: int, start_sparsity: float) -> PruneSpec:
    """The spec one step cuts with: ``polynomial`` sets this step's sparsity (Zhu & Gupta)."""
    if spec.sparsity_schedule != "polynomial":
        return spec
    targets = polynomial_targets(start_sparsity, spec.target_sparsity, spec.max_iterations)
    return spec.model_copy(
        update={
            "target_sparsity": targets[iteration - 1],
            "fraction_per_iteration": 0.99,
            "layers": {
                name: override.model_copy(update={"fraction_per_iteration": None})
                for name, override in spec.layers.items()
            },
        }
    )


def _estimate(model, spec: PruneSpec):
    from ..estimation import estimate

    hardware = spec.hardware
    return estimate(
        model,
        hardware.board,
        reuse_factor=hardware.reuse_factor,
        strategy=hardware.strategy,
        clock_mhz=hardware.clock_mhz,
        multiplier_binding=hardware.multiplier_binding,
        default_precision=hardware.default_precision,
    )


def _cut(current, mask: PruningMask, spec: PruneSpec, step: PruneSpec, data: Dataset, excess) -> PruningMask:
    """The next mask: by the criterion's scores, in multiplier groups, or towards the resource budget."""
    hardware = spec.hardware
    if excess is not None:
        saliency = weight_scores(
            current,
            "obd" if spec.criterion != "magnitude" else "magnitude",
            data.x_train,
            hessian_samples=spec.hessian_samples,
            seed=0,
        )
        costs = product_costs(
            current,
            multiplier_binding=hardware.multiplier_binding,
            default_precision=hardware.default_precision,
        )
        caps = {name: min(spec.max_sparsity_for(name), spec.target_sparsity) for name in mask.masks}
        return budget_cut(
            {name: saliency[name] for name in mask.masks},
            costs,
            mask,
            excess,
            max_fraction=spec.fraction_per_iteration,
            max_sparsity=caps,
        )
    scores = weight_scores(
        current,
        spec.criterion,
        data.x_train,
        hessian_samples=spec.hessian_samples,
        multiplier_binding=hardware.multiplier_binding,
        default_precision=hardware.default_precision,
    )
    scores = {name: scores[name] for name in mask.masks}
    if hardware.reuse_factor > 1:
        return next_pattern_mask(scores, mask, step, hardware.reuse_factor)
    return next_mask(scores, mask, step)


def _fine_tune(current, mask, last, baseline, data, spec, training, progress):
    """Zhu & Gupta's last phase: train at the final mask (early stopping keeps the best epoch)."""
    from ..training import train

    callbacks = []
    if spec.learning_rate_schedule == "restart":
        callbacks.append(restart_callback(training.learning_rate, spec.fine_tune_epochs))
    trained = train(
        current,
        data,
        training.model_copy(update={"epochs": spec.fine_tune_epochs}),
        progress=progress,
        callbacks=callbacks,
    )
    validation_accuracy = evaluate(current, data.x_val, data.y_val, data.class_names).accuracy
    within_budget = spec.accuracy_budget is None or spec.accuracy_budget.allows(
        validation_accuracy, baseline.val_accuracy
    )
    record = PruneRecord.measure(
        last.iteration + 1, mask, validation_accuracy, trained.metrics, trained.epochs_run, within_budget
    )
    return current, record


def prune_iteratively(
    model,
    data: Dataset,
    spec: PruneSpec,
    training: TrainingConfig,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> PruneResult:
    """Prune ``model`` until the target sparsity (or, with a resource budget, the estimated fit),
    ``max_iterations`` or the accuracy budget stops it.

    The returned model is the last one whose validation accuracy is within the budget; it carries
    :class:`KernelMask` constraints, so any further training keeps its zeros.

    Raises:
        ResourceBudgetError: budget mode could not fit the design within the accuracy budget,
            ``target_sparsity`` or ``max_iterations``.
    """
    from ..training import train

    spec.check_layers([layer.name for layer in prunable_layers(model)])
    iteration_training = training.model_copy(update={"epochs": spec.epochs_per_iteration})
    callbacks = []
    if spec.learning_rate_schedule == "restart":
        callbacks.append(restart_callback(training.learning_rate, spec.epochs_per_iteration))
    mask = PruningMask.from_model(model)
    current = apply_mask(model, mask)
    baseline = baseline_record(current, data, mask)
    records, final = [baseline], baseline
    start_sparsity = mask.sparsity
    if run_dir is not None:
        plot_iteration_weights(current, run_dir, 0, baseline)
    budget = ResourceBudget.parse(spec.resource_budget) if spec.resource_budget else None
    fits = None

    stop_reason = f"stopped after max_iterations={spec.max_iterations}"
    for iteration in range(1, spec.max_iterations + 1):
        excess = None
        if budget is not None:
            report = _estimate(current, spec)
            excess = budget.excess(report.totals, report.available)
            fits = not excess
            if fits:
                stop_reason = f"estimated design fits the budget {budget} on {spec.hardware.board}"
                break
        elif _target_reached(mask, spec):
            stop_reason = f"reached target_sparsity={spec.target_sparsity}"
            break
        step = _step_spec(spec, iteration, start_sparsity)
        cut_mask = _cut(current, mask, spec, step, data, excess)
        if cut_mask.n_kept == mask.n_kept:
            stop_reason = "no weight left to cut (layer caps, target_sparsity, one weight kept per neuron)"
            break
        candidate = apply_mask(current, cut_mask)
        trained = train(candidate, data, iteration_training, progress=progress, callbacks=callbacks)
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
        if budget is not None:
            report = _estimate(current, spec)
            fits = not budget.excess(report.totals, report.available)
            if fits:
                stop_reason = f"estimated design fits the budget {budget} on {spec.hardware.board}"
        elif _target_reached(mask, spec):
            stop_reason = f"reached target_sparsity={spec.target_sparsity}"
    if spec.fine_tune_epochs and final is not baseline and (budget is None or fits):
        current, final = _fine_tune(current, mask, final, baseline, data, spec, training, progress)
        records.append(final)
        stop_reason += f", then fine-tuned for {final.epochs_trained} epochs"
        if run_dir is not None:
            plot_iteration_weights(current, run_dir, final.iteration, final)
    if budget is not None and not fits:
        raise ResourceBudgetError(
            f"Cannot prune the design into {budget} on {spec.hardware.board}: {stop_reason}; the last model "
            f"within the accuracy budget has {mask.sparsity:.1%} zeros. Relax the resource budget or the "
            "accuracy budget, raise target_sparsity / max_iterations, or choose a larger board."
        )
    return PruneResult(
        model=current, mask=mask, records=tuple(records), final=final, stop_reason=stop_reason, spec=spec
    )
