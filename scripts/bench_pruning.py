"""Pruning criteria side by side on the shared jets: magnitude, OBD, resource (L1 and Lp), TF-MOT, hls4ml.

Usage:
    .venv/bin/python scripts/bench_pruning.py [--data ../shared/data/jets_hlf.npz] [--seeds 0,1,2]
        [--max-train 60000] [--target-sparsity 0.93] [--steps 8] [--epochs-per-step 5]
        [--out runs/bench_pruning]
        [--max-train 0] [--start float] [--regularizers Lp] [--lp 1e-4] [--criteria magnitude,resource]
        [--learning-rate 1e-2] [--batch-size 256] [--kl-scales 6 20] [--skip-tfmot] [--skip-hls4ml]
        [--qat "resource + Lp" "variational dropout, kl_scale 6"]
        [--qat-learning-rate 1e-4 --qat-schedule cosine --qat-epochs 20 --qat-patience 0
         --qat-weight-quantile 0.99] [--model-cache runs/model_cache]

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

Options of the second wave (defaults keep the first run's behaviour): ``--max-train 0`` uses the full
training split; ``--start float`` starts ours from the float model with the penalty attached (a warm
start: no penalized pretraining, whose models start below the float one); ``--learning-rate`` /
``--batch-size`` set the retraining of ours, TF-MOT and the variational fine-tuning (QAT and the
reference recipe keep Adam 1e-3 at batch 512); ``--kl-scales`` adds sparse variational dropout rows
(``fpgacompress.variational.sparsify`` from the float model, cosine learning rate, the same epoch
budget: ``budget - --vd-fine-tune-epochs`` variational epochs, then masked fine-tuning;
``--vd-target-sparsity`` cuts log alpha at that sparsity instead of at 3);
``--qat`` names the rows given 6-bit QAT; ``--qat-learning-rate`` / ``--qat-schedule`` / ``--qat-epochs`` /
``--qat-patience`` (0: none) / ``--qat-batch-size`` set their fine-tuning (Adam 1e-3, constant, 30,
8, 512 by default; the reference recipe keeps those defaults whatever they say) and
``--qat-weight-quantile`` the ``weight_quantile`` of ``suggest_precision``. ``--model-cache DIR``
keeps each pruned model (weights only, the zeros are the mask) with its row, keyed by row, seed and
every pruning setting, and reuses it in a later run with the same settings: QAT settings can be
compared on the very same sparse models without pruning them again.

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
ARCHITECTURE = "16-64-32-32-5"  # the jet tagger of the hls4ml papers


def _estimate(model) -> dict:
    from fpgacompress.estimation import estimate

    totals = estimate(model, default_precision="ap_fixed<16,6>", multiplier_binding="auto").totals
    return {"lut": totals.lut, "dsp": totals.dsp, "lut_55dsp": totals.lut + 55 * totals.dsp,
            "latency_cycles": totals.latency_cycles}  # fmt: skip


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


def _float_model(args, seed: int, data, pretraining):
    """The float baseline of one seed, trained once per setting and kept in ``--float-cache``.

    Every method of a run starts from this model and is judged against it, so runs that explore one
    method reuse the very same yardstick (and skip its training) when they share the cache.
    """
    from types import SimpleNamespace

    from fpgacompress.metrics import evaluate
    from fpgacompress.models import build_mlp
    from fpgacompress.training import train

    name = f"float_seed{seed}_train{args.max_train}_e{args.pretrain_epochs}_p{args.pretrain_patience}"
    stem = args.float_cache / name if args.float_cache else None
    kept = _load_weights(stem, seed) if stem is not None else None
    if kept is not None:
        model, record = kept
        metrics = evaluate(model, data.x_test, data.y_test, data.class_names)
        return SimpleNamespace(model=model, metrics=metrics, epochs_run=record["epochs"])
    trained = train(build_mlp(ARCHITECTURE, seed=seed), data, pretraining, progress=False)
    if stem is not None:
        _keep_weights(stem, trained.model, {"epochs": trained.epochs_run, "accuracy": trained.metrics.accuracy})
    return trained


def _load_weights(stem: Path, seed: int):
    """``(model, record)`` kept at ``stem`` (``.h5`` weights, ``.json`` record); ``None`` when not there.

    Weights only: nothing in the file executes (a pruned model's mask is its weights' exact zeros).
    """
    from fpgacompress.models import build_mlp

    if not stem.with_suffix(".h5").exists():
        return None
    model = build_mlp(ARCHITECTURE, seed=seed)
    model.load_weights(stem.with_suffix(".h5"))
    return model, json.loads(stem.with_suffix(".json").read_text())


def _keep_weights(stem: Path, model, record: dict) -> None:
    """Write ``model``'s weights and ``record`` beside each other, for :func:`_load_weights`."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(stem.with_suffix(".h5"))
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2))


