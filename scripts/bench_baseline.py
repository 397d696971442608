"""Float 16-64-32-32-5 baseline on the shared jet benchmark, with and without L1, side by side.

Usage:
    .venv/bin/python scripts/bench_baseline.py [--data ../shared/data/jets_hlf.npz] [--epochs 30]

Prints a Markdown table for docs/benchmarks.md: test accuracy, mean and per-class ROC AUC, the
fraction of weights below 1e-3 in magnitude (what L1 makes prunable), epochs run, and wall time.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from fpgacompress.data import load_jets  # noqa: E402
from fpgacompress.models import build_mlp  # noqa: E402
from fpgacompress.plots import kernel_weights, plot_weight_distribution  # noqa: E402
from fpgacompress.recipe import TrainingConfig  # noqa: E402
from fpgacompress.regularizers import L1  # noqa: E402
from fpgacompress.training import train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jets_hlf.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--plots", type=Path, default=None, help="folder for the weight-distribution plots")
    args = parser.parse_args()

    data, _ = load_jets(args.data).standardized()
    config = TrainingConfig(epochs=args.epochs, batch_size=512, early_stopping_patience=5, seed=0)
    rows = []
    for label, regularizer in (("float, no regularization", None), ("float, L1 = 1e-4", L1(1e-4))):
        model = build_mlp("16-64-32-32-5", regularizer=regularizer, seed=0)
        start = time.perf_counter()
        result = train(model, data, config, progress=False)
        seconds = time.perf_counter() - start
        weights = np.concatenate([kernel.ravel() for kernel in kernel_weights(result.model).values()])
        small = float(np.mean(np.abs(weights) < 1e-3))
        if args.plots:
            args.plots.mkdir(parents=True, exist_ok=True)
            plot_weight_distribution(
                result.model, args.plots / f"weights_{'l1' if regularizer else 'plain'}.png", label
            )
        auc = result.metrics.auc
        rows.append(
            f"| {label} | {result.metrics.accuracy:.4f} | {result.metrics.mean_auc:.4f} | "
            + " | ".join(f"{auc[name]:.3f}" for name in data.class_names)
            + f" | {small:.1%} | {result.epochs_run} | {seconds:.0f} s |"
        )
    print(f"train {len(data.y_train)} / val {len(data.y_val)} / test {len(data.y_test)} jets")
    print(
        "| model | test accuracy | mean AUC | "
        + " | ".join(f"AUC {n}" for n in data.class_names)
        + " | weights with abs < 1e-3 | epochs run | wall time |"
    )
    print("|---" * (5 + len(data.class_names)) + "|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
