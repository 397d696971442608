"""TF-MOT's ``prune_low_magnitude`` behind the same entry point, for comparison with iterative pruning.

The model's prunable layers are wrapped with a constant or polynomial-decay schedule (per-layer
targets from :func:`~fpgacompress.pruning.magnitude.layer_targets`), trained once with the
``UpdatePruningStep`` callback, then :func:`strip` returns plain Keras layers with exact zeros.
Early stopping is off: restoring "best" weights would restore an earlier, denser mask.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import TrainingConfig
from ..data import Dataset
from ..errors import ModelError
from ..metrics import evaluate
from .iterative import baseline_record
from .magnitude import layer_targets
from .mask import PruningMask, apply_mask, prunable_layers
from .result import PruneRecord, PruneResult, plot_iteration_weights
from .spec import PruneSpec, TfmotSchedule

__all__ = ["prune_with_tfmot", "wrap_for_pruning", "strip", "wrapped_mask"]


def _schedule(schedule: TfmotSchedule, target: float, steps_per_epoch: int):
    from tensorflow_model_optimization.sparsity import keras as sparsity

    begin_step = schedule.begin_epoch * steps_per_epoch
    frequency = min(schedule.frequency_steps, steps_per_epoch)
    if schedule.kind == "constant":
        return sparsity.ConstantSparsity(target, begin_step=begin_step, frequency=frequency)
    return sparsity.PolynomialDecay(
        initial_sparsity=min(schedule.initial_sparsity, target),
        final_sparsity=target,
        begin_step=begin_step,
        end_step=schedule.resolved_end_epoch * steps_per_epoch,
        power=schedule.power,
        frequency=frequency,
    )


def wrap_for_pruning(model, targets: dict[str, float], schedule: TfmotSchedule, steps_per_epoch: int):
    """A copy of ``model`` whose layers named in ``targets`` are ``PruneLowMagnitude`` wrappers."""
    from tensorflow_model_optimization.sparsity import keras as sparsity

    def clone_layer(layer):
        fresh = layer.__class__.from_config(layer.get_config())
        if layer.name in targets:
            return sparsity.prune_low_magnitude(
                fresh, pruning_schedule=_schedule(schedule, targets[layer.name], steps_per_epoch)
            )
        return fresh

    wrapped = tf.keras.models.clone_model(model, clone_function=clone_layer)
    for layer, copy in zip(model.layers, wrapped.layers, strict=True):  # wrappers are renamed, not reordered
        if layer.weights:
            (copy.layer if layer.name in targets else copy).set_weights(layer.get_weights())
    return wrapped


def _wrappers(model) -> list:
    from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import PruneLowMagnitude

    return [layer for layer in model.layers if isinstance(layer, PruneLowMagnitude)]


def wrapped_mask(model) -> PruningMask:
    """The mask TF-MOT currently holds, over every prunable layer (unwrapped ones: their zeros)."""
    masks = {}
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)
        kernel = getattr(inner, "kernel", None)
        if kernel is None or len(kernel.shape) < 2:
            continue
        pruning_vars = getattr(layer, "pruning_vars", ())
        kernel_mask = [mask for weight, mask, _ in pruning_vars if weight is kernel]
        masks[inner.name] = kernel_mask[0].numpy() != 0 if kernel_mask else kernel.numpy() != 0
    return PruningMask(masks)


def strip(model):
    """Plain Keras layers with exact zeros from a model holding ``PruneLowMagnitude`` wrappers.

    The mask is multiplied into the kernels first: after the last optimizer step TF-MOT's kernels
    may hold small nonzero values where the mask is zero until the next forward pass.
    """
    from tensorflow_model_optimization.sparsity import keras as sparsity

    if not isinstance(model, tf.keras.Model):
        raise ModelError(f"strip() needs a Keras model. Received: {type(model).__name__}.")
    for wrapper in _wrappers(model):
        for weight, mask, _ in wrapper.pruning_vars:
            weight.assign(weight * mask)
    stripped = sparsity.strip_pruning(model)
    stripped.set_weights([np.asarray(weight) for weight in stripped.get_weights()])
    return stripped


class _EpochRecorder(tf.keras.callbacks.Callback):
    """One :class:`PruneRecord` per epoch; keeps the weights of the last epoch within budget."""

    def __init__(self, data: Dataset, spec: PruneSpec, baseline: PruneRecord):
        super().__init__()
        self.data, self.spec, self.baseline = data, spec, baseline
        self.records: list[PruneRecord] = []
        self.best: tuple[PruneRecord, list] | None = None

    def on_epoch_end(self, epoch, logs=None):
        for wrapper in _wrappers(self.model):  # exact zeros before measuring
            for weight, mask, _ in wrapper.pruning_vars:
                weight.assign(weight * mask)
        mask = wrapped_mask(self.model)
        validation_accuracy = evaluate(
            self.model, self.data.x_val, self.data.y_val, self.data.class_names
        ).accuracy
        test = evaluate(self.model, self.data.x_test, self.data.y_test, self.data.class_names)
        budget = self.spec.accuracy_budget
        within_budget = budget is None or budget.allows(validation_accuracy, self.baseline.val_accuracy)
        record = PruneRecord.measure(epoch + 1, mask, validation_accuracy, test, 1, within_budget)
        self.records.append(record)
        if within_budget:
            self.best = (record, self.model.get_weights())


def prune_with_tfmot(
    model,
    data: Dataset,
    spec: PruneSpec,
    training: TrainingConfig,
    *,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> PruneResult:
    """Prune with TF-MOT for ``spec.schedule.epochs`` epochs; return the last epoch within budget."""
    from tensorflow_model_optimization.sparsity import keras as sparsity

    from ..training import train

    layers = prunable_layers(model)
    spec.check_layers([layer.name for layer in layers])
    sizes = {layer.name: int(np.prod(layer.kernel.shape)) for layer in layers}
    targets = {name: target for name, target in layer_targets(sizes, spec).items() if target > 0}
    steps_per_epoch = math.ceil(len(data.x_train) / training.batch_size)
    baseline = baseline_record(model, data, PruningMask.from_model(model))
    if run_dir is not None:
        plot_iteration_weights(model, run_dir, 0, baseline)

    wrapped = wrap_for_pruning(model, targets, spec.schedule, steps_per_epoch)
    recorder = _EpochRecorder(data, spec, baseline)
    schedule_training = training.model_copy(
        update={"epochs": spec.schedule.epochs, "early_stopping_patience": None}
    )
    train(
        wrapped,
        data,
        schedule_training,
        progress=progress,
        callbacks=[sparsity.UpdatePruningStep(), recorder],
    )

    last = recorder.records[-1]
    if last.within_budget:
        final, stop_reason = last, f"schedule finished after {spec.schedule.epochs} epochs"
    elif recorder.best is not None:
        final, weights = recorder.best
        wrapped.set_weights(weights)
        stop_reason = f"accuracy budget ({spec.accuracy_budget}) exceeded; returning epoch {final.iteration}, the last within budget"
    else:
        final, stop_reason = (
            baseline,
            f"accuracy budget ({spec.accuracy_budget}) exceeded from the first epoch",
        )
    stripped = model if final is baseline else strip(wrapped)
    mask = PruningMask.from_model(stripped)
    pruned = apply_mask(stripped, mask)
    if run_dir is not None:
        plot_iteration_weights(pruned, run_dir, final.iteration, final)
    return PruneResult(
        model=pruned,
        mask=mask,
        records=(baseline, *recorder.records),
        final=final,
        stop_reason=stop_reason,
        spec=spec,
    )
