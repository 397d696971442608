"""Pruning criteria side by side on the shared jets: magnitude, OBD, resource (L1 and Lp), TF-MOT, hls4ml.

Usage:
    .venv/bin/python scripts/bench_pruning.py [--data ../shared/data/jets_hlf.npz] [--seeds 0,1,2]
        [--max-train 60000] [--target-sparsity 0.93] [--steps 8] [--epochs-per-step 5]
        [--out runs/bench_pruning]

Per seed (each seed in its own single-threaded process, all seeds at once): three 16-64-32-32-5
models are pretrained (float: no penalty, the accuracy reference and TF-MOT's start; L1 1e-4; Lp
p = 0.1, 1e-3). Then every method prunes to ``--target-sparsity`` with the same number of epochs,
``--steps x --epochs-per-step + --fine-tune-epochs``:

- ours, ``fpgacompress.pruning.prune``: criterion magnitude / obd / resource, from the L1 and the Lp
  model; global threshold, polynomial (Zhu & Gupta) steps, learning-rate restarts, the penalty kept
  on, output layer capped at 70 % zeros, then ``--fine-tune-epochs`` at the final mask (early stopping);
- TF-MOT ``prune_low_magnitude``, polynomial decay over two thirds of the epochs, from the float model;
- hls4ml 1.3 ``optimize_keras_model_for_hls4ml`` (dsp_aware_pruning) with ``VivadoDSPEstimator``, its
  polynomial scheduler over the same steps (plus its initial step at 0 %), the epoch budget split
  evenly over those steps + 1 (one epoch of each is rewinding),
  no tuner (the model's own L1 1e-4 kept on, since hls4ml 1.3's ``Manual`` tuner fails to serialize
  its regularizer), ``rtol`` 0.95, from the L1 model.

Every pruned model is estimated (``fpgacompress.estimation.estimate``: ``ap_fixed<16,6>``, Vitis,
``auto`` binding, RF 1) for LUT + 55 x DSP. Then 6-bit QAT (``suggest_precision``: 6-bit weights,
8-bit ReLUs, 10-bit input) on top of the resource-criterion models, against the reference recipe
TF-MOT 75 % + QKeras 6-bit from scratch given the same epoch budget. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SCRIPTS = Path(__file__).resolve().parent
DEFAULT_DATA = SCRIPTS.parents[1] / "shared" / "data" / "jets_hlf.npz"
CRITERIA = ("magnitude", "obd", "resource")


def _estimate(model) -> dict:
    from fpgacompress.estimation import estimate

    totals = estimate(model, default_precision="ap_fixed<16,6>", multiplier_binding="auto").totals
    return {"lut": totals.lut, "dsp": totals.dsp, "lut_55dsp": totals.lut + 55 * totals.dsp}


def _row(label, model, test_accuracy, epochs, seconds, pretrained_accuracy) -> dict:
    from fpgacompress.pruning.mask import PruningMask

    mask = PruningMask.from_model(model)
    return {
        "method": label,
        "zeros": mask.sparsity,
        "accuracy": float(test_accuracy),
        "pretrained_accuracy": float(pretrained_accuracy),
        "epochs": int(epochs),
        "seconds": round(seconds),
        "layers": mask.layer_sparsity(),
        **_estimate(model),
    }


def hls4ml_prune(model, data, args, seed: int, directory: Path):
    """hls4ml's dsp_aware_pruning with the DSP objective, on the same data and epochs as ours."""
    import hls4ml.optimization.dsp_aware_pruning.keras as hls4ml_keras
    import tensorflow as tf
    from hls4ml.optimization.dsp_aware_pruning import optimize_keras_model_for_hls4ml
    from hls4ml.optimization.dsp_aware_pruning.objectives.vivado_objectives import VivadoDSPEstimator
    from hls4ml.optimization.dsp_aware_pruning.scheduler import PolynomialScheduler
    from hls4ml.utils.config import config_from_keras_model

    def keep_model_penalty(model, attributes, optimizer, loss_fn, validation_metric, *_, **__):
        # hls4ml 1.3's 'Manual' tuner fails on its own regularizer (model.to_json cannot serialize the
        # SUPPORTED_STRUCTURES enum), so keep the model's L1 1e-4: the same unstructured L1 penalty.
        clone = tf.keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        clone.compile(optimizer=optimizer, loss=loss_fn, metrics=[validation_metric])
        return clone

    hls4ml_keras.build_optimizable_model = keep_model_penalty
    tf.keras.utils.set_random_seed(seed)
    config = config_from_keras_model(model, granularity="name", default_precision="ap_fixed<16,6>")
    config["IOType"] = "io_parallel"  # read by the optimizer, not written by config_from_keras_model
    for layer_config in config["LayerName"].values():  # the optimizer cannot read 'auto' precisions
        precision = layer_config.get("Precision")
        if isinstance(precision, dict):
            layer_config["Precision"] = {key: "ap_fixed<16,6>" if value == "auto" else value
                                         for key, value in precision.items()}  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    return optimize_keras_model_for_hls4ml(
        model,
        config,
        VivadoDSPEstimator,
        PolynomialScheduler(args.steps, final_sparsity=args.target_sparsity),
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        512,
        math.ceil((args.steps * args.epochs_per_step + args.fine_tune_epochs) / (args.steps + 1)),
        tf.keras.optimizers.Adam(1e-3),
        tf.keras.losses.SparseCategoricalCrossentropy(),
        tf.keras.metrics.SparseCategoricalAccuracy(),
        increasing=True,
        rtol=0.95,
        rewinding_epochs=1,
        directory=str(directory),
        tuner="Manual",
        regularization_range=[1e-4],
    )


