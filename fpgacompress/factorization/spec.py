"""The recipe's ``factorize`` section: how the low-rank stage chooses its ranks and how long it fine-tunes."""

from __future__ import annotations

from pydantic import Field, model_validator

from ..config import StrictConfig

__all__ = ["FactorizeSpec"]


class FactorizeSpec(StrictConfig):
    """Exactly one way to choose the rank, as ``fpgacompress factorize`` takes exactly one of its options.

    Attributes:
        rank: the same rank ``r`` for every factorized layer.
        energy: the smallest rank keeping this fraction of each kernel's singular-value energy.
        max_products: the largest rank whose ``r * (n + m)`` products stay within this number per layer.
        layers: the Dense layers to factorize (default: every one whose split saves products).
        epochs: fine-tuning epochs of the factorized network (default: ``training.epochs``).
    """

    rank: int | None = Field(None, ge=1)
    energy: float | None = Field(None, gt=0.0, le=1.0)
    max_products: int | None = Field(None, ge=1)
    layers: list[str] | None = None
    epochs: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_rank_choice(self) -> FactorizeSpec:
        chosen = [name for name in ("rank", "energy", "max_products") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "set exactly one of rank, energy or max_products "
                f"(received {', '.join(chosen) if chosen else 'none'})"
            )
        return self