MODEL_SETTINGS = ("max_train", "pretrain_epochs", "pretrain_patience", "start", "l1", "lp", "learning_rate",
                  "batch_size", "output_cap", "target_sparsity", "steps", "epochs_per_step", "fine_tune_epochs",
                  "vd_learning_rate", "vd_fine_tune_epochs")  # fmt: skip


def _variational_label(args, kl_scale: float) -> str:
    """The row name of one variational-dropout setting (its cut, when cut to a sparsity)."""
    label = f"variational dropout, kl_scale {kl_scale:g}"
    if args.vd_target_sparsity is not None:
        label += f", cut to {args.vd_target_sparsity:.1%}"
    return label


def _model_key(args, seed: int, label: str) -> str:
    """File stem of one pruned model in ``--model-cache``: the row, the seed and a digest of the settings."""
    import hashlib

    settings = json.dumps({name: getattr(args, name) for name in MODEL_SETTINGS}, sort_keys=True)
    slug = "".join(character if character.isalnum() else "_" for character in label).strip("_")
    return f"{slug}_seed{seed}_{hashlib.sha256(settings.encode()).hexdigest()[:10]}"


def _load_cached_model(args, seed: int, label: str):
    """``(row, model, epochs)`` of a pruned model kept in ``--model-cache``; ``None`` when not there."""
    if args.model_cache is None:
        return None
    kept = _load_weights(args.model_cache / _model_key(args, seed, label), seed)
    if kept is None:
        return None
    model, record = kept
    return record["row"], model, record["epochs"]


