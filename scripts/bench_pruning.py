"""Iterative pruning (L1, Lp) vs TF-MOT on the shared jets, 16-64-32-32-5, side by side in one run.

Usage:
    .venv/bin/python scripts/bench_pruning.py [--data ../shared/data/jets_hlf.npz] [--max-train 60000]
        [--target-sparsity 0.9 0.93] [--fraction 0.3] [--epochs-per-iteration 6] [--out runs/bench_pruning]

Four models are trained for ``--pretrain-epochs`` from the same seed: a float baseline (no penalty,
the reference for the accuracy target and TF-MOT's starting point), L1 and Lp (p = 0.1). Then each
method prunes to ``--target-sparsity`` with the same per-layer caps and the same epoch budget:
iterative runs cut ``--fraction`` of the remaining weights per iteration with
``--epochs-per-iteration`` epochs of retraining; TF-MOT gets the same total number of epochs
(polynomial decay over the first two thirds) as the longer iterative run used. Prints a Markdown
table for docs/benchmarks.md and writes ``curves.json`` and ``accuracy_vs_sparsity.png`` per
target into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fpgacompress.data import load_jets  # noqa: E402
from fpgacompress.models import build_mlp  # noqa: E402
from fpgacompress.pruning.api import prune  # noqa: E402
from fpgacompress.pruning.result import plot_accuracy_vs_sparsity  # noqa: E402
from fpgacompress.pruning.spec import PruneSpec  # noqa: E402
from fpgacompress.recipe import TrainingConfig  # noqa: E402
from fpgacompress.regularizers import L1, Lp  # noqa: E402
from fpgacompress.training import train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jets_hlf.npz"


def parse_caps(text: str) -> dict[str, dict]:
    caps = {}
    for pair in filter(None, text.split(",")):
        name, _, value = pair.partition("=")
        caps[name] = {"max_sparsity": float(value)}
    return caps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-train", type=int, default=60000, help="subsample the 144k training jets")
    parser.add_argument("--pretrain-epochs", type=int, default=40)
    parser.add_argument("--target-sparsity", type=float, nargs="+", default=[0.9])
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--epochs-per-iteration", type=int, default=6)
    parser.add_argument("--scope", choices=["layer", "global"], default="global")
    parser.add_argument(
        "--caps", default="output=0.7", help="per-layer max sparsity, e.g. fc1=0.85,output=0.7"
    )
    parser.add_argument("--l1", type=float, default=1e-4)
    parser.add_argument("--lp", type=float, default=1e-3)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate while pruning")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_pruning"))
    args = parser.parse_args()

    started = time.perf_counter()
    data, _ = load_jets(args.data).subsample(max_train=args.max_train, seed=0).standardized()
    pretraining = TrainingConfig(
        epochs=args.pretrain_epochs, batch_size=512, early_stopping_patience=5, seed=0
    )
    pretrained = {}
    for label, regularizer in (("float", None), ("L1", L1(args.l1)), ("Lp", Lp(args.lp, p=0.1))):
        model = build_mlp("16-64-32-32-5", regularizer=regularizer, seed=0)
        pretrained[label] = train(model, data, pretraining, progress=False)
    float_accuracy = pretrained["float"].metrics.accuracy
    print(
        f"train {len(data.y_train)} / val {len(data.y_val)} / test {len(data.y_test)} jets; float baseline test "
        f"accuracy {float_accuracy:.4f} (mean AUC {pretrained['float'].metrics.mean_auc:.4f}), "
        f"{pretrained['float'].epochs_run} epochs"
    )
    print(
        "| target | method | pretrained accuracy | zeros | test accuracy | loss vs float [pt] | mean AUC "
        "| pruning epochs | per layer | wall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for target in args.target_sparsity:
        compare_at(target, args, data, pretrained, args.out / f"target_{target:g}")
    print(f"total wall time {time.perf_counter() - started:.0f} s")


def compare_at(target: float, args, data, pretrained: dict, out: Path) -> None:
    """Prune the pretrained models to ``target`` with each method; print rows, write curves and plot."""
    retraining = TrainingConfig(
        batch_size=512, learning_rate=args.learning_rate, early_stopping_patience=None, seed=0
    )
    iterations = math.ceil(math.log(1 - target) / math.log(1 - args.fraction))
    common = {
        "target_sparsity": target,
        "scope": args.scope,
        "fraction_per_iteration": args.fraction,
        "max_iterations": iterations + 2,
        "epochs_per_iteration": args.epochs_per_iteration,
        "layers": parse_caps(args.caps),
    }
    runs = {  # label: (method, pretrained model it starts from); iterative first, TF-MOT gets their epochs
        "iterative + L1": ("iterative", "L1"),
        "iterative + Lp (p=0.1)": ("iterative", "Lp"),
        "TF-MOT polynomial": ("tfmot", "float"),
    }
    float_accuracy = pretrained["float"].metrics.accuracy
    curves, epoch_budget = {}, 0
    for label, (method, source) in runs.items():
        spec = PruneSpec(
            method=method, schedule={"kind": "polynomial", "epochs": max(epoch_budget, 3)}, **common
        )
        start = time.perf_counter()
        result = prune(
            pretrained[source].model,
            data,
            spec,
            training=retraining,
            run_dir=out / method / source,
            progress=False,
        )
        seconds = time.perf_counter() - start
        curves[label] = result.records
        epochs_run = sum(record.epochs_trained for record in result.records[1:])
        if method == "iterative":
            epoch_budget = max(epoch_budget, epochs_run)
        layers = ", ".join(f"{name} {value:.0%}" for name, value in result.mask.layer_sparsity().items())
        print(
            f"| {target:.0%} | {label} | {pretrained[source].metrics.accuracy:.4f} | {result.mask.sparsity:.1%} | "
            f"{result.final.test_accuracy:.4f} | {100 * (float_accuracy - result.final.test_accuracy):+.2f} | "
            f"{result.final.test_mean_auc:.4f} | {epochs_run} | {layers} | {seconds:.0f} s |",
            flush=True,
        )
    plot_accuracy_vs_sparsity(
        curves,
        out / "accuracy_vs_sparsity.png",
        reference_accuracy=float_accuracy,
        title=f"16-64-32-32-5, target {target:.0%} zeros (reference: float baseline)",
    )
    (out / "curves.json").write_text(
        json.dumps(
            {label: [record.to_dict() for record in records] for label, records in curves.items()}, indent=2
        )
    )
    for label, records in curves.items():
        print(f"  {label}: " + "; ".join(f"{r.sparsity:.0%} {r.test_accuracy:.4f}" for r in records))


if __name__ == "__main__":
    main()
