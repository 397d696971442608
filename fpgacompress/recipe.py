"""The YAML recipe: one validated object for the whole chain, from data to firmware.

Sections: ``data``, ``model``, ``regularization``, ``training`` (always), then the optional stages
``autoprune``, ``factorize``, ``sparsify``, ``pruning``, ``quantization`` and ``build`` (+ ``csim``). A section left out
skips its stage. ``search`` is read only by ``fpgacompress search`` (the other sections are its fixed
settings). Unknown keys and wrong types are errors naming their dotted path (``pruning.target_sparsity``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

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
from .factorization.spec import FactorizeSpec
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
    "TernarySettings",
    "Recipe",
    "load_recipe",
    "parse_section",
    "format_validation_error",
]


class TernarySettings(StrictConfig):
    """``quantization.ttq``: trained ternary weights, scales on the precision's weight grid.

    The keys of :func:`~fpgacompress.quantization.trained_ternary_quantization` (and of ``quantize
    --weights ttq``): ``layers`` names the ternary Dense layers (default: all but the first and the
    last; ``first_and_last: true`` makes those ternary too).
    """

    threshold: float = Field(0.05, gt=0, lt=1)
    power_of_two: bool = False
    layers: list[str] | None = None
    first_and_last: bool = False

    @model_validator(mode="after")
    def _layers_or_first_and_last(self):
        if self.layers is not None and self.first_and_last:
            raise ValueError(
                f"give either layers or first_and_last, not both (received layers={self.layers} and "
                f"first_and_last=true); the layers already say which Dense layers are ternary"
            )
        return self


class QuantizationStage(StrictConfig):
    """Quantization-aware fine-tuning: the per-layer precision and how long to fine-tune.

    ``ttq`` makes the weights trained ternary instead, ``codebook_bits`` shares each layer's weights
    in ``2**codebook_bits`` centroids; the stage's ``model.h5`` is then the bit-exact QDense export.
    The fine-tune's schedule is ``training.learning_rate_schedule``.
    """

    precision: QuantizationSpec = QuantizationSpec()
    epochs: int = Field(10, ge=1)
    learning_rate: float = Field(5e-4, gt=0)
    ttq: TernarySettings | None = None
    codebook_bits: int | None = Field(None, ge=1, le=8)

    @model_validator(mode="after")
    def _one_method(self):
        if self.ttq is not None and self.codebook_bits is not None:
            raise ValueError(
                "give either ttq or codebook_bits, not both (received both); each replaces plain QAT"
            )
        return self


class Recipe(StrictConfig):
    """The whole chain; every section after ``training`` is optional (``None`` skips the stage)."""

    name: str = Field("jet-tagger", pattern=r"^[A-Za-z0-9_.-]+$")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    regularization: RegularizationConfig = RegularizationConfig()
    training: TrainingConfig = TrainingConfig()
    autoprune: AutoPruneSpec | None = None
    factorize: FactorizeSpec | None = None
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
