"""AutoPruner on the shared jets: accuracy vs nodes kept and vs input features kept, side by side.

Usage:
    .venv/bin/python scripts/bench_autoprune.py [--data ../shared/data/jets_hlf.npz] [--max-train N]
        [--fractions 1.0,0.75,0.5,0.25] [--features 16,12,8,4] [--seeds 0] [--out runs/bench_autoprune]

Node sweep: for each fraction, a fresh 16-64-32-32-5 is AutoPruned *during training* (every hidden
layer keeps that fraction of its nodes; ``--soft-epochs`` of annealing, ``--hard-epochs`` with the
hard mask), exported, then retrained from its own weights ("AutoPruner + retrain"). The same reduced
topology is also trained from scratch, with the whole epoch budget AutoPruner used (masked epochs +
retraining epochs; both retrainings early-stop on validation loss, patience 5). Feature sweep: the same, with
only an input mask keeping k of the 16 features (hidden layers unpruned).

Every result is the test accuracy on the fixed 40k-jet test split. Prints Markdown tables for
docs/benchmarks.md and writes ``results.json``, ``accuracy_vs_nodes_kept.png`` and
``accuracy_vs_features_kept.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fpgacompress.autopruning import (  # noqa: E402
    AutoPruneSpec,
    autoprune,
    plot_accuracy_vs_features_kept,
    plot_accuracy_vs_nodes_kept,
    retrain_reduced,
)
from fpgacompress.data import load_jets  # noqa: E402
from fpgacompress.models import build_mlp  # noqa: E402
from fpgacompress.recipe import TrainingConfig  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jets_hlf.npz"
TOPOLOGY = "16-64-32-32-5"


def run_point(data, scaler, spec: AutoPruneSpec, retraining: TrainingConfig, seed: int) -> dict:
    """AutoPrune a fresh tagger, retrain the export from its weights and from scratch."""
    started = time.perf_counter()
    result = autoprune(
        build_mlp(TOPOLOGY, seed=seed), data, spec, training=retraining, standardizer=scaler, progress=False
    )
    fine_tuned = retrain_reduced(
        result.reduced_model, result.data, retraining, from_scratch=False, progress=False
    )
    # From scratch gets the whole epoch budget AutoPruner used (masked phase + retraining).
    scratch_training = retraining.model_copy(update={"epochs": retraining.epochs + spec.masked_epochs})
    scratch = retrain_reduced(
        result.reduced_model, result.data, scratch_training, from_scratch=True, progress=False
    )
    return {
        "seed": seed,
        "topology": result.topology,
        "kept_features": list(result.kept_features),
        "masked": result.metrics_masked.accuracy,
        "exported": result.metrics_reduced.accuracy,
        "export_max_abs_difference": result.export_max_abs_difference,
        "autoprune_retrained": fine_tuned.metrics.accuracy,
        "autoprune_retrained_epochs": fine_tuned.epochs_run,
        "scratch": scratch.metrics.accuracy,
        "scratch_epochs": scratch.epochs_run,
        "seconds": time.perf_counter() - started,
    }


def mean(points: list[dict], key: str) -> float:
    return float(np.mean([point[key] for point in points]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-train", type=int, default=None, help="subsample the 144k training jets")
    parser.add_argument("--fractions", default="1.0,0.75,0.5,0.25")
    parser.add_argument("--features", default="16,12,8,4")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--soft-epochs", type=int, default=20)
    parser.add_argument("--hard-epochs", type=int, default=5)
    parser.add_argument("--retrain-epochs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_autoprune"))
    args = parser.parse_args()

    data = load_jets(args.data)
    if args.max_train is not None:
        data = data.subsample(max_train=args.max_train, seed=0)
    data, scaler = data.standardized()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    retraining = TrainingConfig(epochs=args.retrain_epochs, early_stopping_patience=5)
    schedule = {"soft_epochs": args.soft_epochs, "hard_epochs": args.hard_epochs, "retrain": "none"}
    print(f"data: {args.data} ({len(data.y_train)} train, {len(data.y_test)} test jets), seeds {seeds}")

    started = time.perf_counter()
    node_points: dict[float, list[dict]] = {}
    for fraction in [float(value) for value in args.fractions.split(",")]:
        spec = AutoPruneSpec(keep=fraction, **schedule)
        node_points[fraction] = [
            run_point(data, scaler, spec, retraining.model_copy(update={"seed": s}), s) for s in seeds
        ]
        print(f"nodes {fraction:.0%}: {node_points[fraction]}", flush=True)
    feature_points: dict[int, list[dict]] = {}
    for count in [int(value) for value in args.features.split(",")]:
        spec = AutoPruneSpec(keep=1.0, keep_features=count, **schedule)
        feature_points[count] = [
            run_point(data, scaler, spec, retraining.model_copy(update={"seed": s}), s) for s in seeds
        ]
        print(f"features {count}: {feature_points[count]}", flush=True)
    elapsed = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "command": vars(args) | {"data": str(args.data), "out": str(args.out)},
        "train_jets": len(data.y_train),
        "test_jets": len(data.y_test),
        "seconds": elapsed,
        "nodes": {str(key): value for key, value in node_points.items()},
        "features": {str(key): value for key, value in feature_points.items()},
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    series = {
        "AutoPruner (masked)": "masked",
        "AutoPruner + retrain": "autoprune_retrained",
        "same topology from scratch": "scratch",
    }
    plot_accuracy_vs_nodes_kept(
        {label: [(f, mean(p, key)) for f, p in node_points.items()] for label, key in series.items()},
        args.out / "accuracy_vs_nodes_kept.png",
    )
    plot_accuracy_vs_features_kept(
        {label: [(k, mean(p, key)) for k, p in feature_points.items()] for label, key in series.items()},
        args.out / "accuracy_vs_features_kept.png",
    )

    print(f"\nwall time {elapsed / 60:.1f} min; mean over seeds {seeds}\n")
    print(
        "| nodes kept | topology | AutoPruner (masked) | AutoPruner + retrain | same topology from scratch | max export diff |"
    )
    print("|---|---|---|---|---|---|")
    for fraction, points in node_points.items():
        print(
            f"| {fraction:.0%} | {points[0]['topology']} | {mean(points, 'masked'):.4f} | "
            f"{mean(points, 'autoprune_retrained'):.4f} | {mean(points, 'scratch'):.4f} | "
            f"{max(p['export_max_abs_difference'] for p in points):.1e} |"
        )
    print(
        "\n| features kept | AutoPruner (masked) | AutoPruner + retrain | same features from scratch | features (seed "
        f"{seeds[0]}) |"
    )
    print("|---|---|---|---|---|")
    for count, points in feature_points.items():
        print(
            f"| {count} | {mean(points, 'masked'):.4f} | {mean(points, 'autoprune_retrained'):.4f} | "
            f"{mean(points, 'scratch'):.4f} | {', '.join(points[0]['kept_features'])} |"
        )


if __name__ == "__main__":
    main()
