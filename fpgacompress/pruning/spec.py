"""What to prune and how far: the validated ``pruning`` section of a recipe.

One :class:`PruneSpec` drives both methods behind :func:`~fpgacompress.pruning.prune`:

* ``iterative``: cut a fraction of the remaining weights (per layer, or under one global
  magnitude threshold), retrain with a :class:`~fpgacompress.pruning.mask.KernelMask`
  constraint, repeat until ``target_sparsity``, ``max_iterations`` or the accuracy budget stops it.
* ``tfmot``: TF-MOT's ``prune_low_magnitude`` with a constant or polynomial-decay schedule.

``criterion`` says what ranks the weights of ``iterative`` (``magnitude``, ``obd``: second-derivative
saliency, ``resource``: saliency per estimated LUT of hardware; see
:mod:`~fpgacompress.pruning.saliency`); ``sparsity_schedule`` and ``learning_rate_schedule`` say how
the steps go (:mod:`~fpgacompress.pruning.schedules`); ``hardware`` says what the weights cost
(precision, multiplier binding, reuse factor: above 1, whole multiplier groups are cut together) and
``resource_budget`` turns on budget mode (:mod:`~fpgacompress.pruning.budget`).

Per-layer overrides let a user keep more of the small output and input layers, where every weight
counts, and take the sparsity from the wide hidden layers instead.

Example:
    >>> spec = PruneSpec(target_sparsity=0.9, fraction_per_iteration=0.3,
    ...                  layers={"output": LayerOverride(max_sparsity=0.6)},
    ...                  accuracy_budget=AccuracyBudget(max_drop=0.005))
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..config import StrictConfig, format_validation_error
from ..errors import ConfigError

__all__ = [
    "AccuracyBudget",
    "HardwareTarget",
    "LayerOverride",
    "TfmotSchedule",
    "PruneSpec",
    "PRUNING_METHODS",
]

PRUNING_METHODS = ("iterative", "tfmot")


def _check_sparsity(value: float | None, name: str) -> float | None:
    if value is not None and not 0 <= value < 1:
        raise ValueError(
            f"{name} must be a float in [0, 1): the fraction of weights set to zero, and a layer "
            f"with every weight pruned computes nothing. Received: {name}={value}"
        )
    return value


class AccuracyBudget(StrictConfig):
    """How much validation accuracy pruning may cost, against the unpruned model.

    ``absolute``: stop when ``val_accuracy < baseline - max_drop`` (``max_drop=0.005`` is half a
    percentage point). ``relative``: stop when ``val_accuracy < baseline * (1 - max_drop)``.
    """

    max_drop: float = Field(0.005, ge=0, lt=1)
    kind: Literal["absolute", "relative"] = "absolute"

    def threshold(self, baseline_accuracy: float) -> float:
        """The lowest validation accuracy still within budget."""
        if self.kind == "absolute":
            return baseline_accuracy - self.max_drop
        return baseline_accuracy * (1.0 - self.max_drop)

    def allows(self, accuracy: float, baseline_accuracy: float) -> bool:
        return accuracy >= self.threshold(baseline_accuracy)

    def __str__(self) -> str:
        if self.kind == "absolute":
            return f"at most {100 * self.max_drop:.2f} points of validation accuracy"
        return f"at most {100 * self.max_drop:.2f}% of the baseline validation accuracy"


class LayerOverride(StrictConfig):
    """Per-layer settings: a different cut rate, or a cap on how sparse this layer may become.

    ``fraction_per_iteration`` applies to ``scope='layer'`` only (a global threshold has one rate);
    ``max_sparsity`` applies to both scopes and to TF-MOT, whose other layers then prune harder so
    the model as a whole still reaches ``target_sparsity``.
    """

    fraction_per_iteration: float | None = Field(None, gt=0, lt=1)
    max_sparsity: float | None = None

    @field_validator("max_sparsity")
    @classmethod
    def _valid_max_sparsity(cls, value):
        return _check_sparsity(value, "max_sparsity")


class TfmotSchedule(StrictConfig):
    """TF-MOT pruning schedule, in epochs (converted to optimizer steps from the batch size).

    ``constant``: the target sparsity from ``begin_epoch`` on. ``polynomial``: sparsity rises from
    ``initial_sparsity`` to the target between ``begin_epoch`` and ``end_epoch`` (default: two
    thirds of ``epochs``, leaving the rest to recover at the final sparsity).
    """

    kind: Literal["constant", "polynomial"] = "polynomial"
    epochs: int = Field(30, ge=1, description="training epochs under the schedule")
    initial_sparsity: float = 0.0
    begin_epoch: int = Field(0, ge=0)
    end_epoch: int | None = Field(None, ge=1)
    power: float = Field(3.0, gt=0)
    frequency_steps: int = Field(100, ge=1, description="optimizer steps between mask updates")

    @field_validator("initial_sparsity")
    @classmethod
    def _valid_initial(cls, value):
        return _check_sparsity(value, "initial_sparsity")

    @model_validator(mode="after")
    def _ordered_epochs(self):
        end = self.resolved_end_epoch
        if not self.begin_epoch < end <= self.epochs:
            raise ValueError(
                f"epochs must satisfy begin_epoch < end_epoch <= epochs. Received: "
                f"begin_epoch={self.begin_epoch}, end_epoch={self.end_epoch}, epochs={self.epochs}"
            )
        return self

    @property
    def resolved_end_epoch(self) -> int:
        return (
            self.end_epoch
            if self.end_epoch is not None
            else max(self.begin_epoch + 1, (2 * self.epochs) // 3)
        )


class HardwareTarget(StrictConfig):
    """What the pruned model will be built as, for the ``resource`` criterion and budget mode.

    ``reuse_factor`` above 1 also turns on pattern pruning: weights that share a multiplier are
    cut together (:mod:`~fpgacompress.pruning.patterns`). ``default_precision`` is the type of float
    layers (QKeras layers carry their own), as for ``fpgacompress report``.
    """

    board: str | None = None
    reuse_factor: int = Field(1, ge=1)
    strategy: Literal["latency", "resource"] = "latency"
    multiplier_binding: Literal["auto", "dsp", "fabric"] = "auto"
    default_precision: str = "ap_fixed<16,6>"
    clock_mhz: float | None = Field(None, gt=0)

    @field_validator("default_precision")
    @classmethod
    def _valid_precision(cls, value):
        from ..estimation.fixed_point import parse_fixed_point

        parse_fixed_point(value)
        return value


class PruneSpec(StrictConfig):
    """The whole pruning configuration (see the module docstring).

    Built directly in Python, a bad value raises :class:`~fpgacompress.errors.ConfigError`
    (not pydantic's ``ValidationError``), like a bad recipe does.
    """

    method: Literal["iterative", "tfmot"] = "iterative"
    target_sparsity: float = 0.9
    scope: Literal["layer", "global"] = "layer"
    fraction_per_iteration: float = Field(0.3, gt=0, lt=1)
    max_iterations: int = Field(10, ge=1)
    epochs_per_iteration: int = Field(10, ge=1)
    fine_tune_epochs: int = Field(
        0, ge=0, description="iterative: retraining at the final mask after the last cut"
    )
    layers: dict[str, LayerOverride] = Field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    accuracy_budget: AccuracyBudget | None = None
    schedule: TfmotSchedule = TfmotSchedule()
    criterion: Literal["magnitude", "obd", "resource"] = "magnitude"
    sparsity_schedule: Literal["fraction", "polynomial"] = "fraction"
    learning_rate_schedule: Literal["constant", "restart"] = "constant"
    hessian_samples: int = Field(8192, ge=1, description="training jets for the Hessian diagonal")
    hardware: HardwareTarget = HardwareTarget()
    resource_budget: str | None = Field(
        None, description='budget mode on hardware.board, e.g. "lut<=2%,dsp<=0"'
    )

    def __init__(self, **values):
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, "pruning spec")) from None

    # Only wraps errors: pydantic skips it when validating a recipe, whose errors parse_section
    # already turns into one ConfigError naming dotted paths (pruning.target_sparsity).
    __init__.__pydantic_base_init__ = True

    @field_validator("target_sparsity")
    @classmethod
    def _valid_target(cls, value):
        return _check_sparsity(value, "target_sparsity")

    @field_validator("resource_budget")
    @classmethod
    def _valid_budget(cls, value):
        if value is not None:
            from .budget import ResourceBudget

            ResourceBudget.parse(value)
        return value

    @model_validator(mode="after")
    def _budget_needs_board(self):
        if self.resource_budget is not None:
            if self.hardware.board is None:
                raise ValueError(
                    f"resource_budget {self.resource_budget!r} needs a board to measure against: set "
                    "hardware.board (--board), e.g. serenity-vu13p"
                )
            if self.method != "iterative":
                raise ValueError(f"resource_budget needs method 'iterative'; received method={self.method!r}")
        if self.hardware.reuse_factor > 1 and self.method != "iterative":
            raise ValueError("pattern pruning (hardware.reuse_factor > 1) needs method 'iterative'")
        return self

    @model_validator(mode="after")
    def _no_override_of_excluded(self):
        both = sorted(set(self.layers) & set(self.exclude))
        if both:
            raise ValueError(f"layer(s) {both} are both excluded and given overrides; choose one")
        return self

    def fraction_for(self, layer_name: str) -> float:
        override = self.layers.get(layer_name)
        if override is not None and override.fraction_per_iteration is not None:
            return override.fraction_per_iteration
        return self.fraction_per_iteration

    def max_sparsity_for(self, layer_name: str) -> float:
        """The sparsity this layer may reach: 0 when excluded, its cap, else no cap below 1."""
        if layer_name in self.exclude:
            return 0.0
        override = self.layers.get(layer_name)
        if override is not None and override.max_sparsity is not None:
            return override.max_sparsity
        return 1.0

    def check_layers(self, layer_names) -> None:
        """Refuse overrides or exclusions naming layers the model does not have (typos)."""
        known = set(layer_names)
        unknown = sorted((set(self.layers) | set(self.exclude)) - known)
        if unknown:
            raise ConfigError(
                f"Pruning spec names layer(s) {unknown} that are not prunable layers of the model. "
                f"Prunable layers: {sorted(known)}. Fix the names under 'layers' / 'exclude'."
            )
        if not known - set(self.exclude):
            raise ConfigError(
                f"Pruning spec excludes every prunable layer ({sorted(known)}): nothing to prune."
            )
