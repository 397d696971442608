"""Validated configuration: the strict base every recipe section derives from, and the sections of
the foundation (data, model, regularization, training).

Unknown keys and wrong types are errors that name their dotted path (``training.epochs``), because
a typo that is silently ignored costs a trigger developer a day of training the wrong thing. Stage
modules (pruning, AutoPruner, quantization, build) define their own sections on :class:`StrictConfig`;
:mod:`fpgacompress.recipe` assembles them into the whole recipe.

Example:
    >>> TrainingConfig(epochs=30).batch_size
    512
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .models import parse_topology

__all__ = [
    "StrictConfig",
    "DataConfig",
    "ModelConfig",
    "RegularizationConfig",
    "TrainingConfig",
    "parse_section",
    "format_validation_error",
]


class StrictConfig(BaseModel):
    """Base of every recipe section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(StrictConfig):
    """Where the jets come from; ``path: null`` is the sample bundled with the package."""

    path: Path | None = None
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    max_train: int | None = Field(None, ge=100, description="subsample the training split (quick runs)")
    max_test: int | None = Field(None, ge=100)
    seed: int = 0


class ModelConfig(StrictConfig):
    topology: str = "16-64-32-32-5"
    activation: Literal["relu"] = "relu"

    @field_validator("topology")
    @classmethod
    def _valid_topology(cls, value: str) -> str:
        parse_topology(value)
        return value


class RegularizationConfig(StrictConfig):
    """Kernel penalty on every Dense layer: L1 (``lambda*|w|``) or Lp (``lambda*|w|^p``, 0<p<1)."""

    kind: Literal["none", "l1", "lp"] = "l1"
    strength: float = Field(1e-4, ge=0)
    p: float = Field(0.1, gt=0, lt=1)
    epsilon: float = Field(1e-4, gt=0)

    def build(self):
        """The Keras regularizer this section describes (``None`` for ``kind: none``)."""
        from .regularizers import make_regularizer

        return make_regularizer(self.kind, self.strength, p=self.p, epsilon=self.epsilon)


class TrainingConfig(StrictConfig):
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(512, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    early_stopping_patience: int | None = Field(5, ge=1)
    seed: int = 0


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line per problem, each naming the dotted path of the offending key."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown key")
        elif item["type"] == "value_error":  # our own validators already say what was received
            problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{where}: {item['msg']} (received {item.get('input')!r})")
    return f"Invalid {source}: " + "; ".join(problems)


def parse_section(model_type: type[StrictConfig], payload: dict, source: str) -> StrictConfig:
    """Validate ``payload`` as ``model_type``; a :class:`ConfigError` names each bad dotted path."""
    try:
        return model_type.model_validate(payload)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None
