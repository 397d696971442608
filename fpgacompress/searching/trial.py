"""One trial: draw settings, estimate the architecture, and train it only if the board can hold it.

The chain is the toolkit's own: ``build_mlp`` -> ``train`` -> ``prune`` (when a sparsity is drawn)
-> ``quantization_aware_training`` (when bits are drawn) -> ``estimate``. Before any training the
untrained architecture is estimated with the trial's pruning (as random zeros at the target
sparsity) and precision; over budget, the trial is recorded with that estimate and its constraint
values and **not trained**. After training the real model is estimated again and those constraint
values are recorded: they are what the samplers learn the feasible region from.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import budget_clock_mhz, constraint_values, describe_excess, is_feasible
from .metrics import chance_value, objective_value, signal_index
from .space import TrialSettings, suggest_settings

__all__ = [
    "TrialContext",
    "run_trial",
    "trial_outcome",
    "estimate_architecture",
    "evaluate_settings",
    "TrialOutcome",
]


@dataclass
class TrialContext:
    """Everything a trial needs that does not change from trial to trial."""

    recipe: object
    data: object
    standardizer: object
    run_dir: Path
    board: object
    clock_mhz: float
    fixed: TrialSettings
    hls_tool: str = "vitis"
    strategy: str = "latency"
    io_type: str = "io_parallel"
    progress: bool = False
    counters: dict = field(default_factory=lambda: {"trained": 0, "skipped": 0})

    @property
    def spec(self):
        return self.recipe.search

    @classmethod
    def from_recipe(cls, recipe, data, standardizer, run_dir: Path, progress: bool = False) -> TrialContext:
        from ..boards import load_board
        from ..models import parse_topology

        spec = recipe.search
        board = load_board(spec.budget.board)
        build = recipe.build
        signal_index(spec.objective, data.class_names)  # refuse an unknown signal class before training
        fixed = TrialSettings(
            hidden=parse_topology(recipe.model.topology).hidden,
            regularization_kind=recipe.regularization.kind,
            regularization_strength=recipe.regularization.strength,
            target_sparsity=recipe.pruning.target_sparsity if recipe.pruning is not None else None,
            weight_bits=(
                recipe.quantization.precision.default.weight.bits if recipe.quantization is not None else None
            ),
            activation_bits=(
                recipe.quantization.precision.default.activation.bits
                if recipe.quantization is not None
                else None
            ),
            reuse_factor=build.reuse_factor if build is not None else 1,
        )
        return cls(
            recipe=recipe,
            data=data,
            standardizer=standardizer,
            run_dir=Path(run_dir),
            board=board,
            clock_mhz=budget_clock_mhz(spec.budget, board, build.clock_mhz if build is not None else None),
            fixed=fixed,
            hls_tool=build.backend if build is not None else "vitis",
            strategy=build.strategy if build is not None else "latency",
            io_type=build.io_type if build is not None else "io_parallel",
            progress=progress,
        )


@dataclass
class TrialOutcome:
    """What one evaluation produced: the objective value(s), the estimate, and whether it trained."""

    values: tuple[float, ...]
    constraints: dict[str, float]
    attributes: dict
    model: object | None = None


def _quantization_spec(settings: TrialSettings, recipe):
    from ..quantization import QuantizationSpec

    base = recipe.quantization.precision if recipe.quantization is not None else QuantizationSpec.uniform(8)
    payload = base.model_dump(mode="json")
    default = payload["default"]
    if settings.weight_bits is not None and "bits" in default["weight"]:
        default["weight"]["bits"] = settings.weight_bits
        default["weight"]["integer"] = min(default["weight"].get("integer", 0), settings.weight_bits - 1)
        default["bias"]["bits"] = max(default["bias"]["bits"], settings.weight_bits)
    if settings.activation_bits is not None:
        default["activation"]["bits"] = settings.activation_bits
        default["activation"]["integer"] = min(default["activation"]["integer"], settings.activation_bits - 1)
    return QuantizationSpec.parse(payload, "search trial precision")


def _with_random_zeros(model, sparsity: float, seed: int):
    """A copy of an untrained model with the smallest ``sparsity`` of each kernel set to zero.

    At initialization magnitudes carry no information, so this is a random mask of the target
    density: what the estimator needs to cost the pruned architecture before training it.
    """
    import tensorflow as tf

    copy = tf.keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    for layer in copy.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        values = kernel.numpy()
        order = rng.permutation(values.size)[: int(round(sparsity * values.size))]
        flat = values.reshape(-1).copy()
        flat[order] = 0.0
        kernel.assign(flat.reshape(values.shape))
    return copy


def _estimate(model, context: TrialContext, settings: TrialSettings):
    from ..estimation import estimate

    return estimate(
        model,
        context.board,
        reuse_factor=settings.reuse_factor,
        strategy=context.strategy,
        io_type=context.io_type,
        clock_period_ns=1000.0 / context.clock_mhz,
        hls_tool=context.hls_tool,
    )


def estimate_architecture(settings: TrialSettings, context: TrialContext, model=None):
    """The estimate of the architecture ``settings`` describe, before any training."""
    from ..models import build_mlp
    from ..quantization import quantize

    data = context.data
    if model is None:
        model = build_mlp(
            settings.topology(data.n_features, data.n_classes), seed=context.recipe.training.seed
        )
    candidate = model
    if settings.target_sparsity:
        candidate = _with_random_zeros(candidate, settings.target_sparsity, context.recipe.training.seed)
    if settings.weight_bits is not None or settings.activation_bits is not None:
        candidate = quantize(candidate, _quantization_spec(settings, context.recipe))
    return _estimate(candidate, context, settings), candidate


def _cost(context: TrialContext, report, model) -> float | None:
    cost = context.spec.objective.cost
    if cost == "lut_dsp":
        return float(report.totals.lut + 55 * report.totals.dsp)
    if cost == "bops":
        from ..quantization import quantization_report

        return float(quantization_report(model).total_bops)
    return None


def _report_attributes(report, prefix: str) -> dict:
    totals = report.totals
    attributes = {f"{prefix}{name}": int(totals.get(name)) for name in ("lut", "ff", "dsp", "bram_18k")}
    attributes[f"{prefix}latency_ns"] = float(report.latency_ns)
    attributes[f"{prefix}ii"] = int(totals.ii)
    return attributes


def evaluate_settings(settings: TrialSettings, context: TrialContext) -> TrialOutcome:
    """Estimate, and if within budget train, compress, evaluate and estimate again."""
    from ..models import build_mlp
    from ..regularizers import make_regularizer
    from ..training import train

    recipe = context.recipe
    data = context.data
    build_start = time.perf_counter()
    model = build_mlp(
        settings.topology(data.n_features, data.n_classes),
        regularizer=make_regularizer(
            settings.regularization_kind,
            settings.regularization_strength,
            p=recipe.regularization.p,
            epsilon=recipe.regularization.epsilon,
        ),
        seed=recipe.training.seed,
        name=recipe.name.replace("-", "_").replace(".", "_"),
    )
    build_seconds = time.perf_counter() - build_start
    start = time.perf_counter()
    before, candidate = estimate_architecture(settings, context, model)
    estimate_seconds = time.perf_counter() - start
    constraints = constraint_values(before, context.spec.budget, context.board, context.clock_mhz)
    attributes = {
        "topology": settings.topology(data.n_features, data.n_classes),
        **_report_attributes(before, "architecture_"),
        "estimate_seconds": estimate_seconds,
    }
    if not is_feasible(constraints):
        context.counters["skipped"] += 1
        cost = _cost(context, before, candidate)
        chance = chance_value(context.spec.objective, data.n_classes)
        attributes.update(trained=False, train_seconds=0.0, infeasible=describe_excess(constraints))
        values = (chance,) if cost is None else (chance, cost)
        return TrialOutcome(values, constraints, attributes)

    context.counters["trained"] += 1
    start = time.perf_counter()
    trained = train(
        model, data, recipe.training, standardizer=context.standardizer, progress=context.progress
    )
    model = trained.model
    if settings.target_sparsity:
        from ..pruning import PruneSpec, prune

        base = recipe.pruning or PruneSpec(epochs_per_iteration=recipe.training.epochs)
        spec = base.model_copy(update={"target_sparsity": settings.target_sparsity})
        model = prune(
            model,
            data,
            spec,
            training=recipe.training.optimizer_settings(),
            standardizer=context.standardizer,
            progress=False,
        ).model
    if settings.weight_bits is not None or settings.activation_bits is not None:
        from ..quantization import quantization_aware_training

        stage = recipe.quantization
        training = recipe.training.model_copy(
            update={"epochs": stage.epochs, "learning_rate": stage.learning_rate} if stage is not None else {}
        )
        model = quantization_aware_training(
            model,
            _quantization_spec(settings, recipe),
            data,
            training,
            standardizer=context.standardizer,
            progress=False,
        ).model
    value, metrics = objective_value(context.spec.objective, model, data)
    # Building, training, compressing and scoring the network: the work the search exists to ration.
    train_seconds = build_seconds + time.perf_counter() - start
    start = time.perf_counter()
    after = _estimate(model, context, settings)
    estimate_seconds += time.perf_counter() - start
    constraints = constraint_values(after, context.spec.budget, context.board, context.clock_mhz)
    attributes.update(
        metrics,
        **_report_attributes(after, ""),
        trained=True,
        train_seconds=train_seconds,
        estimate_seconds=estimate_seconds,
        epochs_run=trained.epochs_run,
        infeasible="" if is_feasible(constraints) else describe_excess(constraints),
    )
    cost = _cost(context, after, model)
    values = (value,) if cost is None else (value, cost)
    return TrialOutcome(values, constraints, attributes, model)


def trial_directory(run_dir: Path, number: int) -> Path:
    return Path(run_dir) / "trials" / f"{number:05d}"


def save_trial_model(outcome: TrialOutcome, context: TrialContext, number: int) -> Path:
    """The trial's model saved like any stage's (``model.h5`` + its standardization), written whole."""
    from ..model_io import save_model

    final = trial_directory(context.run_dir, number)
    partial = final.with_name(final.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    save_model(outcome.model, partial / "model.h5", standardizer=context.standardizer)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


OUTCOME_ATTRIBUTE = "outcome"


def trial_outcome(trial) -> dict:
    """The attributes :func:`run_trial` recorded on a finished trial (empty for a trial in flight)."""
    return dict(trial.user_attrs.get(OUTCOME_ATTRIBUTE, {}))


def _record_constraints(trial, constraints: dict[str, float]) -> None:
    """What ``trial.set_constraint`` stores, one write per constraint instead of a read and a write.

    ``set_constraint`` first reads all the trial's system attributes to refuse a second value for a
    key; a trial here sets each key once, and the reads were a third of a trial's storage time.
    """
    from optuna.study._constrained_optimization import _CONSTRAINTS_KEY

    for key, value in constraints.items():
        trial.storage.set_trial_system_attr(trial._trial_id, f"{_CONSTRAINTS_KEY}:{key}", float(value))


def run_trial(trial, context: TrialContext):
    """The Optuna objective: settings from ``trial``, outcome into its attributes and constraints.

    The outcome is one attribute (one write to the storage, not one per number). ``overhead_seconds``
    is everything the search adds to a trial's training: sampling, both estimates, saving the model
    and writing the trial's records.
    """
    started = time.perf_counter()
    trial.set_user_attr("worker_pid", os.getpid())
    settings = suggest_settings(trial, context.spec.space, context.fixed)
    sample_seconds = time.perf_counter() - started
    outcome = evaluate_settings(settings, context)
    if outcome.model is not None and context.spec.save_models:
        save_trial_model(outcome, context, trial.number)
    _record_constraints(trial, outcome.constraints)
    attributes = {**outcome.attributes, "sample_seconds": sample_seconds, "worker_host": os.uname().nodename}
    attributes["overhead_seconds"] = time.perf_counter() - started - attributes["train_seconds"]
    trial.set_user_attr(OUTCOME_ATTRIBUTE, attributes)
    return outcome.values[0] if len(outcome.values) == 1 else outcome.values
