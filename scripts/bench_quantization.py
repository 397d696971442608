"""Quantization-aware training on the shared jets: accuracy vs BOPs, side by side in one run.

Usage:
    .venv/bin/python scripts/bench_quantization.py [--data ../shared/data/jets_hlf.npz] [--max-train 40000]
        [--seeds 0,1] [--float-epochs 40] [--target-sparsity 0.86] [--scope layer] [--prune-epochs 6]
        [--prune-fraction 0.2] [--qat-epochs 40] [--qat-patience 10] [--activation-bits 6] [--input-bits 10]
        [--out runs/bench_quantization]

One 16-64-32-32-5 tagger with L1 (1e-4) is trained in float; a copy is pruned with
``fpgacompress.pruning.prune`` (iterative, ``--prune-fraction`` of the kept weights per iteration, to
``--target-sparsity``; ``--scope layer`` prunes every layer to the same sparsity, ``global`` uses one
magnitude threshold). Each of the two is then quantized and fine-tuned (QAT) for ``--qat-epochs``
with weights of 16/10/8/6/5/4 bits, ternary and binary; ReLUs get ``--activation-bits`` and the input
``--input-bits``, integer bits per layer chosen by ``suggest_precision`` from the float model's
ranges. Binary weights on the pruned model are refused (binary has no zero) and listed as such.

The reference is the widely used recipe (hls4ml tutorial): a QKeras model with 6-bit weights
(``quantized_bits(6,0,alpha=1)``) and 6-bit ReLUs, no input quantizer (hls4ml's default
``fixed<16,6>`` input, counted as 16 bits), trained from scratch with TF-MOT
``prune_low_magnitude`` at constant 75 % sparsity, L1 1e-4, for the *same total number of epochs*
as our longest chain of that seed (float + pruning + QAT), with the QAT's early-stopping patience.
BOPs = sum over nonzero weights of weight_bits x input_bits
(``fpgacompress.quantization.quantization_report``).

Every seed (data subsample, initialization, training order) runs the whole table in its own
process, one TensorFlow thread each, all seeds at once; rows show the mean over seeds and the
spread (max - min). Prints a Markdown table for docs/benchmarks.md and writes ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jets_hlf.npz"
WEIGHT_SETTINGS = (16, 10, 8, 6, 5, 4, "ternary", "binary")
REFERENCE = "TF-MOT 75% + QKeras 6-bit (reference)"


def spec_for(model, data, weights, activation_bits: int, input_bits: int, weight_quantile: float = 1.0):
    """Suggested integer bits for ``weights`` bits; 8-bit biases under ternary / binary weights."""
    from fpgacompress.quantization import suggest_precision

    fixed = isinstance(weights, int)
    return suggest_precision(
        model,
        data,
        weights if fixed else 8,
        activation_bits=activation_bits,
        input_bits=input_bits,
        weight_kind="fixed" if fixed else weights,
        weight_quantile=weight_quantile,
    )


def tfmot_recipe(data, epochs: int, training, seed: int, patience: int | None = None):
    """QKeras 6-bit + TF-MOT prune_low_magnitude at constant 75 % sparsity, from scratch.

    ``patience`` (early stopping) defaults to ``training``'s; the benchmark passes the QAT patience.
    """
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    from fpgacompress.regularizers import L1
    from fpgacompress.training import train

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
    config = training.model_copy(
        update={"epochs": epochs, "early_stopping_patience": patience or training.early_stopping_patience}
    )
    result = train(
        wrapped, data, config, progress=False, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()]
    )
    stripped = tfmot.sparsity.keras.strip_pruning(result.model)
    return stripped, result


def _row(model: str, weights: str, accuracy: float, report, epochs: int, seconds: float) -> dict:
    return {"model": model, "weights": weights, "accuracy": accuracy, "bops": report.total_bops,
            "sparsity": report.sparsity, "multiplications": report.multiplications, "epochs": epochs,
            "seconds": seconds, "layers": report.to_dict()["layers"]}  # fmt: skip


def run_seed(args: argparse.Namespace, seed: int) -> list[dict]:
    """Every row of the table for one seed, in this process (one TensorFlow thread)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from fpgacompress.data import load_jets
    from fpgacompress.errors import ConfigError
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning.api import prune
    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.pruning.spec import PruneSpec
    from fpgacompress.quantization import quantization_aware_training, quantization_report
    from fpgacompress.recipe import TrainingConfig
    from fpgacompress.regularizers import L1
    from fpgacompress.training import train

    settings = [int(item) if item.isdigit() else item for item in args.weights.split(",")]
    data, _ = load_jets(args.data).subsample(max_train=args.max_train, seed=seed).standardized()
    training = TrainingConfig(epochs=args.float_epochs, batch_size=args.batch_size, seed=seed)
    started = time.perf_counter()
    float_result = train(
        build_mlp("16-64-32-32-5", regularizer=L1(1e-4), seed=seed), data, training, progress=False
    )
    float_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pruned = prune(
        float_result.model,
        data,
        PruneSpec(
            target_sparsity=args.target_sparsity,
            scope=args.scope,
            fraction_per_iteration=args.prune_fraction,
            epochs_per_iteration=args.prune_epochs,
        ),
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
        _row("float (no QAT)", "float", float_result.metrics.accuracy, quantization_report(float_result.model),
             float_result.epochs_run, float_seconds),
        _row(f"pruned {args.target_sparsity:.0%} (no QAT)", "float", pruned.final.test_accuracy,
             quantization_report(pruned.model), sources["pruned"][1], prune_seconds),
    ]  # fmt: skip
    qat = training.model_copy(
        update={"epochs": args.qat_epochs, "early_stopping_patience": args.qat_patience}
    )
    for source, (model, epochs_before) in sources.items():
        for weights in settings:
            label = f"{source} + QAT {weights}{'-bit' if isinstance(weights, int) else ''}"
            spec = spec_for(model, data, weights, args.activation_bits, args.input_bits)
            started = time.perf_counter()
            try:
                result = quantization_aware_training(model, spec, data, qat, progress=False)
            except ConfigError as error:
                rows.append({"model": label, "weights": str(weights), "refused": str(error)})
                continue
            if PruningMask.from_model(model).violations(result.model):
                raise SystemExit(f"{label}: pruned weights regrew")
            rows.append(_row(label, str(weights), result.training.metrics.accuracy, result.report,
                             epochs_before + result.training.epochs_run, time.perf_counter() - started))  # fmt: skip
            print(
                f"seed {seed} {label}: accuracy {rows[-1]['accuracy']:.4f}, BOPs {rows[-1]['bops']}",
                flush=True,
            )
    budget = max(row["epochs"] for row in rows if "epochs" in row)
    started = time.perf_counter()
    baseline_model, baseline = tfmot_recipe(data, budget, training, seed, args.qat_patience)
    rows.append(_row(REFERENCE, "6", baseline.metrics.accuracy, quantization_report(baseline_model),
                     baseline.epochs_run, time.perf_counter() - started))  # fmt: skip
    rows[-1]["budget"] = budget
    print(f"seed {seed} reference: accuracy {rows[-1]['accuracy']:.4f}, BOPs {rows[-1]['bops']}", flush=True)
    return rows


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def summarize(per_seed: dict[int, list[dict]]) -> list[str]:
    """Markdown table: mean and spread (max - min) over seeds; per-seed target check against that seed's reference."""
    seeds = sorted(per_seed)
    references = {seed: next(row for row in per_seed[seed] if row["model"] == REFERENCE) for seed in seeds}
    reference_accuracy = _mean(references[seed]["accuracy"] for seed in seeds)
    reference_bops = _mean(references[seed]["bops"] for seed in seeds)
    lines = [
        "| model | test accuracy (mean ± spread) | Δ vs reference (pts) | BOPs (mean) | BOPs / reference | "
        "weight sparsity | multiplications | epochs | meets target (seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, first in enumerate(per_seed[seeds[0]]):
        rows = [per_seed[seed][index] for seed in seeds]
        if "refused" in first:
            lines.append(f"| {first['model']} | refused: binary weights have no zero | | | | | | | |")
            continue
        accuracies = [row["accuracy"] for row in rows]
        accuracy, bops = _mean(accuracies), _mean(row["bops"] for row in rows)
        meets = sum(
            row["accuracy"] >= references[seed]["accuracy"] and row["bops"] <= references[seed]["bops"] / 2
            for seed, row in zip(seeds, rows, strict=True)
        )
        lines.append(
            f"| {first['model']} | {accuracy:.4f} ± {max(accuracies) - min(accuracies):.4f} | "
            f"{100 * (accuracy - reference_accuracy):+.2f} | {bops:.0f} | {bops / reference_bops:.2f} | "
            f"{_mean(row['sparsity'] for row in rows):.1%} | {_mean(row['multiplications'] for row in rows):.0f} | "
            f"{_mean(row['epochs'] for row in rows):.0f} | {meets}/{len(seeds)} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-train", type=int, default=40000)
    parser.add_argument("--seeds", default="0,1", help="comma-separated; each seed runs in its own process")
    parser.add_argument("--float-epochs", type=int, default=40)
    parser.add_argument("--target-sparsity", type=float, default=0.86)
    parser.add_argument("--scope", choices=("layer", "global"), default="layer")
    parser.add_argument("--prune-epochs", type=int, default=6, help="retraining epochs per pruning iteration")
    parser.add_argument(
        "--prune-fraction", type=float, default=0.2, help="fraction of the kept weights cut per iteration"
    )
    parser.add_argument("--qat-epochs", type=int, default=40)
    parser.add_argument("--qat-patience", type=int, default=10, help="early-stopping patience of QAT")
    parser.add_argument("--activation-bits", type=int, default=6)
    parser.add_argument("--input-bits", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument(
        "--weights", default=",".join(map(str, WEIGHT_SETTINGS)), help="comma-separated subset"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_quantization"))
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    with ProcessPoolExecutor(max_workers=len(seeds), mp_context=context) as pool:
        futures = {seed: pool.submit(run_seed, args, seed) for seed in seeds}
        per_seed = {seed: future.result() for seed, future in futures.items()}
    wall_seconds = time.perf_counter() - started

    budgets = ", ".join(
        f"seed {seed}: {rows[-1]['epochs']} of {rows[-1]['budget']}" for seed, rows in per_seed.items()
    )
    print(f"\nseeds {seeds}, {args.max_train} training jets at most; ReLU {args.activation_bits} bits, input "
          f"{args.input_bits} bits; pruning {args.scope} to {args.target_sparsity:.0%}; reference epochs "
          f"({budgets}); wall {wall_seconds / 60:.1f} min\n")  # fmt: skip
    print("\n".join(summarize(per_seed)))
    payload = {"args": {key: str(value) for key, value in vars(args).items()}, "wall_seconds": wall_seconds,
               "rows": {str(seed): rows for seed, rows in per_seed.items()}}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
