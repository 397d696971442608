"""A resource budget on a board (``lut<=2%,dsp<=0``) and the cut that moves a design towards it.

Budget mode prunes until the *estimated* design fits: each step estimates the current model
(:func:`~fpgacompress.estimation.estimate` at the spec's precision, binding and reuse factor),
and if a resource is over its limit cuts the weights with the least saliency per unit of the
over-budget cost — the greedy solution of the knapsack "keep the most saliency within the
budget", as hls4ml's ``dsp_aware_pruning`` solves it — just enough to cover the excess (at most
``fraction_per_iteration`` of the kept weights), then retrains. It stops when the estimate fits,
or raises :class:`ResourceBudgetError` when the accuracy budget or ``target_sparsity`` (the most
it may prune) is reached first.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, FpgacompressError
from .cost import ProductCost

__all__ = ["ResourceBudget", "ResourceBudgetError", "budget_cut", "RESOURCES"]

RESOURCES = ("lut", "ff", "dsp", "bram_18k")
_TERM = re.compile(r"^\s*(lut|ff|dsp|bram_18k)\s*<=\s*([0-9]*\.?[0-9]+)\s*(%?)\s*$", re.IGNORECASE)


class ResourceBudgetError(FpgacompressError, RuntimeError):
    """The design cannot be pruned into its resource budget within the accuracy budget."""


@dataclass(frozen=True)
class ResourceBudget:
    """Upper limits per resource, each an absolute count or a percent of the board's device.

    Attributes:
        terms: ``(resource, value, is_percent)`` in the order given.
    """

    terms: tuple[tuple[str, float, bool], ...]

    @classmethod
    def parse(cls, text: str) -> ResourceBudget:
        """``"lut<=2%,dsp<=0"`` -> a budget; a bad term raises :class:`ConfigError` naming it."""
        terms = []
        for part in str(text).split(","):
            match = _TERM.match(part)
            if not match:
                raise ConfigError(
                    f"Cannot read resource budget term {part.strip()!r} in {text!r}: expected RESOURCE<=NUMBER "
                    f"or RESOURCE<=PERCENT%, comma separated, resources {', '.join(RESOURCES)} "
                    "(like lut<=2%,dsp<=0)."
                )
            terms.append((match.group(1).lower(), float(match.group(2)), bool(match.group(3))))
        names = [name for name, _, _ in terms]
        if len(set(names)) != len(names):
            raise ConfigError(f"Resource budget {text!r} names a resource twice.")
        return cls(tuple(terms))

    def limits(self, available: dict[str, int]) -> dict[str, float]:
        """Absolute limits given the device totals (``{"lut": 1182240, ...}``)."""
        return {
            name: value / 100.0 * available[name] if percent else value for name, value, percent in self.terms
        }

    def excess(self, totals, available: dict[str, int]) -> dict[str, float]:
        """How far over its limit each resource is (only those over), from an estimate's totals."""
        return {
            name: totals.get(name) - limit
            for name, limit in self.limits(available).items()
            if totals.get(name) > limit
        }

    def __str__(self) -> str:
        return ",".join(f"{name}<={value:g}{'%' if percent else ''}" for name, value, percent in self.terms)


def budget_cut(
    saliency: dict[str, np.ndarray],
    costs: dict[str, ProductCost],
    mask,
    excess: dict[str, float],
    *,
    max_fraction: float,
    max_sparsity: dict[str, float],
) -> PruningMask:  # noqa: F821 (imported below: mask.py imports TensorFlow)
    """Cut the kept weights with the least saliency per unit of over-budget cost, until the excess is covered.

    The cost of a weight is its estimated LUT and DSP share of the resources that are over budget,
    each divided by that resource's excess (so covering every excess counts as 1 per resource).
    Every output neuron keeps its most salient weight, and no layer goes past ``max_sparsity``.
    """
    from .magnitude import removable
    from .mask import PruningMask

    names, scores, rows, gains = [], [], [], []
    for name, kept in mask.masks.items():
        candidates = removable(saliency[name] + 1e-30, kept)  # + tiny: zero saliency still ranks
        min_kept = math.ceil((1.0 - max_sparsity.get(name, 1.0)) * kept.size - 1e-9)
        if int(kept.sum()) <= min_kept:
            continue
        flat = np.flatnonzero(candidates)
        share = {
            resource: (costs[name].dsp if resource == "dsp" else costs[name].lut).ravel()[flat] / amount
            for resource, amount in excess.items()
            if resource in ("lut", "dsp")
        }
        weight = sum(share.values()) if share else np.ones(flat.size)
        weight = np.maximum(weight, 1e-12)
        scores.append(saliency[name].ravel()[flat] / weight)
        names.append(np.full(flat.size, name, dtype=object))
        rows.append(flat)
        gains.append(
            np.stack([share.get(resource, np.zeros(flat.size)) for resource in ("lut", "dsp")], axis=1)
        )
    new = {name: kept.copy() for name, kept in mask.masks.items()}
    if not scores:
        return PruningMask(new)
    scores, names, rows, gains = (
        np.concatenate(scores),
        np.concatenate(names),
        np.concatenate(rows),
        np.concatenate(gains),
    )
    limit = max(1, round(max_fraction * mask.n_kept))
    room = {
        name: int(kept.sum()) - math.ceil((1.0 - max_sparsity.get(name, 1.0)) * kept.size - 1e-9)
        for name, kept in mask.masks.items()
    }
    covered = np.zeros(2)
    wanted = np.array([1.0 if "lut" in excess else 0.0, 1.0 if "dsp" in excess else 0.0])
    removed = 0
    for index in np.argsort(scores, kind="stable"):
        name = names[index]
        if room[name] <= 0:
            continue
        new[name].ravel()[rows[index]] = False
        room[name] -= 1
        removed += 1
        covered += gains[index]
        # 10 % margin: the per-product costs do not see sharing, the estimate is the judge.
        if removed >= limit or (wanted.any() and np.all(covered[wanted > 0] >= 1.1)):
            break
    return PruningMask(new)
