"""The trigger-developer example as a Python script: a jet tagger for a Serenity VU13P at 360 MHz.

The same chain as ``scripts/jet_trigger_vu13p.yaml``, written with the public API only, for users
who want to change a step in code (a custom model, a different pruning schedule, extra plots):

    .venv/bin/python scripts/jet_trigger_vu13p.py --out runs/jet_trigger_py [--data ../shared/data/jets_hlf.npz]

Each stage is an ordinary function taking the previous stage's model: train with L1 -> AutoPruner
(whole neurons) -> iterative magnitude pruning -> QKeras quantization-aware training -> hls4ml
project for the board -> bit-exact C-simulation -> resource estimate with a fits / does-not-fit verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import fpgacompress as fc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="jet dataset (default: the bundled sample)")
    parser.add_argument("--out", type=Path, default=Path("runs/jet_trigger_py"))
    parser.add_argument("--board", default="serenity-vu13p")
    parser.add_argument("--clock-mhz", type=float, default=360.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    data, scaler = fc.load_jets(args.data).standardized()
    training = fc.TrainingConfig(epochs=40, batch_size=256, learning_rate=2e-3, early_stopping_patience=5)

    # 1. Float training with L1, so that unimportant weights move towards zero.
    model = fc.build_mlp("16-64-32-32-5", regularizer=fc.L1(1e-4), seed=0, name="jet_tagger")
    trained = fc.train(model, data, training, standardizer=scaler, run_dir=args.out / "train")
    print("float:", trained.metrics)

    # 2. AutoPruner: keep 48 / 24 / 24 neurons, export a physically smaller plain Keras model.
    reduced = fc.autoprune(
        trained.model,
        data,
        fc.AutoPruneSpec(keep={"fc1": 48, "fc2": 24, "fc3": 24}, soft_epochs=10, hard_epochs=3),
        training=training,
        standardizer=scaler,
        run_dir=args.out / "autoprune",
    )
    print(f"AutoPruner ({reduced.topology}):", reduced.metrics_final)

    # 3. Iterative magnitude pruning of what is left; the mask constraint keeps the zeros.
    pruned = fc.prune(
        reduced.reduced_model,
        reduced.data,
        fc.PruneSpec(
            target_sparsity=0.7,
            fraction_per_iteration=0.3,
            max_iterations=5,
            epochs_per_iteration=5,
            layers={"output": fc.LayerOverride(max_sparsity=0.5)},
            accuracy_budget=fc.AccuracyBudget(max_drop=0.01),
        ),
        training=training,
        standardizer=reduced.standardizer,
        run_dir=args.out / "prune",
    )
    print(f"pruned ({pruned.mask.sparsity:.1%} zeros), stop: {pruned.stop_reason}")

    # 4. Quantization-aware training; every pruned weight stays exactly zero.
    precision = fc.QuantizationSpec.parse(
        {
            "input": {"bits": 12, "integer": 4},
            "default": {
                "weight": {"bits": 6, "integer": 0},
                "bias": {"bits": 8, "integer": 3},
                "activation": {"bits": 8, "integer": 3},
            },
        }
    )
    quantized = fc.quantization_aware_training(
        pruned.model,
        precision,
        reduced.data,
        training.model_copy(update={"epochs": 10, "learning_rate": 5e-4}),
        standardizer=reduced.standardizer,
        run_dir=args.out / "quantize",
    )
    print("quantized:", quantized.training.metrics)
    print(quantized.report.table())

    # 5. Firmware for the board, then the C-simulation that proves it computes what Python computes.
    project = fc.build(
        quantized.model,
        args.board,
        fc.BuildConfig(board=args.board, clock_mhz=args.clock_mhz, n_testbench_samples=1000),
        x_test=reduced.data.x_test,
        out_dir=args.out / "hls_project",
        force=True,
    )
    verdict = fc.csim(project)
    print(verdict.summary())

    # 6. Resources per layer and the fits / does-not-fit verdict for the board.
    report = fc.estimate(project.path, args.board)
    print(report.verdict)
    if not verdict.bit_exact:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
