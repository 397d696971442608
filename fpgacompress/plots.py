"""Figures saved as PNG files; matplotlib runs headless (Agg) and is imported only when plotting."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "pyplot",
    "save_figure",
    "kernel_weights",
    "plot_weight_distribution",
    "plot_history",
    "plot_roc_curves",
]


def save_figure(figure, path: str | Path) -> Path:
    """Lay out, write as PNG and close ``figure`` (an open figure keeps its memory until closed)."""
    plt = pyplot()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def kernel_weights(model) -> dict[str, np.ndarray]:
    """The kernel of every layer that has one, by layer name (Dense and QDense alike)."""
    kernels = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            kernels[layer.name] = np.asarray(kernel.numpy())
    return kernels


def pyplot():
    """matplotlib's pyplot on the headless Agg backend (imported only when a figure is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_weight_distribution(model, path: str | Path, title: str = "Weight distribution") -> Path:
    """Histogram of every layer's weights: the picture that shows L1 pushing weights to zero.

    Exact zeros (pruned weights) are counted in the legend instead of drawn as one huge bin.
    """
    plt = pyplot()
    kernels = kernel_weights(model)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    largest = max((np.abs(k).max() for k in kernels.values() if k.size), default=1.0) or 1.0
    bins = np.linspace(-largest, largest, 81)
    for name, kernel in kernels.items():
        values = kernel.ravel()
        nonzero = values[values != 0]
        zero_fraction = 1 - nonzero.size / max(values.size, 1)
        axis.hist(
            nonzero,
            bins=bins,
            histtype="step",
            linewidth=1.5,
            label=f"{name}: {values.size} weights, {zero_fraction:.0%} zero",
        )
    axis.set_yscale("log")
    axis.set_xlabel("weight value")
    axis.set_ylabel("weights per bin")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_history(history: dict[str, list[float]], path: str | Path) -> Path:
    """Training and validation loss and accuracy per epoch."""
    plt = pyplot()
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, values in history.items():
        axis = accuracy_axis if "accuracy" in key else loss_axis if "loss" in key else None
        if axis is not None:
            axis.plot(np.arange(1, len(values) + 1), values, label=key)
    for axis, label in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_roc_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], class_names: tuple[str, ...], path: str | Path
) -> Path:
    """One-vs-rest ROC curves per class, one line style per model (``curves``: label -> (probs, labels)).

    Drawn as the trigger community does: signal efficiency on x, background mistag rate on a log y axis.
    """
    from sklearn.metrics import roc_curve

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 5))
    styles = ["-", "--", ":", "-."]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for model_index, (label, (probabilities, labels)) in enumerate(curves.items()):
        for class_index, name in enumerate(class_names):
            is_class = labels == class_index
            if not 0 < is_class.sum() < len(labels):
                continue
            false_positive, true_positive, _ = roc_curve(is_class, probabilities[:, class_index])
            axis.plot(
                true_positive,
                np.clip(false_positive, 1e-4, 1),
                linestyle=styles[model_index % len(styles)],
                color=colors[class_index % len(colors)],
                label=f"{name} ({label})" if model_index == 0 or len(curves) > 1 else None,
            )
    axis.set_yscale("log")
    axis.set_xlabel("signal efficiency")
    axis.set_ylabel("background efficiency")
    axis.set_title("One-vs-rest ROC curves")
    axis.legend(fontsize=7, ncol=2)
    return save_figure(figure, path)