def _save_cached_model(args, seed: int, label: str, row: dict, model, epochs: int) -> None:
    if args.model_cache is None:
        return
    stem = args.model_cache / _model_key(args, seed, label)
    if stem.with_suffix(".h5").exists():
        return
    settings = {name: getattr(args, name) for name in MODEL_SETTINGS}
    _keep_weights(stem, model, {"row": row, "epochs": epochs, "seed": seed, "label": label, "settings": settings})


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

    max_train = args.max_train or None  # 0: the full training split
    data, _ = load_jets(args.data).subsample(max_train=max_train, seed=seed).standardized()
    pretraining = TrainingConfig(epochs=args.pretrain_epochs, early_stopping_patience=args.pretrain_patience,
                                 seed=seed)  # fmt: skip
    penalties = {"L1": L1(args.l1), "Lp": Lp(args.lp, p=0.1), "none": None}
    regularizers = ["Lp"] if args.qat_only else args.regularizers.split(",")
    pretrained = {"float": _float_model(args, seed, data, pretraining)}
    float_accuracy = pretrained["float"].metrics.accuracy
    float_epochs = pretrained["float"].epochs_run
    print(f"seed {seed}: float {float_accuracy:.4f} after {float_epochs} epochs", flush=True)
    # Where our criteria (and hls4ml's pruner) start: a model pretrained with the penalty, or the float
    # model itself with the penalty attached (warm start: the penalty acts during pruning only).
    starts = {}
    for label in regularizers:
        if args.start == "float" or label == "none":
            model = build_mlp(ARCHITECTURE, regularizer=penalties[label], seed=seed)
            model.set_weights(pretrained["float"].model.get_weights())
            starts[label] = (model, float_accuracy, float_epochs)
        else:
            trained = train(build_mlp(ARCHITECTURE, regularizer=penalties[label], seed=seed), data,
                            pretraining, progress=False)  # fmt: skip
            starts[label] = (trained.model, trained.metrics.accuracy, trained.epochs_run)
    budget_epochs = args.steps * args.epochs_per_step + args.fine_tune_epochs
    retraining = TrainingConfig(batch_size=args.batch_size, learning_rate=args.learning_rate,
                                early_stopping_patience=None, seed=seed)  # fmt: skip
    common = {
        "target_sparsity": args.target_sparsity,
        "scope": "global",
        "sparsity_schedule": "polynomial",
        "learning_rate_schedule": "restart",
        "max_iterations": args.steps,
        "epochs_per_iteration": args.epochs_per_step,
        "fine_tune_epochs": args.fine_tune_epochs,
        "layers": {"output": {"max_sparsity": args.output_cap}},
    }
    rows, models = [], {}
    # --model-cache: a pruned model trained before with these settings is reused (its row as recorded).
    order = [criterion if regularizer == "none" else f"{criterion} + {regularizer}" for regularizer in regularizers
             for criterion in (("resource",) if args.qat_only else [name for name in args.criteria.split(",") if name])]
    order += [_variational_label(args, kl_scale) for kl_scale in args.kl_scales]
    for label in order:
        cached = _load_cached_model(args, seed, label)
        if cached is not None:
            rows.append(cached[0])
            models[label] = cached[1:]
            print(f"seed {seed}: {label} reused from {args.model_cache}", flush=True)
    all_kl_scales = args.kl_scales
    args.kl_scales = [scale for scale in args.kl_scales if _variational_label(args, scale) not in models]
    for regularizer in regularizers:
        for criterion in ("resource",) if args.qat_only else [name for name in args.criteria.split(",") if name]:
            label = criterion if regularizer == "none" else f"{criterion} + {regularizer}"
            if label in models:
                continue
            start_model, start_accuracy, start_epochs = starts[regularizer]
            started = time.perf_counter()
            result = prune(start_model, data, PruneSpec(criterion=criterion, **common), training=retraining,
                           progress=False)  # fmt: skip
            epochs = sum(record.epochs_trained for record in result.records)
            rows.append(_row(label, result.model, result.final.test_accuracy, epochs,
                             time.perf_counter() - started, start_accuracy))  # fmt: skip
            models[label] = (result.model, start_epochs + epochs)
            print(f"seed {seed}: {label} {rows[-1]['accuracy']:.4f} {rows[-1]['zeros']:.3f}", flush=True)
    for kl_scale in args.kl_scales:
        from fpgacompress.variational import SparsifySpec, sparsify

        label = _variational_label(args, kl_scale)
        vd_epochs = budget_epochs - args.vd_fine_tune_epochs
        spec = SparsifySpec(epochs=vd_epochs, warmup_epochs=max(1, vd_epochs // 4), learning_rate=args.vd_learning_rate,
                            batch_size=256, kl_scale=kl_scale, fine_tune_epochs=args.vd_fine_tune_epochs,
                            learning_rate_schedule="cosine", target_sparsity=args.vd_target_sparsity)  # fmt: skip
        started = time.perf_counter()
        result = sparsify(pretrained["float"].model, data, spec, training=retraining, progress=False)
        rows.append(_row(label, result.model, result.metrics_final.accuracy, budget_epochs,
                         time.perf_counter() - started, float_accuracy))  # fmt: skip
        models[label] = (result.model, float_epochs + budget_epochs)
        print(f"seed {seed}: {label} {rows[-1]['accuracy']:.4f} {rows[-1]['zeros']:.3f}", flush=True)
    args.kl_scales = all_kl_scales
    for label in order:
        if label in models:
            _save_cached_model(args, seed, label, next(row for row in rows if row["method"] == label), *models[label])
    rows.sort(key=lambda row: order.index(row["method"]))
    started = time.perf_counter()
    result = None if args.qat_only or args.skip_tfmot else prune(pretrained["float"].model, data,
                   PruneSpec(method="tfmot", target_sparsity=args.target_sparsity,
                             layers={"output": {"max_sparsity": args.output_cap}},
                             schedule={"kind": "polynomial", "epochs": budget_epochs}),
                   training=retraining, progress=False)  # fmt: skip
    if result is not None:
        rows.append(_row("TF-MOT polynomial", result.model, result.final.test_accuracy, budget_epochs,
                         time.perf_counter() - started, float_accuracy))  # fmt: skip
        print(f"seed {seed}: TF-MOT {rows[-1]['accuracy']:.4f}", flush=True)
    # hls4ml last among the pruners: it changes Keras global state (custom objects).
    if not (args.skip_hls4ml or args.qat_only):
        started = time.perf_counter()
        l1_model, l1_accuracy, _ = starts["L1"]
        optimized = hls4ml_prune(l1_model, data, args, seed, args.out / f"hls4ml_seed{seed}")
        accuracy = evaluate(optimized, data.x_test, data.y_test, data.class_names).accuracy
        rows.append(_row("hls4ml dsp_aware_pruning (L1)", optimized, accuracy, budget_epochs,
                         time.perf_counter() - started, l1_accuracy))  # fmt: skip
        print(f"seed {seed}: hls4ml {accuracy:.4f} {rows[-1]['zeros']:.3f}", flush=True)

    qat_rows = []
    # QAT and the reference recipe keep the settings they were measured with (Adam 1e-3, batch 512),
    # whatever --learning-rate / --batch-size the pruners retrain with.
    standard = TrainingConfig(batch_size=512, learning_rate=1e-3, early_stopping_patience=None, seed=seed)
    qat = TrainingConfig(batch_size=args.qat_batch_size, learning_rate=args.qat_learning_rate,
                         learning_rate_schedule=args.qat_schedule, epochs=args.qat_epochs,
                         early_stopping_patience=args.qat_patience, seed=seed)  # fmt: skip
    for label in ("resource + Lp",) if args.qat_only else args.qat:
        model, epochs_before = models[label]
        spec = spec_for(model, data, 6, activation_bits=8, input_bits=10, weight_quantile=args.qat_weight_quantile)
        started = time.perf_counter()
        quantized = quantization_aware_training(model, spec, data, qat, progress=False)
        if PruningMask.from_model(model).violations(quantized.model):
            raise SystemExit(f"{label}: pruned weights regrew during QAT")
        report = quantized.report
        qat_rows.append({"method": f"{label} + QAT 6-bit (8-bit ReLU)", "accuracy": quantized.training.metrics.accuracy,
                         "bops": report.total_bops, "effective_zeros": report.sparsity,
                         "epochs": epochs_before + quantized.training.epochs_run,
                         "seconds": round(time.perf_counter() - started),
                         **_estimate(quantized.model)})  # fmt: skip
    if not qat_rows:  # --qat with no row: no quantization table
        return {"seed": seed, "float_accuracy": float_accuracy, "float_epochs": float_epochs, "n_train": len(data.y_train),
                "n_val": len(data.y_val), "n_test": len(data.y_test), "rows": rows, "qat_rows": []}  # fmt: skip
    reference_budget = max(row["epochs"] for row in qat_rows)
    started = time.perf_counter()
    reference_model, reference = tfmot_recipe(data, reference_budget, standard, seed, 8)
    report = quantization_report(reference_model)
    qat_rows.append({"method": "TF-MOT 75% + QKeras 6-bit (reference)", "accuracy": reference.metrics.accuracy,
                     "bops": report.total_bops, "effective_zeros": report.sparsity, "epochs": reference.epochs_run,
                     "seconds": round(time.perf_counter() - started)})  # fmt: skip
    print(f"seed {seed}: QAT done", flush=True)
    return {"seed": seed, "float_accuracy": float_accuracy, "float_epochs": float_epochs, "n_train": len(data.y_train),
            "n_val": len(data.y_val), "n_test": len(data.y_test), "rows": rows, "qat_rows": qat_rows}  # fmt: skip


def _stats(values) -> str:
    import numpy as np

    values = np.asarray(values, dtype=float)
    return f"{values.mean():.4f} ± {(values.max() - values.min()) / 2:.4f}"


def summarize(results: list[dict]) -> list[str]:
    """Markdown tables: mean over seeds, ± half the max-min spread."""
    import numpy as np

    lines = ["| method | zeros (stored) | test accuracy | loss vs float [pt] (mean ± half spread) | LUT | DSP | "
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
    parser.add_argument("--max-train", type=int, default=60000, help="subsample the 144k training jets (0: all)")
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--pretrain-patience", type=int, default=5, help="early stopping of the pretraining")
    parser.add_argument(
        "--start", choices=("penalized", "float"), default="penalized",
        help="ours start from a model pretrained with the penalty, or from the float model with it attached",
    )
    parser.add_argument("--regularizers", default="L1,Lp", help="penalties of ours: L1, Lp, none")
    parser.add_argument("--l1", type=float, default=1e-4)
    parser.add_argument("--lp", type=float, default=1e-3, help="Lp (p = 0.1) strength")
    parser.add_argument("--criteria", default=",".join(CRITERIA))
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="retraining (ours, TF-MOT, VD fine-tune)")
    parser.add_argument("--batch-size", type=int, default=512, help="retraining (ours, TF-MOT, VD fine-tune)")
    parser.add_argument("--output-cap", type=float, default=0.7, help="max zeros of the output layer")
    parser.add_argument("--kl-scales", type=float, nargs="*", default=[], help="variational dropout rows")
    parser.add_argument("--vd-learning-rate", type=float, default=1e-2)
    parser.add_argument("--vd-fine-tune-epochs", type=int, default=10)
    parser.add_argument(
        "--vd-target-sparsity", type=float, help="variational rows: cut log alpha to this sparsity (not threshold 3)"
    )
    parser.add_argument("--skip-tfmot", action="store_true")
    parser.add_argument("--qat", nargs="*", default=["resource + L1", "resource + Lp"], help="rows given 6-bit QAT")
    parser.add_argument("--target-sparsity", type=float, default=0.93)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--epochs-per-step", type=int, default=5)
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=0, help="ours: epochs at the final mask (early stopping)"
    )
    parser.add_argument("--qat-epochs", type=int, default=30)
    parser.add_argument("--qat-learning-rate", type=float, default=1e-3, help="Adam rate of our 6-bit QAT")
    parser.add_argument("--qat-schedule", choices=("constant", "cosine"), default="constant",
                        help="our QAT's learning rate: constant, or half a cosine to zero over --qat-epochs")  # fmt: skip
    parser.add_argument("--qat-batch-size", type=int, default=512)
    parser.add_argument("--qat-weight-quantile", type=float, default=1.0, help="suggest_precision's weight_quantile")
    parser.add_argument("--qat-patience", type=int, default=8, help="early stopping of our QAT (0: none)")
    parser.add_argument("--skip-hls4ml", action="store_true")
    parser.add_argument(
        "--qat-only", action="store_true", help="only resource + Lp, its 6-bit QAT and the reference recipe"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_pruning"))
    parser.add_argument(
        "--float-cache", type=Path, help="keep / reuse each seed's float baseline here (one per setting)"
    )
    parser.add_argument(
        "--model-cache", type=Path,
        help="keep / reuse each pruned model (weights, zeros = mask) here, keyed by row, seed and settings",
    )
    parser.add_argument("--one-seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.qat_patience = args.qat_patience or None
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
