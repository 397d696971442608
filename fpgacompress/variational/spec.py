"""What the user asks of sparse variational dropout: the ``sparsify`` section of a recipe.

Example:
    >>> spec = SparsifySpec(epochs=40, warmup_epochs=10, threshold=3.0, feature_gate=True)
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from ..config import StrictConfig, format_validation_error
from ..errors import ConfigError

__all__ = ["SparsifySpec", "EMPTY_LAYER_POLICIES"]

EMPTY_LAYER_POLICIES = ("refuse", "keep_best_per_output")


class SparsifySpec(StrictConfig):
    """Variational training, thresholding and the optional masked fine-tuning of the export.

    Attributes:
        epochs: epochs of variational training (no early stopping: an early epoch is not yet sparse).
        warmup_epochs: the KL weight rises linearly from ``1/warmup_epochs`` to 1 over these epochs.
        learning_rate: Adam's learning rate for the variational training. ``log sigma^2`` has to
            travel from ``initial_log_sigma2`` to beyond the threshold, so it is higher than for
            ordinary training.
        batch_size: batch size of the variational training (more, smaller steps sparsify sooner).
        kl_scale: final weight of the KL term (reached after the warm-up). 1 is the variational lower
            bound of Molchanov et al.; larger values weigh the prior more than the data (as if the
            training set were ``kl_scale`` times smaller): a dial from accuracy to sparsity.
        threshold: weights with ``log alpha >= threshold`` are removed (3: noise ~4.5x the mean).
        target_sparsity: if set, the Dense layers' log alpha cut is chosen after training so that this
            fraction of their weights (at least) is removed, the noisiest first over all layers together (the
            sparsity asked for, whatever ``kl_scale`` reached at ``threshold``); ``threshold`` then cuts
            only the feature gate. ``None``: the fixed ``threshold`` everywhere.
        initial_log_sigma2: starting ``log sigma^2`` of every weight (small: the trained model's output).
        feature_gate: learn one variational gate per input feature (per-feature relevance, reported
            and plotted); irrelevant features end with zero rows in the first layer.
        on_empty_layer: when the threshold removes every weight of a layer (the network output would
            no longer depend on its input): ``refuse`` (an error) or ``keep_best_per_output`` (each
            output of such a layer keeps its weight with the smallest log alpha; the export then differs
            from the variational model's own thresholded output by those weights).
        fine_tune_epochs: epochs of ordinary training of the sparse export with its zeros held
            (0: export the thresholded variational means as they are).
        learning_rate_schedule: ``constant``: both phases at their configured rate. ``cosine``: the
            variational phase decays ``learning_rate`` along a half cosine to 1 % (at the full rate to
            the end, the means still jitter by Adam's step when they are thresholded), and the
            fine-tuning restarts at the training rate and decays the same way (as ``prune``'s
            ``restart``).
    """

    epochs: int = Field(40, ge=1)
    warmup_epochs: int = Field(10, ge=0)
    learning_rate: float = Field(1e-2, gt=0)
    batch_size: int = Field(256, ge=1)
    kl_scale: float = Field(1.0, gt=0)
    threshold: float = 3.0
    target_sparsity: float | None = Field(None, gt=0, lt=1)
    initial_log_sigma2: float = Field(-10.0, lt=0)
    feature_gate: bool = False
    on_empty_layer: Literal["refuse", "keep_best_per_output"] = "refuse"
    fine_tune_epochs: int = Field(0, ge=0)
    learning_rate_schedule: Literal["constant", "cosine"] = "constant"

    def __init__(self, **values) -> None:
        # Built from Python (not through a recipe), a bad value is still one ConfigError line.
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, "SparsifySpec")) from None

    __init__.__pydantic_base_init__ = True

    @field_validator("threshold")
    @classmethod
    def _finite_threshold(cls, value: float) -> float:
        if not math.isfinite(value) or not -10 < value < 10:
            raise ValueError(
                "threshold must be a log alpha in (-10, 10) (log alpha is clipped to [-10, 10]; 3 is the usual "
                f"cut). Received: threshold={value}"
            )
        return value
