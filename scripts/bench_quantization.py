"""Quantization-aware training on the shared jets: accuracy vs BOPs, side by side in one run.

Usage:
    .venv/bin/python scripts/bench_quantization.py [--data ../shared/data/jets_hlf.npz] [--max-train 40000]
        [--float-epochs 40] [--target-sparsity 0.85] [--prune-epochs 6] [--prune-fraction 0.3] [--qat-epochs 30]
        [--activation-bits 6] [--input-bits 10] [--out runs/bench_quantization]

One 16-64-32-32-5 tagger with L1 (1e-4) is trained in float; a copy is pruned with
``fpgacompress.pruning.prune`` (iterative, global magnitude threshold, ``--target-sparsity``).
Each of the two is then quantized and fine-tuned (QAT) for ``--qat-epochs`` with weights of
16/10/8/6/4 bits, ternary and binary; ReLUs get ``--activation-bits`` and the input
``--input-bits``, integer bits per layer chosen by ``suggest_precision`` from the float model's
ranges. Binary weights on the pruned model are refused (binary has no zero) and listed as such.

The reference is the widely used recipe (hls4ml tutorial): a QKeras model with 6-bit weights
(``quantized_bits(6,0,alpha=1)``) and 6-bit ReLUs, no input quantizer (hls4ml's default
``fixed<16,6>`` input, counted as 16 bits), trained from scratch with TF-MOT
``prune_low_magnitude`` at constant 75 % sparsity, L1 1e-4, for the *same total number of epochs*
as our longest chain (float + pruning + QAT). BOPs = sum over nonzero weights of
weight_bits x input_bits (``fpgacompress.quantization.quantization_report``).

Prints a Markdown table for docs/benchmarks.md and writes ``results.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fpgacompress.data import load_jets  # noqa: E402
from fpgacompress.errors import ConfigError  # noqa: E402
from fpgacompress.models import build_mlp  # noqa: E402
from fpgacompress.pruning.api import prune  # noqa: E402
from fpgacompress.pruning.mask import PruningMask  # noqa: E402
from fpgacompress.pruning.spec import PruneSpec  # noqa: E402
from fpgacompress.quantization import (  # noqa: E402
    QuantizationSpec,
    quantization_aware_training,
    quantization_report,
    suggest_precision,
)
from fpgacompress.recipe import TrainingConfig  # noqa: E402
from fpgacompress.regularizers import L1  # noqa: E402
from fpgacompress.training import train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jets_hlf.npz"
WEIGHT_SETTINGS = (16, 10, 8, 6, 4, "ternary", "binary")


def spec_for(model, data, weights, activation_bits: int, input_bits: int) -> QuantizationSpec:
    """Suggested integer bits for ``weights`` bits; 8-bit biases under ternary / binary weights."""
    fixed = isinstance(weights, int)
    return suggest_precision(
        model,
        data,
        weights if fixed else 8,
        activation_bits=activation_bits,
        input_bits=input_bits,
        weight_kind="fixed" if fixed else weights,
    )


def tfmot_recipe(data, epochs: int, training: TrainingConfig, seed: int):
    """QKeras 6-bit + TF-MOT prune_low_magnitude at constant 75 % sparsity, from scratch."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    initializer = tf.keras.initializers.LecunUniform(seed=seed)
    inputs = tf.keras.Input((data.n_features,), name="input")
    x = inputs
    for index, width in enumerate((64, 32, 32), start=1):
        x = QDense(width, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
                   kernel_initializer=initializer, kernel_regularizer=L1(1e-4), name=f"fc{index}")(x)  # fmt: skip
        x = QActivation(quantized_relu(6), name=f"relu{index}")(x)
    x = QDense(data.n_classes, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
               kernel_initializer=initializer, kernel_regularizer=L1(1e-4), name="output")(x)  # fmt: skip
    outputs = tf.keras.layers.Activation("softmax", name="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name="tfmot_qkeras6")
    schedule = tfmot.sparsity.keras.ConstantSparsity(0.75, begin_step=0, frequency=100)
    wrapped = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=schedule)
    config = training.model_copy(update={"epochs": epochs})
    result = train(
        wrapped, data, config, progress=False, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()]
    )
    stripped = tfmot.sparsity.keras.strip_pruning(result.model)
    return stripped, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-train", type=int, default=40000)
    parser.add_argument("--float-epochs", type=int, default=40)
    parser.add_argument("--target-sparsity", type=float, default=0.85)
    parser.add_argument("--prune-epochs", type=int, default=6, help="retraining epochs per pruning iteration")
    parser.add_argument(
        "--prune-fraction", type=float, default=0.3, help="fraction of the kept weights cut per iteration"
    )
    parser.add_argument("--qat-epochs", type=int, default=30)
    parser.add_argument("--activation-bits", type=int, default=6)
    parser.add_argument("--input-bits", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--weights", default=",".join(map(str, WEIGHT_SETTINGS)), help="comma-separated subset"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_quantization"))
    args = parser.parse_args()
    settings = [int(item) if item.isdigit() else item for item in args.weights.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    data, _ = load_jets(args.data).subsample(max_train=args.max_train, seed=args.seed).standardized()
    training = TrainingConfig(epochs=args.float_epochs, batch_size=args.batch_size, seed=args.seed)
    started = time.perf_counter()
    float_result = train(
        build_mlp("16-64-32-32-5", regularizer=L1(1e-4), seed=args.seed), data, training, progress=False
    )
    float_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pruned = prune(
        float_result.model,
        data,
        PruneSpec(
            target_sparsity=args.target_sparsity,
            scope="global",
            fraction_per_iteration=args.prune_fraction,
            epochs_per_iteration=args.prune_epochs,
        ),  # fmt: skip
        training=training,
        progress=False,
    )
    prune_seconds = time.perf_counter() - started
    prune_epochs = sum(record.epochs_trained for record in pruned.records)
    sources = {
        "float": (float_result.model, float_result.epochs_run),
        "pruned": (pruned.model, float_result.epochs_run + prune_epochs),
    }

    rows = [
        {"model": "float (no QAT)", "weights": "float", "accuracy": float_result.metrics.accuracy,
         "report": quantization_report(float_result.model), "epochs": float_result.epochs_run, "seconds": float_seconds},
        {"model": f"pruned {pruned.mask.sparsity:.0%} (no QAT)", "weights": "float", "accuracy": pruned.final.test_accuracy,
         "report": quantization_report(pruned.model), "epochs": sources["pruned"][1], "seconds": prune_seconds},
    ]  # fmt: skip
    qat = training.model_copy(update={"epochs": args.qat_epochs})
    for source, (model, epochs_before) in sources.items():
        for weights in settings:
            label = f"{source} + QAT {weights}{'-bit' if isinstance(weights, int) else ''}"
            spec = spec_for(model, data, weights, args.activation_bits, args.input_bits)
            started = time.perf_counter()
            try:
                result = quantization_aware_training(model, spec, data, qat, progress=False)
            except ConfigError as error:
                rows.append({"model": label, "weights": str(weights), "refused": str(error)})
                print(f"{label}: refused ({error})", flush=True)
                continue
            if PruningMask.from_model(model).violations(result.model):
                raise SystemExit(f"{label}: pruned weights regrew")
            rows.append({"model": label, "weights": str(weights), "accuracy": result.training.metrics.accuracy,
                         "report": result.report, "epochs": epochs_before + result.training.epochs_run,
                         "seconds": time.perf_counter() - started})  # fmt: skip
            print(
                f"{label}: accuracy {rows[-1]['accuracy']:.4f}, BOPs {result.report.total_bops}", flush=True
            )

    budget = max(row["epochs"] for row in rows if "epochs" in row)
    started = time.perf_counter()
    baseline_model, baseline = tfmot_recipe(data, budget, training, args.seed)
    baseline_row = {"model": "TF-MOT 75% + QKeras 6-bit (reference)", "weights": "6", "accuracy": baseline.metrics.accuracy,
                    "report": quantization_report(baseline_model), "epochs": baseline.epochs_run,
                    "seconds": time.perf_counter() - started}  # fmt: skip
    rows.append(baseline_row)
    reference_bops = baseline_row["report"].total_bops

    print(f"\n{len(data.y_train)} training jets, {len(data.y_test)} test jets; ReLU {args.activation_bits} bits, "
          f"input {args.input_bits} bits; reference trained {baseline.epochs_run} of {budget} epochs\n")  # fmt: skip
    print(
        "| model | test accuracy | Δ vs reference (pts) | BOPs | BOPs / reference | weight sparsity | multiplications | epochs | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "refused" in row:
            print(f"| {row['model']} | refused: binary weights have no zero | | | | | | | |")
            continue
        report = row["report"]
        meets = row["accuracy"] >= baseline_row["accuracy"] and report.total_bops <= reference_bops / 2
        print(
            f"| {row['model']}{' ✔' if meets else ''} | {row['accuracy']:.4f} | "
            f"{100 * (row['accuracy'] - baseline_row['accuracy']):+.2f} | {report.total_bops} | "
            f"{report.total_bops / reference_bops:.2f} | {report.sparsity:.1%} | {report.multiplications} | "
            f"{row['epochs']} | {row['seconds']:.0f} s |"
        )
    serializable = [{**row, "report": row["report"].to_dict()} if "report" in row else row for row in rows]
    (args.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                       "rows": serializable}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
