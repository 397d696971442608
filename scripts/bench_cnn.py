"""A small CNN on calorimeter cluster images: accuracy vs filters kept and vs sparsity, with BOPs.

Usage:
    nice -n 10 .venv/bin/python scripts/bench_cnn.py [--images 15000] [--image-size 16] [--seeds 0,1,2]
        [--fractions 1.0,0.75,0.5,0.25] [--sparsities 0.5,0.75,0.9] [--epochs 20] [--out runs/bench_cnn]

Data: :func:`fpgacompress.calorimeter.calorimeter_images` (photon / pi0 / hadron, ``--images``
clusters split 72 / 8 / 20 % train / validation / test), seen as ``log(1 + E)``.
Model: ``16x16x1 -> Conv2D(8, 3x3, relu) -> MaxPool 2 -> Conv2D(16, 3x3, relu) -> MaxPool 2 ->
Flatten -> Dense(32, relu) -> Dense(3, softmax)``.

Per seed, side by side on the same split:

* **baseline**: the model trained ``--epochs`` (early stopping on validation loss, patience 5);
* **AutoPruner over filters**: for each fraction, a fresh model keeps that fraction of both
  convolutions' filters (``AutoPruneSpec(keep={"conv1": f, "conv2": f})``), trained through the
  annealing schedule, exported physically smaller and fine-tuned;
* **magnitude pruning**: the baseline pruned iteratively (layer scope, every kernel) to each sparsity.

Columns: test accuracy, weights kept, BOPs with float weights counted at hls4ml's default 16 bits and
BOPs of the same model quantized to 8-bit weights and activations (``QuantizationSpec.uniform(8, 1)``,
zeros counted after quantization; BOPs only, that model is not trained), and the estimated LUT / DSP of
the 8-bit model in io_stream on ``serenity-vu13p`` — printed ``n/a`` when the resource estimator does
not cost a layer of the model (it raises the project's error), never a made-up number.
Prints Markdown tables for docs/benchmarks.md and writes ``results.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fpgacompress.autopruning import AutoPruneSpec, autoprune  # noqa: E402
from fpgacompress.calorimeter import calorimeter_images  # noqa: E402
from fpgacompress.config import TrainingConfig  # noqa: E402
from fpgacompress.errors import FpgacompressError  # noqa: E402
from fpgacompress.metrics import evaluate  # noqa: E402
from fpgacompress.pruning import PruneSpec, prune  # noqa: E402
from fpgacompress.quantization import QuantizationSpec, quantization_report, quantize  # noqa: E402
from fpgacompress.training import train  # noqa: E402

BOARD = "serenity-vu13p"


def build_cnn(image_size: int, seed: int):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    inputs = tf.keras.Input((image_size, image_size, 1), name="input")
    x = layers.Conv2D(8, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="relu", name="fc1")(x)
    outputs = layers.Dense(3, activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, outputs, name="calo_cnn")


def resources(quantized) -> dict:
    """Estimated LUT / DSP of the quantized model, or ``n/a`` with the estimator's reason."""
    from fpgacompress.estimation import estimate

    try:
        report = estimate(quantized, BOARD, io_type="io_stream")
    except FpgacompressError as error:
        return {"lut": "n/a", "dsp": "n/a", "why": str(error)}
    return {"lut": int(report.totals.get("lut")), "dsp": int(report.totals.get("dsp"))}


def describe(model, data, label: str, started: float) -> dict:
    float_report = quantization_report(model)
    quantized = quantize(model, QuantizationSpec.uniform(8, 1))
    quantized_report = quantization_report(quantized)
    return {
        "label": label,
        "accuracy": evaluate(model, data.x_test, data.y_test, data.class_names).accuracy,
        "weights_kept": float_report.n_nonzero,
        "weights": float_report.n_weights,
        "bops_float16": float_report.total_bops,
        "bops_8bit": quantized_report.total_bops,
        "conv_filters": [int(layer.filters) for layer in model.layers if hasattr(layer, "filters")],
        **resources(quantized),
        "seconds": round(time.perf_counter() - started, 1),
    }


def run_seed(data, args, seed: int) -> list[dict]:
    training = TrainingConfig(epochs=args.epochs, batch_size=256, seed=seed)
    rows = []
    started = time.perf_counter()
    baseline = build_cnn(args.image_size, seed)
    train(baseline, data, training, progress=False)
    rows.append({"method": "baseline", "setting": 1.0, **describe(baseline, data, "baseline", started)})
    for fraction in args.fractions:
        if fraction >= 1.0:
            continue
        started = time.perf_counter()
        spec = AutoPruneSpec(
            keep={"conv1": fraction, "conv2": fraction},
            soft_epochs=args.soft_epochs,
            hard_epochs=2,
            retrain="fine_tune",
        )
        result = autoprune(build_cnn(args.image_size, seed), data, spec, training=training, progress=False)
        row = describe(result.reduced_model, data, f"filters {fraction:.0%}", started)
        rows.append(
            {
                "method": "autoprune",
                "setting": fraction,
                "export_max_abs_difference": result.export_max_abs_difference,
                **row,
            }
        )
    for sparsity in args.sparsities:
        started = time.perf_counter()
        spec = PruneSpec(target_sparsity=sparsity, max_iterations=4, epochs_per_iteration=3)
        result = prune(
            baseline, data, spec, training=training.model_copy(update={"epochs": 3}), progress=False
        )
        rows.append(
            {
                "method": "magnitude",
                "setting": sparsity,
                **describe(result.model, data, f"sparsity {sparsity:.0%}", started),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    keys = sorted(
        {(row["method"], row["setting"]) for row in rows},
        key=lambda key: (key[0] != "baseline", key[0], -key[1]),
    )
    lines = [
        "| method | setting | conv filters | test accuracy (mean ± std over seeds) | weights kept | BOPs (float, 16 b) | BOPs (8 b) | LUT (8 b) | DSP (8 b) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, setting in keys:
        group = [row for row in rows if (row["method"], row["setting"]) == (method, setting)]
        accuracy = np.array([row["accuracy"] for row in group]) * 100
        first = group[0]
        lines.append(
            f"| {method} | {first['label']} | {'-'.join(map(str, first['conv_filters']))} | "
            f"{accuracy.mean():.2f} ± {accuracy.std():.2f} (n={len(group)}) | {first['weights_kept']} / {first['weights']} | "
            f"{np.mean([row['bops_float16'] for row in group]):.3g} | {np.mean([row['bops_8bit'] for row in group]):.3g} | "
            f"{first['lut']} | {first['dsp']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=15000)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--fractions", default="1.0,0.75,0.5,0.25")
    parser.add_argument("--sparsities", default="0.5,0.75,0.9")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--soft-epochs", type=int, default=8)
    parser.add_argument("--out", default="runs/bench_cnn")
    args = parser.parse_args()
    args.fractions = [float(value) for value in args.fractions.split(",")]
    args.sparsities = [float(value) for value in args.sparsities.split(",")]
    raw = calorimeter_images(args.images, image_size=args.image_size, seed=0)
    data = replace(raw, x_train=np.log1p(raw.x_train), x_val=np.log1p(raw.x_val), x_test=np.log1p(raw.x_test))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in (int(value) for value in args.seeds.split(",")):
        rows.extend(run_seed(data, args, seed))
        (out / "results.json").write_text(json.dumps(rows, indent=2))
        print(f"seed {seed} done", flush=True)
        print(markdown(rows), flush=True)
    print(f"train {len(data.x_train)} / test {len(data.x_test)} images")


if __name__ == "__main__":
    main()