def run_seed(args, seed: int) -> dict:
    """Every row for one seed, in this process (one TensorFlow thread)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, str(SCRIPTS))
    from bench_quantization import spec_for, tfmot_recipe

    from fpgacompress.data import load_jets
    from fpgacompress.metrics import evaluate
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning.api import prune
    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.pruning.spec import PruneSpec
    from fpgacompress.quantization import quantization_aware_training, quantization_report
    from fpgacompress.recipe import TrainingConfig
    from fpgacompress.regularizers import L1, Lp
    from fpgacompress.training import train

    data, _ = load_jets(args.data).subsample(max_train=args.max_train, seed=seed).standardized()
    pretraining = TrainingConfig(epochs=args.pretrain_epochs, early_stopping_patience=5, seed=seed)
    pretrained = {}
    sources = (("float", None), ("L1", L1(1e-4)), ("Lp", Lp(1e-3, p=0.1)))
    for label, regularizer in sources[::2] if args.qat_only else sources:
        pretrained[label] = train(build_mlp("16-64-32-32-5", regularizer=regularizer, seed=seed), data,
                                  pretraining, progress=False)  # fmt: skip
    float_accuracy = pretrained["float"].metrics.accuracy
    print(f"seed {seed}: float {float_accuracy:.4f}", flush=True)
    budget_epochs = args.steps * args.epochs_per_step + args.fine_tune_epochs
    retraining = TrainingConfig(batch_size=512, learning_rate=1e-3, early_stopping_patience=None, seed=seed)
    common = {
        "target_sparsity": args.target_sparsity,
        "scope": "global",
        "sparsity_schedule": "polynomial",
        "learning_rate_schedule": "restart",
        "max_iterations": args.steps,
        "epochs_per_iteration": args.epochs_per_step,
        "fine_tune_epochs": args.fine_tune_epochs,
        "layers": {"output": {"max_sparsity": 0.7}},
    }
    rows, models = [], {}
    for regularizer in ("Lp",) if args.qat_only else ("L1", "Lp"):
        for criterion in ("resource",) if args.qat_only else CRITERIA:
            label = f"{criterion} + {regularizer}"
            started = time.perf_counter()
            result = prune(pretrained[regularizer].model, data, PruneSpec(criterion=criterion, **common),
                           training=retraining, progress=False)  # fmt: skip
            epochs = sum(record.epochs_trained for record in result.records)
            rows.append(_row(label, result.model, result.final.test_accuracy, epochs,
                             time.perf_counter() - started, pretrained[regularizer].metrics.accuracy))  # fmt: skip
            models[label] = (result.model, pretrained[regularizer].epochs_run + epochs)
            print(f"seed {seed}: {label} {rows[-1]['accuracy']:.4f} {rows[-1]['zeros']:.3f}", flush=True)
    started = time.perf_counter()
    result = None if args.qat_only else prune(pretrained["float"].model, data,
                   PruneSpec(method="tfmot", target_sparsity=args.target_sparsity,
                             layers={"output": {"max_sparsity": 0.7}},
                             schedule={"kind": "polynomial", "epochs": budget_epochs}),
                   training=retraining, progress=False)  # fmt: skip
    if result is not None:
        rows.append(_row("TF-MOT polynomial", result.model, result.final.test_accuracy, budget_epochs,
                         time.perf_counter() - started, float_accuracy))  # fmt: skip
        print(f"seed {seed}: TF-MOT {rows[-1]['accuracy']:.4f}", flush=True)
    # hls4ml last among the pruners: it changes Keras global state (custom objects).
    if not (args.skip_hls4ml or args.qat_only):
        started = time.perf_counter()
        optimized = hls4ml_prune(pretrained["L1"].model, data, args, seed, args.out / f"hls4ml_seed{seed}")
        accuracy = evaluate(optimized, data.x_test, data.y_test, data.class_names).accuracy
        rows.append(_row("hls4ml dsp_aware_pruning (L1)", optimized, accuracy, budget_epochs,
                         time.perf_counter() - started, pretrained["L1"].metrics.accuracy))  # fmt: skip
        print(f"seed {seed}: hls4ml {accuracy:.4f} {rows[-1]['zeros']:.3f}", flush=True)

    qat_rows = []
    qat = retraining.model_copy(update={"epochs": args.qat_epochs, "early_stopping_patience": 8})
    for label in ("resource + Lp",) if args.qat_only else ("resource + L1", "resource + Lp"):
        model, epochs_before = models[label]
        spec = spec_for(model, data, 6, activation_bits=8, input_bits=10)
        started = time.perf_counter()
        quantized = quantization_aware_training(model, spec, data, qat, progress=False)
        if PruningMask.from_model(model).violations(quantized.model):
            raise SystemExit(f"{label}: pruned weights regrew during QAT")
        report = quantized.report
        qat_rows.append({"method": f"{label} + QAT 6-bit (8-bit ReLU)", "accuracy": quantized.training.metrics.accuracy,
                         "bops": report.total_bops, "effective_zeros": report.sparsity,
                         "epochs": epochs_before + quantized.training.epochs_run,
                         "seconds": round(time.perf_counter() - started)})  # fmt: skip
    reference_budget = max(row["epochs"] for row in qat_rows)
    started = time.perf_counter()
    reference_model, reference = tfmot_recipe(data, reference_budget, retraining, seed, 8)
    report = quantization_report(reference_model)
    qat_rows.append({"method": "TF-MOT 75% + QKeras 6-bit (reference)", "accuracy": reference.metrics.accuracy,
                     "bops": report.total_bops, "effective_zeros": report.sparsity, "epochs": reference.epochs_run,
                     "seconds": round(time.perf_counter() - started)})  # fmt: skip
    print(f"seed {seed}: QAT done", flush=True)
    return {"seed": seed, "float_accuracy": float_accuracy, "n_train": len(data.y_train),
            "n_val": len(data.y_val), "n_test": len(data.y_test), "rows": rows, "qat_rows": qat_rows}  # fmt: skip


def _stats(values) -> str:
    import numpy as np

    values = np.asarray(values, dtype=float)
    return f"{values.mean():.4f} ± {(values.max() - values.min()) / 2:.4f}"


def summarize(results: list[dict]) -> list[str]:
    """Markdown tables: mean over seeds, ± half the max-min spread."""
    import numpy as np

    lines = ["| method | zeros (stored) | test accuracy | Δ vs float [pt] (mean ± half spread) | LUT | DSP | "
             "LUT + 55·DSP | epochs | per layer (zeros, seed 0) |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for index, row in enumerate(results[0]["rows"]):
        per_seed = [result["rows"][index] for result in results]
        drops = [
            100 * (result["float_accuracy"] - row_["accuracy"])
            for result, row_ in zip(results, per_seed, strict=True)
        ]
        layers = ", ".join(f"{name} {value:.0%}" for name, value in row["layers"].items())
        lines.append(
            f"| {row['method']} | {np.mean([r['zeros'] for r in per_seed]):.1%} | "
            f"{_stats([r['accuracy'] for r in per_seed])} | {np.mean(drops):+.2f} ± "
            f"{(max(drops) - min(drops)) / 2:.2f} | {np.mean([r['lut'] for r in per_seed]):.0f} | "
            f"{np.mean([r['dsp'] for r in per_seed]):.0f} | {np.mean([r['lut_55dsp'] for r in per_seed]):.0f} | "
            f"{row['epochs']} | {layers} |"
        )
    lines += ["", "| model | test accuracy | BOPs (mean) | effective zeros | epochs | meets target (seeds) |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for index, row in enumerate(results[0]["qat_rows"]):
        per_seed = [result["qat_rows"][index] for result in results]
        references = [result["qat_rows"][-1] for result in results]
        met = sum(
            mine["accuracy"] >= ref["accuracy"] and mine["bops"] <= ref["bops"] / 2
            for mine, ref in zip(per_seed, references, strict=True)
        )
        lines.append(
            f"| {row['method']} | {_stats([r['accuracy'] for r in per_seed])} | "
            f"{np.mean([r['bops'] for r in per_seed]):.0f} | {np.mean([r['effective_zeros'] for r in per_seed]):.1%} | "
            f"{row['epochs']} | {met}/{len(results)} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-train", type=int, default=60000, help="subsample the 144k training jets")
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--target-sparsity", type=float, default=0.93)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--epochs-per-step", type=int, default=5)
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=0, help="ours: epochs at the final mask (early stopping)"
    )
    parser.add_argument("--qat-epochs", type=int, default=30)
    parser.add_argument("--skip-hls4ml", action="store_true")
    parser.add_argument(
        "--qat-only", action="store_true", help="only resource + Lp, its 6-bit QAT and the reference recipe"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_pruning"))
    parser.add_argument("--one-seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one_seed is not None:
        result = run_seed(args, args.one_seed)
        (args.out / f"seed_{args.one_seed}.json").write_text(json.dumps(result, indent=2))
        return

    started = time.perf_counter()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    passthrough = [argument for argument in sys.argv[1:]]
    workers = [
        subprocess.Popen([sys.executable, __file__, *passthrough, "--one-seed", str(seed)]) for seed in seeds
    ]
    if any(worker.wait() for worker in workers):
        raise SystemExit("a seed failed; see its output above")
    results = [json.loads((args.out / f"seed_{seed}.json").read_text()) for seed in seeds]
    print(
        f"train {results[0]['n_train']} / val {results[0]['n_val']} / test {results[0]['n_test']} jets per seed; "
        f"float baseline test accuracy {_stats([result['float_accuracy'] for result in results])} "
        f"over seeds {seeds}"
    )
    print("\n".join(summarize(results)))
    print(f"total wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
