"""What the user asks AutoPruner for: how many nodes (and input features) survive, and the schedule.

A keep value is a **count** when it is an integer (``32`` nodes) and a **fraction** of the layer's
width when it is a float in (0, 1] (``0.5``). ``keep`` applies to every hidden Dense layer, or
per layer as a mapping (``{"fc1": 32, "fc2": 0.5}``; layers it does not name are not masked).
``keep_features`` does the same for the input features (``None``: no feature selection).

Counts are checked against the model's widths in :func:`resolve_keep_counts`, so a count larger
than the layer is a :class:`~fpgacompress.errors.ConfigError` naming the layer and its width.

Example:
    >>> spec = AutoPruneSpec(keep={"fc1": 32, "fc2": 0.5}, keep_features=8)
    >>> resolve_keep_counts(spec.keep, {"fc1": 64, "fc2": 32, "fc3": 32})
    {'fc1': 32, 'fc2': 16}
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..config import StrictConfig, format_validation_error
from ..errors import ConfigError

__all__ = ["AutoPruneSpec", "KeepValue", "resolve_keep_count", "resolve_keep_counts"]

KeepValue = int | float


class AutoPruneSpec(StrictConfig):
    """The AutoPruner section of a recipe.

    Training with masks runs ``soft_epochs`` epochs while the gates are annealed from soft
    (``sigmoid(initial_sharpness * z)``) to nearly hard (``final_sharpness``), then the top-k
    gates are frozen and ``hard_epochs`` more epochs adapt the weights to the hard mask. The
    exported reduced model is then optionally retrained: ``fine_tune`` from its own weights,
    ``scratch`` from a fresh initialization of the same reduced topology, ``none`` not at all.
    """

    keep: KeepValue | dict[str, KeepValue] = 0.5
    keep_features: KeepValue | None = None
    soft_epochs: int = Field(20, ge=1)
    hard_epochs: int = Field(5, ge=0)
    initial_sharpness: float = Field(1.0, gt=0)
    final_sharpness: float = Field(50.0, gt=0)
    retrain: Literal["none", "fine_tune", "scratch"] = "fine_tune"

    def __init__(self, **values) -> None:
        # Built from Python (not through a recipe), a bad value is still one ConfigError line.
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, "AutoPruneSpec")) from None

    # Only wraps errors: tells pydantic to skip it when validating a recipe (model_validate, nested
    # sections), whose errors parse_section already turns into one ConfigError with dotted paths.
    __init__.__pydantic_base_init__ = True

    @field_validator("keep")
    @classmethod
    def _valid_keep(cls, value):
        if isinstance(value, dict):
            if not value:
                raise ValueError("keep must name at least one layer, like {'fc1': 32}. Received: {}")
            for name, item in value.items():
                _check_keep_value(item, f"keep[{name!r}]")
        else:
            _check_keep_value(value, "keep")
        return value

    @field_validator("keep_features")
    @classmethod
    def _valid_keep_features(cls, value):
        if value is not None:
            _check_keep_value(value, "keep_features")
        return value

    @model_validator(mode="after")
    def _sharpness_grows(self):
        if self.final_sharpness < self.initial_sharpness:
            raise ValueError(
                "final_sharpness must be >= initial_sharpness (the mask anneals from soft to hard). "
                f"Received: initial_sharpness={self.initial_sharpness}, final_sharpness={self.final_sharpness}"
            )
        return self

    @property
    def masked_epochs(self) -> int:
        """Epochs of training with node masks (soft annealing, then hard)."""
        return self.soft_epochs + self.hard_epochs


def _check_keep_value(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"{where} must be a node count (int >= 1) or a fraction in (0, 1]. Received: {value!r}"
        )
    if isinstance(value, int) and value < 1:
        raise ValueError(
            f"{where} must keep at least 1 node; a layer with 0 nodes cuts the network. Received: {value}"
        )
    if isinstance(value, float) and not 0 < value <= 1:
        raise ValueError(f"{where} as a fraction must be in (0, 1]. Received: {value}")


def resolve_keep_count(value: KeepValue, width: int, where: str) -> int:
    """The number of nodes to keep out of ``width``: a count as given, a fraction rounded half up.

    Raises:
        ConfigError: the count is 0 or negative, larger than ``width``, or the fraction rounds to 0.
    """
    try:
        _check_keep_value(value, where)
    except ValueError as error:
        raise ConfigError(str(error) + ".") from None
    if isinstance(value, float):
        count = math.floor(value * width + 0.5)
        if count < 1:
            raise ConfigError(
                f"{where}={value} of {width} nodes rounds to 0 nodes; keep at least 1 (a count, or a larger fraction)."
            )
        return count
    if value > width:
        raise ConfigError(
            f"{where}={value} nodes, but the layer has only {width}. Choose a count in 1..{width}."
        )
    return value


def resolve_keep_counts(keep: KeepValue | dict[str, KeepValue], widths: dict[str, int]) -> dict[str, int]:
    """Per-layer node counts for the maskable layers ``widths`` (name -> number of nodes).

    Raises:
        ConfigError: a layer name the model lacks, or an invalid count for a layer.
    """
    if not isinstance(keep, dict):
        return {name: resolve_keep_count(keep, width, f"keep for {name}") for name, width in widths.items()}
    unknown = [name for name in keep if name not in widths]
    if unknown:
        raise ConfigError(
            f"keep names layer(s) {', '.join(unknown)} that cannot be node-pruned. "
            f"Maskable hidden Dense layers: {', '.join(widths) or '(none)'}."
        )
    return {name: resolve_keep_count(value, widths[name], f"keep[{name!r}]") for name, value in keep.items()}
