"""The two AutoPruner figures: accuracy vs fraction of nodes kept, and vs input features kept.

Each takes one or more named series of ``(x, accuracy)`` points, so AutoPruner (+ retraining) and
the same reduced topology trained from scratch are drawn side by side.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_accuracy_vs_nodes_kept", "plot_accuracy_vs_features_kept"]

Series = dict[str, list[tuple[float, float]]]


def plot_accuracy_vs_nodes_kept(series: Series, path: str | Path, baseline: float | None = None) -> Path:
    """Test accuracy against the fraction of hidden nodes kept (1.0 = the unpruned network)."""
    return _plot(
        series, path, "fraction of hidden nodes kept", "AutoPruner: accuracy vs nodes kept", baseline, True
    )


def plot_accuracy_vs_features_kept(series: Series, path: str | Path, baseline: float | None = None) -> Path:
    """Test accuracy against the number of input features kept."""
    return _plot(
        series,
        path,
        "number of input features kept",
        "AutoPruner: accuracy vs input features",
        baseline,
        False,
    )


def _plot(series: Series, path, xlabel: str, title: str, baseline: float | None, as_percent: bool) -> Path:
    from ..plots import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    for (label, points), marker in zip(series.items(), "osD^v", strict=False):
        points = sorted(points)
        axis.plot([x for x, _ in points], [y for _, y in points], marker=marker, label=label)
    if baseline is not None:
        axis.axhline(baseline, color="grey", linestyle="--", linewidth=1, label="unpruned baseline")
    if as_percent:
        axis.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:.0%}"))
    axis.set_xlabel(xlabel)
    axis.set_ylabel("test accuracy")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)
