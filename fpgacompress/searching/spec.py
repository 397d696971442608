"""The ``search:`` recipe section: what may vary, what is maximized, what the board allows.

Every part of the space is optional; what is not searched comes from the recipe's other sections
(``model``, ``regularization``, ``pruning``, ``quantization``, ``build``). Ranges are checked when
the recipe is read, so an inverted range fails before any training.

Example:
    >>> spec = SearchSpec(space={"width": {"low": 8, "high": 64, "log": True}}, budget={"lut": 0.05})
    >>> spec.sampler, spec.budget.board
    ('tpe', 'serenity-ku15p')
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import StrictConfig

__all__ = [
    "IntRange",
    "FloatRange",
    "RegularizationSpace",
    "SearchSpace",
    "SearchObjective",
    "SearchBudget",
    "SearchSpec",
    "SAMPLERS",
]

SAMPLERS = ("gp", "tpe", "cmaes", "random", "grid")


class IntRange(StrictConfig):
    """Integers from ``low`` to ``high`` inclusive; ``log`` samples evenly in log scale (widths)."""

    low: int = Field(ge=1)
    high: int = Field(ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _not_inverted(self) -> IntRange:
        if self.high < self.low:
            raise ValueError(
                f"the range is empty: high must be >= low. Received: low={self.low}, high={self.high}"
            )
        return self


class FloatRange(StrictConfig):
    """Real numbers from ``low`` to ``high``; ``log`` for strengths spanning decades."""

    low: float = Field(ge=0)
    high: float = Field(ge=0)
    log: bool = False

    @model_validator(mode="after")
    def _not_inverted(self) -> FloatRange:
        if not self.high > self.low:
            raise ValueError(
                f"the range is empty or inverted: high must be > low. Received: low={self.low}, high={self.high}"
            )
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0. Received: low={self.low}")
        return self


class RegularizationSpace(StrictConfig):
    """Which kernel penalties to try and, optionally, their strength."""

    kinds: tuple[Literal["none", "l1", "lp"], ...] = Field(("l1",), min_length=1)
    strength: FloatRange | None = None


class SearchSpace(StrictConfig):
    """What may vary from trial to trial; ``None`` keeps the recipe's own setting.

    Attributes:
        hidden_layers: number of hidden Dense layers.
        width: units of each hidden layer (every layer draws its own width).
        regularization: penalty kind and strength.
        target_sparsity: magnitude-pruning target (runs the ``pruning`` stage in every trial).
        weight_bits, activation_bits: fixed-point widths (runs quantization-aware training).
        reuse_factor: candidate hls4ml reuse factors (costed by the estimator, no training effect).
    """

    hidden_layers: IntRange | None = None
    width: IntRange | None = None
    regularization: RegularizationSpace | None = None
    target_sparsity: FloatRange | None = None
    weight_bits: IntRange | None = None
    activation_bits: IntRange | None = None
    reuse_factor: tuple[int, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _sane(self) -> SearchSpace:
        if self.target_sparsity is not None and self.target_sparsity.high >= 1:
            raise ValueError(f"target_sparsity must stay below 1. Received: high={self.target_sparsity.high}")
        for name in ("weight_bits", "activation_bits"):
            bits = getattr(self, name)
            if bits is not None and (bits.low < 2 or bits.high > 32):
                raise ValueError(f"{name} must be within 2..32. Received: low={bits.low}, high={bits.high}")
        if self.reuse_factor is not None and min(self.reuse_factor) < 1:
            raise ValueError(f"reuse factors must be >= 1. Received: {list(self.reuse_factor)}")
        return self


class SearchObjective(StrictConfig):
    """The metric to maximize on the test split and, optionally, a resource cost to minimize.

    ``background_rejection`` is the fraction of background jets rejected when the cut on the signal
    class's score keeps ``signal_efficiency`` of the signal (the talks' "precision = 1 - efficiency").
    ``cost`` adds a second objective, giving a Pareto front: ``lut_dsp`` is the estimate's
    LUT + 55 x DSP, ``bops`` the bit operations of the trained model.
    """

    metric: Literal["accuracy", "mean_auc", "background_rejection"] = "accuracy"
    signal_class: str | None = None
    signal_efficiency: float = Field(0.5, gt=0, lt=1)
    cost: Literal["none", "lut_dsp", "bops"] = "none"


class SearchBudget(StrictConfig):
    """What the board allows: fractions (0-1) of its resources, latency, and the LHC's II budget.

    The initiation interval must always fit ``tmux`` bunch crossings at the clock, and every resource
    the whole device; the fractions and the latency tighten that when set.
    """

    board: str = "serenity-ku15p"
    lut: float | None = Field(None, gt=0, le=1)
    ff: float | None = Field(None, gt=0, le=1)
    dsp: float | None = Field(None, gt=0, le=1)
    bram_18k: float | None = Field(None, gt=0, le=1)
    latency_ns: float | None = Field(None, gt=0)
    tmux: int = Field(1, ge=1)
    clock_mhz: float | None = Field(None, gt=0, le=1000)


class SearchSpec(StrictConfig):
    """The ``search:`` section.

    Attributes:
        trials: completed trials the study should reach (re-running with more extends it).
        sampler: ``gp`` (Gaussian-process Bayesian optimization, needs PyTorch), ``tpe``, ``cmaes``,
            ``random`` or ``grid`` (``grid_points`` values per numeric range).
        startup_trials: random trials before the model-based samplers start fitting.
        heartbeat_seconds: how often a running trial says it is alive; one silent for three
            heartbeats is marked failed and retried (``max_retry`` times).
    """

    trials: int = Field(20, ge=1)
    sampler: Literal["gp", "tpe", "cmaes", "random", "grid"] = "tpe"
    seed: int = 0
    startup_trials: int = Field(8, ge=1)
    grid_points: int = Field(5, ge=2, le=50)
    space: SearchSpace = SearchSpace()
    objective: SearchObjective = SearchObjective()
    budget: SearchBudget = SearchBudget()
    heartbeat_seconds: int = Field(30, ge=1)
    max_retry: int = Field(1, ge=0)
    save_models: bool = True
