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

import reprlib
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
    "read_yaml",
]

MAX_YAML_BYTES = 1_000_000  # a recipe is a few kB
MAX_YAML_VALUES = 100_000  # values after expanding YAML aliases (&anchor / *alias)


class StrictConfig(BaseModel):
    """Base of every recipe section: unknown keys are errors, values are immutable.

    Built from Python (``BuildConfig(reuse_factor=0)``), a bad value raises the project's
    :class:`~fpgacompress.errors.ConfigError` naming the dotted path, not pydantic's ``ValidationError``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **values) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, type(self).__name__)) from None

    # Only wraps errors: pydantic skips it when it validates nested sections (model_validate),
    # whose errors parse_section turns into one ConfigError with the full dotted path.
    __init__.__pydantic_base_init__ = True


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
    """Adam fine-tuning settings shared by every training stage.

    ``learning_rate_schedule: cosine`` decays the learning rate from ``learning_rate`` towards zero
    over ``epochs`` (half a cosine, per epoch): the last epochs take small steps, which settles
    quantized weights (ternary assignments, power-of-two scales) that flip at a constant rate.
    """

    epochs: int = Field(30, ge=1)
    batch_size: int = Field(512, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    early_stopping_patience: int | None = Field(5, ge=1)
    learning_rate_schedule: Literal["constant", "cosine"] = "constant"
    seed: int = 0

    def optimizer_settings(self) -> TrainingConfig:
        """These settings with ``epochs`` left unset, for a stage whose own section sets its length.

        ``prune(training=...)`` takes an explicitly set ``epochs`` as the retraining length; a recipe's
        ``training.epochs`` is the first training's length, not the pruning stage's.
        """
        return TrainingConfig(**self.model_dump(exclude={"epochs"}))


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
            problems.append(f"{where}: {item['msg']} (received {_shortened(item.get('input'))})")
        if len(problems) == MAX_REPORTED_PROBLEMS and len(error.errors()) > MAX_REPORTED_PROBLEMS:
            problems.append(f"... and {len(error.errors()) - MAX_REPORTED_PROBLEMS} more")
            break
    return f"Invalid {source}: " + "; ".join(problems)


MAX_ECHOED_CHARACTERS = 80
MAX_REPORTED_PROBLEMS = 10


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxdict, _SHORT_REPR.maxlist = 2, 4, 4
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def _shortened(value: object) -> str:
    """``repr(value)``, cut to a few dozen characters: an error line must stay one readable line."""
    if isinstance(value, (dict, list, tuple, set)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= MAX_ECHOED_CHARACTERS else text[: MAX_ECHOED_CHARACTERS - 3] + "..."


def parse_section(model_type: type[StrictConfig], payload: dict, source: str) -> StrictConfig:
    """Validate ``payload`` as ``model_type``; a :class:`ConfigError` names each bad dotted path."""
    try:
        return model_type.model_validate(payload)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def _expanded_size(value: object, source: str, memo: dict[int, int], active: set[int]) -> int:
    if not isinstance(value, (dict, list)):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    if key in active:
        raise ConfigError(f"{source} refers to itself through a YAML alias; write the values out instead.")
    active.add(key)
    children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    total = 1
    for child in children:
        total += _expanded_size(child, source, memo, active)
        if total > MAX_YAML_VALUES:
            raise ConfigError(
                f"{source} expands to more than {MAX_YAML_VALUES:,} values through YAML aliases (&anchor / *alias); "
                "a recipe needs a few dozen. Write the values out instead of nesting aliases."
            )
    active.discard(key)
    memo[key] = total
    return total


def read_yaml(path: str | Path, what: str = "file"):
    """The content of a YAML file, refused when too big or when its aliases expand past a sane size.

    PyYAML shares an aliased value instead of copying it, so an "alias bomb" (a few lines expanding
    to billions of values) loads quickly; the expanded size is counted here (linear in the file) so
    no later step ever walks the expansion.

    Raises:
        ConfigError: missing file, not YAML, larger than ``MAX_YAML_BYTES``, expanding past
            ``MAX_YAML_VALUES`` values, or self-referencing.
    """
    import yaml

    path = Path(path)
    source = f"{what} {path}"
    if not path.is_file():
        raise ConfigError(f"{what.capitalize()} not found: {path}.")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ConfigError(
            f"{source} is {size:,} bytes; the limit is {MAX_YAML_BYTES:,}. Is it the right file?"
        )
    try:
        payload = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source} is not valid YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{source} is nested too deeply to be a recipe.") from None
    try:
        _expanded_size(payload, source, {}, set())
    except RecursionError:
        raise ConfigError(f"{source} is nested too deeply to be a recipe.") from None
    return payload
