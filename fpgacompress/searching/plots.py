"""The search's four figures: history, Pareto front, best metric vs resource budget, importances.
"""

from __future__ import annotations

from pathlib import Path

from ..plots import pyplot, save_figure
from .table import resource_cost

__all__ = ["plot_history", "plot_pareto", "plot_budget_curve", "plot_importances", "budget_curve"]

BUDGET_PERCENTS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _trained(rows):
    return [row for row in rows if row["state"] == "COMPLETE" and row["trained"]]


def plot_history(rows: list[dict], metric: str, path: Path) -> Path:
    """Each trial's metric, the best feasible so far, and the trials refused before training."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    complete = [row for row in rows if row["state"] == "COMPLETE"]
    good = [row for row in complete if row["trained"] and row["feasible"]]
    over = [row for row in complete if row["trained"] and not row["feasible"]]
    skipped = [row for row in complete if not row["trained"]]
    axis.scatter(
        [r["number"] for r in good], [r["value"] for r in good], s=18, label="trained, within budget"
    )
    if over:
        axis.scatter(
            [r["number"] for r in over],
            [r["value"] for r in over],
            s=18,
            marker="s",
            color="tab:orange",
            label="trained, over budget after compression",
        )
    if skipped:
        axis.scatter(
            [r["number"] for r in skipped],
            [r["value"] for r in skipped],
            s=18,
            marker="x",
            color="tab:red",
            label="over budget before training (not trained)",
        )
    best, xs, ys = None, [], []
    for row in sorted(good, key=lambda r: r["number"]):
        best = row["value"] if best is None else max(best, row["value"])
        xs.append(row["number"])
        ys.append(best)
    if xs:
        axis.step(xs, ys, where="post", color="black", label="best within budget")
    axis.set_xlabel("trial")
    axis.set_ylabel(f"test {metric}")
    axis.set_title("Optimisation history")
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_pareto(rows: list[dict], front: list[dict], metric: str, path: Path) -> Path:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    trained = [row for row in _trained(rows) if resource_cost(row) is not None]
    axis.scatter(
        [resource_cost(r) for r in trained],
        [r["value"] for r in trained],
        s=14,
        alpha=0.5,
        label="trained trials",
    )
    if front:
        axis.plot(
            [r["lut_plus_55_dsp"] for r in front],
            [r["value"] for r in front],
            "o-",
            color="black",
            label="Pareto front (within budget)",
        )
    axis.set_xscale("log")
    axis.set_xlabel("estimated LUT + 55 x DSP")
    axis.set_ylabel(f"test {metric}")
    axis.set_title("Metric vs resources")
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def budget_curve(
    rows: list[dict], board_luts: int, percents=BUDGET_PERCENTS
) -> list[tuple[float, float | None]]:
    """``(budget % of the board's LUTs, best metric of a trained trial within it)`` per budget.

    Only trials that keep every other limit of the search's budget (II, DSP, latency, ...) count:
    the talks' "performance over resource availability".
    """
    trained = [row for row in _trained(rows) if row.get("lut") not in (None, "")]
    curve = []
    for percent in percents:
        allowed = percent / 100.0 * board_luts
        within = [
            row["value"]
            for row in trained
            if row["lut"] <= allowed and (row["feasible"] or _only_lut_broken(row))
        ]
        curve.append((percent, max(within) if within else None))
    return curve


def _only_lut_broken(row: dict) -> bool:
    reasons = [
        part.strip().split(" ")[0] for part in (row.get("infeasible") or "").split(",") if part.strip()
    ]
    return bool(reasons) and set(reasons) == {"lut"}


def plot_budget_curve(curve: list[tuple[float, float | None]], metric: str, board: str, path: Path) -> Path:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    points = [(percent, value) for percent, value in curve if value is not None]
    if points:
        axis.plot([p for p, _ in points], [v for _, v in points], "o-")
    axis.set_xscale("log")
    axis.set_xlabel(f"LUT budget (% of {board})")
    axis.set_ylabel(f"best test {metric}")
    axis.set_title("Best metric vs resource budget")
    return save_figure(figure, path)


def plot_importances(importances: dict[str, float], path: Path) -> Path:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 0.5 + 0.45 * max(len(importances), 1)))
    names = list(importances)[::-1]
    axis.barh(names, [importances[name] for name in names])
    axis.set_xlabel("importance (fANOVA share of the metric's variance)")
    axis.set_title("Parameter importances")
    return save_figure(figure, path)
