"""The two sparse variational dropout figures: log alpha per layer, and the input features' relevance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_log_alpha", "plot_feature_relevance"]


def plot_log_alpha(layers: dict, threshold: float, path: str | Path) -> Path:
    """Histogram of every layer's log alpha with the threshold: weights right of it are removed."""
    from ..plots import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    bins = np.linspace(-10, 10, 81)
    for name, layer in layers.items():
        axis.hist(
            np.ravel(layer.log_alpha),
            bins=bins,
            histtype="step",
            linewidth=1.5,
            label=f"{name}: {layer.n_weights} weights, {layer.sparsity:.1%} removed",
        )
    axis.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    axis.set_yscale("log")
    axis.set_xlabel("log alpha = log sigma^2 - log theta^2")
    axis.set_ylabel("weights per bin")
    axis.set_title("Sparse variational dropout: log alpha per layer")
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_feature_relevance(
    log_alpha: dict[str, float], threshold: float, path: str | Path, source: str = "feature gate"
) -> Path:
    """Input features ordered by log alpha (most relevant at the top); those past the threshold greyed.

    ``source`` says where the values come from (the feature gate, or the first layer's weights).
    """
    from ..plots import pyplot, save_figure

    plt = pyplot()
    names = sorted(log_alpha, key=log_alpha.get)
    values = [log_alpha[name] for name in names]
    figure, axis = plt.subplots(figsize=(6.5, 0.3 * len(names) + 1.5))
    colors = ["tab:blue" if value < threshold else "lightgrey" for value in values]
    axis.barh(range(len(names)), np.asarray(values) + 10, left=-10, color=colors)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    axis.invert_yaxis()
    axis.axvline(threshold, color="black", linestyle="--", linewidth=1)
    axis.set_xlim(-10, 10)
    axis.set_xlabel(f"log alpha of the {source} (smaller: more relevant)")
    axis.set_title("Input feature relevance")
    return save_figure(figure, path)
