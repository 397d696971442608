"""Sparse variational dropout vs iterative L1 / Lp pruning on the shared jets, side by side in one run.

Usage:
    .venv/bin/python scripts/bench_variational.py [--data ../shared/data/jets_hlf.npz] [--max-train 20000]
        [--seeds 0 1 2] [--vd-epochs 30] [--fine-tune-epochs 5] [--kl-scales 1 4 10]
        [--target-sparsity 0.95] [--out runs/bench_variational]

Per seed, three 16-64-32-32-5 models are pretrained (float without penalty, L1 1e-4, Lp 1e-3 p=0.1;
``--pretrain-epochs`` with early stopping). Sparse variational dropout starts from the float model
(its prior is the regularizer) and runs ``--vd-epochs`` of variational training plus
``--fine-tune-epochs`` of masked fine-tuning of the export, once per ``--kl-scales`` value (1 is the
variational bound itself; larger weighs the prior more: the sparsity dial). Iterative pruning
(global magnitude threshold) starts from the L1 / Lp models and gets the same total number of epochs:
``--fraction`` of the remaining weights cut per iteration, as many iterations as reach
``--target-sparsity``, the epochs split evenly between them.

Then, on seed 0: 6-bit QAT (6-bit weights and biases, 8-bit ReLUs, 12-bit input; ``--qat-epochs``)
of the dense float model and of each method's sparsest model within 0.5 points of float, the
estimated LUT / DSP / latency (fpgacompress.estimate, serenity-vu13p, 360 MHz), and the inference
time per event of the dense vs the sparse network: in Python (Keras ``predict``, batch 4096) and
in C++ (hls4ml's firmware compiled with g++ -O2, the csim build, called in a loop over the testbench
jets). Both run the same shape whatever the zeros, so for variational dropout a third network is timed:
the sparse model with its dead nodes removed (``compact``: nodes without outgoing weights dropped, nodes without
incoming weights folded into the next bias, unused input features dropped).

Prints Markdown tables for docs/benchmarks.md and writes ``results.json`` and plots into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from fpgacompress.config import TrainingConfig  # noqa: E402
from fpgacompress.data import load_jets  # noqa: E402
from fpgacompress.models import build_mlp  # noqa: E402
from fpgacompress.pruning.api import prune  # noqa: E402
from fpgacompress.pruning.mask import PruningMask  # noqa: E402
from fpgacompress.pruning.spec import PruneSpec  # noqa: E402
from fpgacompress.regularizers import L1, Lp  # noqa: E402
from fpgacompress.training import train  # noqa: E402
from fpgacompress.variational import SparsifySpec, sparsify  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jets_hlf.npz"
BOARD = "serenity-vu13p"
CLOCK_MHZ = 360

TIMING_SOURCE = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include "firmware/myproject.h"
#include "firmware/nnet_utils/nnet_helpers.h"

namespace nnet {  // the build traces every layer for the csim; timing switches the trace off
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
}  // namespace nnet

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
    std::ifstream file("tb_data/tb_input_features.dat");
    std::vector<INPUT_TYPE> inputs;
    std::string line;
    int events = 0;
    while (std::getline(file, line)) {
        std::istringstream values(line);
        float value;
        int count = 0;
        while (values >> value) { inputs.push_back(INPUT_TYPE(value)); ++count; }
        if (count == N_INPUTS) ++events;
    }
    RESULT_TYPE out[N_OUTPUTS];
    myproject(&inputs[0], out);  // the first call loads the weights
    double checksum = 0;
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r)
        for (int i = 0; i < events; ++i) {
            myproject(&inputs[i * N_INPUTS], out);
            checksum += out[0].to_double();
        }
    auto stop = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(stop - start).count() / (double(repeats) * events);
    std::printf("%d %d %.3f %.6f\n", events, repeats, ns, checksum);
    return 0;
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-train", type=int, default=20000, help="subsample the training jets")
    parser.add_argument("--max-test", type=int, default=20000, help="subsample the 40k test jets")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--vd-epochs", type=int, default=30)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--kl-scales", type=float, nargs="+", default=[1.0, 4.0, 10.0])
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="Adam, variational training")
    parser.add_argument("--target-sparsity", type=float, default=0.95)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--qat-epochs", type=int, default=10)
    parser.add_argument(
        "--qat-integer",
        type=int,
        default=0,
        help="integer bits of the 6-bit weights and biases (sparse weights are large)",
    )
    parser.add_argument("--timing-events", type=int, default=2000, help="testbench jets timed in C++")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_variational"))
    args = parser.parse_args()

    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    data, _ = (
        load_jets(args.data)
        .subsample(max_train=args.max_train, max_test=args.max_test, seed=0)
        .standardized()
    )
    total_epochs = args.vd_epochs + args.fine_tune_epochs
    iterations = math.ceil(math.log(1 - args.target_sparsity) / math.log(1 - args.fraction))
    per_iteration = max(1, total_epochs // iterations)
    print(
        f"train {len(data.y_train)} / val {len(data.y_val)} / test {len(data.y_test)} jets; seeds {args.seeds}; "
        f"{total_epochs} epochs per method (VD {args.vd_epochs} + {args.fine_tune_epochs} fine-tune; iterative "
        f"{iterations} x {per_iteration})",
        flush=True,
    )
    rows, models = [], {}
    for seed in args.seeds:
        rows += run_seed(seed, args, data, iterations, per_iteration, models)
        print(f"seed {seed} done at {time.perf_counter() - started:.0f} s", flush=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2))
    summary = summarize(rows)
    print_tables(rows, summary)
    plot_curves(rows, args.out / "accuracy_vs_sparsity.png")
    hardware = compare_hardware(args, data, models, summary)
    (args.out / "hardware.json").write_text(json.dumps(hardware, indent=2))
    print(f"total wall time {time.perf_counter() - started:.0f} s")


def run_seed(seed: int, args, data, iterations: int, per_iteration: int, models: dict) -> list[dict]:
    pretraining = TrainingConfig(epochs=args.pretrain_epochs, early_stopping_patience=5, seed=seed)
    pretrained = {}
    for label, regularizer in (("float", None), ("L1", L1(1e-4)), ("Lp", Lp(1e-3, p=0.1))):
        model = build_mlp("16-64-32-32-5", regularizer=regularizer, seed=seed)
        pretrained[label] = train(model, data, pretraining, progress=False)
    rows = [_row(seed, "float", None, 0.0, pretrained["float"].metrics, 0, 0.0)]
    # The dense reference gets the same extra epochs as the sparsifiers (early-stopped, best epoch kept):
    # the methods below all continue from a pretrained model, so comparing with the pretrained one
    # alone would credit them with the extra training.
    import tensorflow as tf

    dense = tf.keras.models.clone_model(pretrained["float"].model)
    dense.set_weights(pretrained["float"].model.get_weights())
    continued_config = TrainingConfig(
        epochs=args.vd_epochs + args.fine_tune_epochs, batch_size=256, early_stopping_patience=5, seed=seed
    )
    continued = train(dense, data, continued_config, progress=False)
    rows.append(
        _row(seed, "float", "continued", 0.0, continued.metrics, args.vd_epochs + args.fine_tune_epochs, 0.0)
    )
    if seed == args.seeds[0]:
        models["float"] = continued.model

    for kl_scale in args.kl_scales:
        spec = SparsifySpec(
            epochs=args.vd_epochs,
            warmup_epochs=max(1, args.vd_epochs // 4),
            learning_rate=args.learning_rate,
            kl_scale=kl_scale,
            fine_tune_epochs=args.fine_tune_epochs,
        )
        start = time.perf_counter()
        result = sparsify(
            pretrained["float"].model, data, spec, training=TrainingConfig(seed=seed), progress=False
        )
        seconds = time.perf_counter() - start
        rows.append(
            _row(
                seed,
                "VD",
                kl_scale,
                result.mask.sparsity,
                result.metrics_final,
                args.vd_epochs + args.fine_tune_epochs,
                seconds,
            )
            | {
                "thresholded_accuracy": result.metrics_thresholded.accuracy,
                "thresholded_mean_auc": result.metrics_thresholded.mean_auc,
                "unthresholded_accuracy": result.metrics_unthresholded.accuracy,
                "layers": {name: layer.sparsity for name, layer in result.layers.items()},
                "kept_features": len(result.kept_features),
            }
        )
        if seed == args.seeds[0]:
            models[("VD", kl_scale)] = result.model
        print(
            f"  seed {seed} VD kl_scale {kl_scale:g}: {result.mask.sparsity:.1%}, {result.metrics_final}",
            flush=True,
        )

    for label in ("L1", "Lp"):
        spec = PruneSpec(
            target_sparsity=args.target_sparsity,
            scope="global",
            fraction_per_iteration=args.fraction,
            max_iterations=iterations,
            epochs_per_iteration=per_iteration,
        )
        start = time.perf_counter()
        result = prune(
            pretrained[label].model,
            data,
            spec,
            training=TrainingConfig(early_stopping_patience=None, seed=seed),
            progress=False,
        )
        seconds = time.perf_counter() - start
        epochs = 0
        for record in result.records[1:]:
            epochs += record.epochs_trained
            test = type(pretrained[label].metrics)(record.test_accuracy, record.test_auc)
            rows.append(
                _row(seed, f"iterative {label}", record.iteration, record.sparsity, test, epochs, seconds)
            )
        if seed == args.seeds[0]:  # prune() returns the final model only
            models[(f"iterative {label}", result.final.iteration)] = result.model
        print(
            f"  seed {seed} iterative {label}: {result.mask.sparsity:.1%}, {result.final.test_accuracy:.4f}",
            flush=True,
        )
    return rows


def _row(seed, method, setting, sparsity, metrics, epochs, seconds) -> dict:
    return {
        "seed": seed,
        "method": method,
        "setting": setting,
        "sparsity": float(sparsity),
        "accuracy": metrics.accuracy,
        "mean_auc": metrics.mean_auc,
        "epochs": epochs,
        "seconds": seconds,
    }


def summarize(rows: list[dict]) -> dict:
    """Per (method, setting): mean and spread over seeds of sparsity, accuracy and AUC."""
    groups: dict = {}
    for row in rows:
        groups.setdefault((row["method"], row["setting"]), []).append(row)
    summary = {}
    for key, items in groups.items():
        summary[key] = {
            name: (float(np.mean([i[name] for i in items])), float(np.std([i[name] for i in items])))
            for name in ("sparsity", "accuracy", "mean_auc")
        } | {"epochs": items[0]["epochs"], "n": len(items)}
    return summary


def reference_accuracy(summary: dict) -> float:
    """The better of the pretrained and the continued float model (mean test accuracy over seeds)."""
    return max(values["accuracy"][0] for (method, _), values in summary.items() if method == "float")


def best_within(summary: dict, method: str, float_accuracy: float, max_drop: float = 0.005):
    """The sparsest setting of ``method`` whose mean accuracy is at most ``max_drop`` below float."""
    candidates = [
        (values["sparsity"][0], setting)
        for (name, setting), values in summary.items()
        if name == method and values["accuracy"][0] >= float_accuracy - max_drop
    ]
    return max(candidates, default=(None, None))


def print_tables(rows: list[dict], summary: dict) -> None:
    float_accuracy = reference_accuracy(summary)
    print(
        "\n| method | setting | epochs | zeros (mean ± sd) | test accuracy (mean ± sd) | vs best float [pt] | mean AUC |"
    )
    print("|---|---|---|---|---|---|---|")
    for (method, setting), values in summary.items():
        if method == "float":
            setting_text = "pretrained" if setting is None else "continued (same extra epochs, early-stopped)"
        else:
            setting_text = f"kl_scale {setting:g}" if method == "VD" else f"iteration {setting}"
        sparsity, accuracy, auc = values["sparsity"], values["accuracy"], values["mean_auc"]
        print(
            f"| {method} | {setting_text} | {values['epochs']} | {sparsity[0]:.1%} ± {sparsity[1]:.1%} | "
            f"{accuracy[0]:.4f} ± {accuracy[1]:.4f} | {100 * (accuracy[0] - float_accuracy):+.2f} | "
            f"{auc[0]:.4f} ± {auc[1]:.4f} |"
        )
    print()
    for method in ("VD", "iterative L1", "iterative Lp"):
        sparsity, setting = best_within(summary, method, float_accuracy)
        text = "none" if sparsity is None else f"{sparsity:.1%} ({setting})"
        print(f"sparsest {method} within 0.5 pt of the best float model (mean over seeds): {text}")


def plot_curves(rows: list[dict], path: Path) -> None:
    from fpgacompress.plots import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    float_rows = [row for row in rows if row["method"] == "float" and row["setting"] == "continued"]
    for method, marker in (("VD", "o"), ("iterative L1", "s"), ("iterative Lp", "D")):
        points = [row for row in rows if row["method"] == method]
        axis.scatter(
            [row["sparsity"] for row in points],
            [row["accuracy"] for row in points],
            marker=marker,
            label=method,
            alpha=0.7,
        )
    axis.axhline(
        np.mean([row["accuracy"] for row in float_rows]),
        color="grey",
        linestyle="--",
        label="float (continued)",
    )
    axis.axhline(
        np.mean([row["accuracy"] for row in float_rows]) - 0.005,
        color="grey",
        linestyle=":",
        label="float - 0.5 pt",
    )
    axis.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:.0%}"))
    axis.set_xlabel("fraction of weights removed")
    axis.set_ylabel("test accuracy")
    axis.set_title("16-64-32-32-5 on the shared jets: every seed")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    save_figure(figure, path)


def compare_hardware(args, data, models: dict, summary: dict) -> dict:
    """6-bit QAT, estimated resources and inference time of the dense and the chosen sparse models (seed 0)."""
    from fpgacompress.estimation import estimate
    from fpgacompress.firmware import build
    from fpgacompress.firmware.settings import BuildConfig
    from fpgacompress.quantization import QuantizationSpec, quantization_aware_training

    float_accuracy = reference_accuracy(summary)
    chosen = {"dense float": ("float", models["float"])}
    _, kl_scale = best_within(summary, "VD", float_accuracy)
    vd_keys = [key for key in models if isinstance(key, tuple) and key[0] == "VD"]
    if kl_scale is not None:
        chosen[f"VD kl_scale {kl_scale:g}"] = ("VD", models[("VD", kl_scale)])
    sparsest_vd = max(vd_keys, key=lambda key: PruningMask.from_model(models[key]).sparsity)
    if sparsest_vd[1] != kl_scale:
        chosen[f"VD kl_scale {sparsest_vd[1]:g}"] = ("VD", models[sparsest_vd])
    for label in ("iterative L1", "iterative Lp"):
        key = next(key for key in models if isinstance(key, tuple) and key[0] == label)
        chosen[label] = (label, models[key])

    spec = QuantizationSpec.uniform(
        6, activation_bits=8, activation_integer=3, input_bits=12, input_integer=4
    )
    qat = TrainingConfig(epochs=args.qat_epochs, learning_rate=5e-4, seed=0)
    results = {}
    print(
        "\n| model | zeros | 6-bit QAT accuracy | mean AUC | est. LUT | est. DSP | est. latency | Keras predict [µs/event] | C++ [µs/event] |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    timings = {}
    for label, (_, model) in chosen.items():
        variants = {label: (model, data)}
        if label.startswith("VD"):
            compact_model, kept_inputs = compact(model)
            variants[f"{label}, compacted ({topology(compact_model)})"] = (
                compact_model,
                data.select_features([data.feature_names[i] for i in kept_inputs]),
            )
        for name, (float_model, subset) in variants.items():
            quantized = quantization_aware_training(float_model, spec, subset, qat, progress=False)
            report = estimate(quantized.model, BOARD, clock_period_ns=1000 / CLOCK_MHZ)
            python_us = keras_time_per_event(float_model, subset.x_test)
            project = build(
                quantized.model,
                config=BuildConfig(board=BOARD, clock_mhz=CLOCK_MHZ, n_testbench_samples=args.timing_events),
                x_test=subset.x_test,
                out_dir=args.out / "projects" / re.sub(r"[^A-Za-z0-9]+", "_", name),
                force=True,
            )
            cpp_us = cpp_time_per_event(project.path)
            totals = report.totals
            sparsity = PruningMask.from_model(float_model).sparsity
            row = {
                "zeros": sparsity,
                "n_weights": PruningMask.from_model(float_model).n_weights,
                "qat_accuracy": quantized.training.metrics.accuracy,
                "qat_mean_auc": quantized.training.metrics.mean_auc,
                "lut": totals.lut,
                "dsp": totals.dsp,
                "latency_cycles": totals.latency_cycles,
                "keras_us_per_event": python_us,
                "cpp_us_per_event": cpp_us,
            }
            results[name] = row
            timings[name] = (python_us, cpp_us)
            print(
                f"| {name} | {sparsity:.1%} | {row['qat_accuracy']:.4f} | {row['qat_mean_auc']:.4f} | {totals.lut:,} | "
                f"{totals.dsp:,} | {totals.latency_cycles} cycles | {python_us:.3f} | {cpp_us:.3f} |",
                flush=True,
            )
    dense_python, dense_cpp = timings["dense float"]
    print("\n| model | Keras speed-up vs dense | C++ speed-up vs dense |")
    print("|---|---|---|")
    for name, (python_us, cpp_us) in timings.items():
        print(f"| {name} | x{dense_python / python_us:.2f} | x{dense_cpp / cpp_us:.2f} |")
    return results


def topology(model) -> str:
    widths = [int(model.input_shape[-1])] + [
        int(layer.units) for layer in model.layers if hasattr(layer, "units")
    ]
    return "-".join(map(str, widths))


def compact(model):
    """The sparse model with dead nodes and unused inputs removed (AutoPruner's exporter does the folding).

    Returns the smaller plain model and the indices of the input features it reads. Repeated until
    nothing changes: removing a node can leave another one without outgoing weights.
    """
    import tensorflow as tf

    from fpgacompress.autopruning.export import reduce_network
    from fpgacompress.autopruning.layer import node_masks
    from fpgacompress.autopruning.network import INPUT_MASK_NAME, insert_node_masks

    kept_inputs = np.arange(model.input_shape[-1])
    while True:
        denses = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Dense)]
        kernels = [layer.kernel.numpy() for layer in denses]
        gates = {INPUT_MASK_NAME: np.any(kernels[0] != 0, axis=1)}
        for dense, next_kernel in zip(denses[:-1], kernels[1:], strict=True):
            gates[dense.name] = np.any(next_kernel != 0, axis=1)
        if all(gate.all() for gate in gates.values()) and all(
            np.any(k != 0, axis=0).all() for k in kernels[:-1]
        ):
            return model, kept_inputs
        counts = {name: max(1, int(gate.sum())) for name, gate in gates.items() if name != INPUT_MASK_NAME}
        masked = insert_node_masks(model, counts, max(1, int(gates[INPUT_MASK_NAME].sum())))
        for mask in node_masks(masked):
            name = mask.name if mask.name == INPUT_MASK_NAME else mask.name.removesuffix("_node_mask")
            gate = gates[name].astype(np.float32)
            if not gate.any():
                gate[0] = 1.0
            mask.hard_gates.assign(gate)
            mask.is_hard.assign(1.0)
        reduction = reduce_network(masked)
        kept_inputs = kept_inputs[list(reduction.kept_inputs)]
        if topology(reduction.model) == topology(model):
            return reduction.model, kept_inputs
        model = reduction.model


def keras_time_per_event(model, x: np.ndarray, repeats: int = 5) -> float:
    """Best of ``repeats`` Keras ``predict`` passes over ``x`` (batch 4096), in µs per event."""
    model.predict(x[:4096], batch_size=4096, verbose=0)  # trace once
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(x, batch_size=4096, verbose=0)
        best = min(best, time.perf_counter() - start)
    return 1e6 * best / len(x)


def cpp_time_per_event(project_dir: Path, repeats: int = 5) -> float:
    """Compile the firmware with a timing loop (g++ -O2, as the csim) and return µs per event (best of 5)."""
    header = (project_dir / "firmware" / "myproject.h").read_text()
    (input_type, n_inputs), (result_type, n_outputs) = re.findall(r"(\w+) \w+\[(\d+)\]", header)[:2]
    source = project_dir / "fpgacompress_timing.cpp"
    source.write_text(TIMING_SOURCE)
    command = [
        "g++", "-O2", "-std=c++11", "-Ifirmware", "-Ifirmware/ap_types", '-DWEIGHTS_DIR="firmware/weights"',
        f"-DINPUT_TYPE={input_type}", f"-DRESULT_TYPE={result_type}", f"-DN_INPUTS={n_inputs}",
        f"-DN_OUTPUTS={n_outputs}", source.name, "firmware/myproject.cpp", "-o", "fpgacompress_timing",
    ]  # fmt: skip
    subprocess.run(command, cwd=project_dir, check=True, capture_output=True, text=True)
    best = math.inf
    for _ in range(5):
        completed = subprocess.run(
            ["./fpgacompress_timing", str(repeats)],
            cwd=project_dir,
            check=True,
            capture_output=True,
            text=True,
        )
        best = min(best, float(completed.stdout.split()[2]))
    return best / 1000.0


if __name__ == "__main__":
    main()
