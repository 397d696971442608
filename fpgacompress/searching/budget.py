"""A trial's estimate against the board's budget: one constraint value per limit, <= 0 is within.

The values are what Optuna's constrained samplers learn the feasible region from, so each is the
relative excess (``used / allowed - 1``): a design twice over its LUT budget reads 1.0, whatever
the board.
"""

from __future__ import annotations

from .spec import SearchBudget

__all__ = ["constraint_values", "budget_clock_mhz", "is_feasible", "describe_excess", "RESOURCE_LIMITS"]

RESOURCE_LIMITS = ("lut", "ff", "dsp", "bram_18k")


def budget_clock_mhz(budget: SearchBudget, board, build_clock_mhz: float | None = None) -> float:
    """The clock the design runs at: the budget's, else the recipe's build section's, else the board's."""
    return budget.clock_mhz or build_clock_mhz or board.default_clock_mhz


def constraint_values(report, budget: SearchBudget, board, clock_mhz: float) -> dict[str, float]:
    """``{limit: used / allowed - 1}`` for each resource (the whole device when unset), the latency
    when set, and the LHC II budget."""
    from ..boards import max_initiation_interval

    values: dict[str, float] = {}
    totals = board.totals()
    for resource in RESOURCE_LIMITS:
        # An unset limit is the whole device: a design the board cannot hold is never feasible.
        fraction = getattr(budget, resource) or 1.0
        allowed = fraction * totals[resource]
        values[resource] = report.totals.get(resource) / allowed - 1.0
    if budget.latency_ns is not None:
        values["latency_ns"] = report.latency_ns / budget.latency_ns - 1.0
    max_ii = max_initiation_interval(clock_mhz, budget.tmux)
    values["ii"] = report.totals.ii / max_ii - 1.0
    return values


def is_feasible(values: dict[str, float]) -> bool:
    return all(value <= 0 for value in values.values())


def describe_excess(values: dict[str, float]) -> str:
    """``"lut 2.3x the budget, ii 1.5x"``: the limits a design breaks."""
    broken = [f"{name} {1 + value:.2f}x the budget" for name, value in values.items() if value > 0]
    return ", ".join(broken) or "within budget"
