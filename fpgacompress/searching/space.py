"""One trial's settings, drawn from a :class:`~fpgacompress.searching.spec.SearchSpace`.

Every trial draws ``width_1 .. width_N`` for the largest number of hidden layers and uses the first
``hidden_layers`` of them: the space keeps one fixed set of parameters, which the Gaussian-process
and CMA-ES samplers need (they cannot model parameters that exist only in some trials).

Example:
    >>> settings = TrialSettings(hidden=(32, 16), reuse_factor=2)
    >>> settings.topology(16, 5)
    '16-32-16-5'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from .spec import SearchSpace

__all__ = ["TrialSettings", "suggest_settings", "smallest_settings", "grid_values", "settings_from_params"]


@dataclass(frozen=True)
class TrialSettings:
    """What one trial builds and trains; ``None`` means the stage is not run."""

    hidden: tuple[int, ...]
    regularization_kind: str = "l1"
    regularization_strength: float = 1e-4
    target_sparsity: float | None = None
    weight_bits: int | None = None
    activation_bits: int | None = None
    reuse_factor: int = 1

    def topology(self, n_inputs: int, n_outputs: int) -> str:
        return "-".join(str(width) for width in (n_inputs, *self.hidden, n_outputs))

    def to_dict(self) -> dict:
        return {**asdict(self), "hidden": list(self.hidden)}


def _max_layers(space: SearchSpace, fixed: TrialSettings) -> int:
    return space.hidden_layers.high if space.hidden_layers is not None else len(fixed.hidden)


def suggest_settings(trial, space: SearchSpace, fixed: TrialSettings) -> TrialSettings:
    """Ask the Optuna ``trial`` for every searched parameter; the rest comes from ``fixed``."""
    n_layers = len(fixed.hidden)
    if space.hidden_layers is not None:
        n_layers = trial.suggest_int("hidden_layers", space.hidden_layers.low, space.hidden_layers.high)
    hidden = list(fixed.hidden) + [fixed.hidden[-1] if fixed.hidden else 8] * _max_layers(space, fixed)
    if space.width is not None:
        for index in range(_max_layers(space, fixed)):
            hidden[index] = trial.suggest_int(
                f"width_{index + 1}", space.width.low, space.width.high, log=space.width.log
            )
    values: dict = {"hidden": tuple(hidden[:n_layers])}
    if space.regularization is not None:
        values["regularization_kind"] = trial.suggest_categorical(
            "regularization", list(space.regularization.kinds)
        )
        strength = space.regularization.strength
        if strength is not None:
            values["regularization_strength"] = trial.suggest_float(
                "regularization_strength", strength.low, strength.high, log=strength.log
            )
    if space.target_sparsity is not None:
        values["target_sparsity"] = trial.suggest_float(
            "target_sparsity", space.target_sparsity.low, space.target_sparsity.high
        )
    for name in ("weight_bits", "activation_bits"):
        bits = getattr(space, name)
        if bits is not None:
            values[name] = trial.suggest_int(name, bits.low, bits.high)
    if space.reuse_factor is not None:
        values["reuse_factor"] = trial.suggest_categorical("reuse_factor", list(space.reuse_factor))
    return replace(fixed, **values)


def settings_from_params(params: dict, space: SearchSpace, fixed: TrialSettings) -> TrialSettings:
    """The settings a finished trial used, rebuilt from its stored parameters."""
    import optuna

    return suggest_settings(optuna.trial.FixedTrial(params), space, fixed)


def smallest_settings(space: SearchSpace, fixed: TrialSettings) -> TrialSettings:
    """The cheapest corner of the space: if it is over budget, every trial is."""
    values: dict = {}
    if space.hidden_layers is not None or space.width is not None:
        n_layers = space.hidden_layers.low if space.hidden_layers is not None else len(fixed.hidden)
        width = space.width.low if space.width is not None else None
        values["hidden"] = tuple(width or fixed.hidden[index] for index in range(n_layers))
    if space.target_sparsity is not None:
        values["target_sparsity"] = space.target_sparsity.high
    for name in ("weight_bits", "activation_bits"):
        bits = getattr(space, name)
        if bits is not None:
            values[name] = bits.low
    if space.reuse_factor is not None:
        values["reuse_factor"] = max(space.reuse_factor)
    return replace(fixed, **values)


def _spread(low: float, high: float, points: int, log: bool) -> list[float]:
    if log:
        return [
            math.exp(math.log(low) + (math.log(high) - math.log(low)) * i / (points - 1))
            for i in range(points)
        ]
    return [low + (high - low) * i / (points - 1) for i in range(points)]


def grid_values(space: SearchSpace, fixed: TrialSettings, points: int) -> dict[str, list]:
    """The grid sampler's values: ``points`` per numeric range (log-spaced where the range is log)."""
    grid: dict[str, list] = {}
    if space.hidden_layers is not None:
        grid["hidden_layers"] = list(range(space.hidden_layers.low, space.hidden_layers.high + 1))
    if space.width is not None:
        widths = sorted(
            {round(v) for v in _spread(space.width.low, space.width.high, points, space.width.log)}
        )
        for index in range(_max_layers(space, fixed)):
            grid[f"width_{index + 1}"] = widths
    if space.regularization is not None:
        grid["regularization"] = list(space.regularization.kinds)
        strength = space.regularization.strength
        if strength is not None:
            grid["regularization_strength"] = _spread(strength.low, strength.high, points, strength.log)
    if space.target_sparsity is not None:
        grid["target_sparsity"] = _spread(
            space.target_sparsity.low, space.target_sparsity.high, points, False
        )
    for name in ("weight_bits", "activation_bits"):
        bits = getattr(space, name)
        if bits is not None:
            grid[name] = sorted({round(v) for v in _spread(bits.low, bits.high, points, False)})
    if space.reuse_factor is not None:
        grid["reuse_factor"] = list(space.reuse_factor)
    return grid
