"""The YAML recipe: one validated object for the whole chain, from data to firmware.

Sections: ``data``, ``model``, ``regularization``, ``training`` (always), then the optional stages
``autoprune``, ``sparsify``, ``pruning``, ``quantization`` and ``build`` (+ ``csim``). A section left out
skips its stage. ``search`` is read only by ``fpgacompress search`` (the other sections are its fixed
settings). Unknown keys and wrong types are errors naming their dotted path (``pruning.target_sparsity``).

Example:
    >>> recipe = load_recipe("scripts/jet_trigger_vu13p.yaml")
    >>> recipe.build.board, recipe.pruning.target_sparsity
    ('serenity-vu13p', 0.7)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .autopruning.spec import AutoPruneSpec
from .config import (
    DataConfig,
    ModelConfig,
    RegularizationConfig,
    StrictConfig,
    TrainingConfig,
    format_validation_error,
    parse_section,
    read_yaml,
)
from .errors import ConfigError
from .firmware.settings import BuildConfig
from .pruning.spec import PruneSpec
from .quantization.spec import QuantizationSpec
from .searching.spec import SearchSpec
from .variational.spec import SparsifySpec

__all__ = [
    "StrictConfig",
    "DataConfig",
    "ModelConfig",
    "RegularizationConfig",
    "TrainingConfig",
    "QuantizationStage",
    "Recipe",
    "load_recipe",
    "parse_section",
    "format_validation_error",
]


class QuantizationStage(StrictConfig):
    """Quantization-aware fine-tuning: the per-layer precision and how long to fine-tune."""

    precision: QuantizationSpec = QuantizationSpec()
    epochs: int = Field(10, ge=1)
    learning_rate: float = Field(5e-4, gt=0)


class Recipe(StrictConfig):
    """The whole chain; every section after ``training`` is optional (``None`` skips the stage)."""

    name: str = Field("jet-tagger", pattern=r"^[A-Za-z0-9_.-]+$")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    regularization: RegularizationConfig = RegularizationConfig()
    training: TrainingConfig = TrainingConfig()
    autoprune: AutoPruneSpec | None = None
    sparsify: SparsifySpec | None = None
    pruning: PruneSpec | None = None
    quantization: QuantizationStage | None = None
    build: BuildConfig | None = None
    csim: bool = True
    search: SearchSpec | None = None


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a YAML recipe; relative data paths are taken from the recipe's folder."""
    path = Path(path)
    payload = read_yaml(path, "recipe") or {}
    if not isinstance(payload, dict):
        raise ConfigError(f"Recipe {path} must be a mapping of sections (data, model, training, ...).")
    recipe = parse_section(Recipe, payload, f"recipe {path}")
    data_path = recipe.data.path
    if data_path is not None and not data_path.is_absolute():
        recipe = recipe.model_copy(
            update={"data": recipe.data.model_copy(update={"path": (path.parent / data_path).resolve()})}
        )
    return recipe
