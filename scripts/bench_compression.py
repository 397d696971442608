"""TTQ, low-rank factorization and weight sharing vs QAT / QKeras ternary / binary, side by side in one run.

Usage:
    .venv/bin/python scripts/bench_compression.py [--data ../shared/data/jets_hlf.npz] [--max-train 20000]
        [--seeds 0,1] [--float-epochs 30] [--float-patience 5] [--qat-epochs 15] [--qat-patience 5]
        [--schedule constant|cosine] [--prune-epochs 3] [--rank 8] [--codebook-bits 2] [--csim-jets 1000]
        [--rows qat,qkeras,ttq,ttq-all,sharing,lowrank] [--out runs/bench_compression]

Per seed (own process, one TensorFlow thread): a 16-64-32-32-5 tagger with L1 (1e-4) is trained in
float, and a copy pruned to 90 % (iterative, 40 % of the kept weights per iteration). From each of
the two, fine-tuned for ``--qat-epochs``: QAT with 6- and 4-bit weights, QKeras ternary and binary
(``alpha=1``; binary is refused on the pruned model, it has no zero), trained ternary quantization
with 6-bit fixed-point scales and with power-of-two scales (``ttq``: the hidden layers fc2 and fc3,
first and last layers 6-bit QAT, the default; ``ttq-all``: every Dense layer), and weight sharing (``2**codebook_bits``
centroids on the 6-bit grid). Integer bits per layer come from ``suggest_precision``; ReLUs get
``--activation-bits``, the input ``--input-bits``. Low rank: the float tagger's fc1, fc2, fc3 are
factorized at ``--rank`` and fine-tuned; against it, an unfactorized tagger 16-h-h/2-h/2-5 with the
same number of products, trained from scratch for as many epochs; both then 6-bit QAT, and both
pruned to 90 % before QAT for the pruned column.

Every row reports test accuracy, mean ROC AUC, weight zeros, BOPs (``quantization_report``) and the
estimator's LUT / DSP / latency (``fpgacompress.estimation.estimate`` on the model, serenity-vu13p,
latency strategy, reuse factor 1). For seed 0 the TTQ (with and without pruning, both scale kinds),
factorized and weight-shared firmware is built and C-simulated on ``--csim-jets`` real test jets
(bit-exact logits). ``--rows`` picks row groups (6-bit QAT always runs: it is the reference).
``--schedule cosine`` decays every fine-tune's learning rate to zero over ``--qat-epochs`` (QAT and
TTQ alike); ``--qat-patience 0`` turns early stopping off. Prints a Markdown table (mean over seeds
± spread) and writes ``results.json``.
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
SOURCES = ("dense", "pruned 90%")
ROW_GROUPS = "qat,qkeras,ttq,ttq-all,sharing,lowrank"


def products_of(topology: list[int]) -> int:
    return sum(a * b for a, b in zip(topology, topology[1:], strict=False))


def equal_products_topology(target: int) -> list[int]:
    """16-h-h/2-h/2-5 with the number of products closest to ``target``."""
    candidates = [[16, h, h // 2, h // 2, 5] for h in range(4, 65, 2)]
    return min(candidates, key=lambda topology: abs(products_of(topology) - target))


def _spec(model, data, kind: str, bits: int, args):
    from fpgacompress.quantization import suggest_precision

    return suggest_precision(
        model, data, bits, activation_bits=args.activation_bits, input_bits=args.input_bits, weight_kind=kind
    )


def _measure(label: str, source: str, model, metrics, epochs: int, seconds: float) -> dict:
    from fpgacompress.estimation import estimate
    from fpgacompress.quantization import quantization_report

    report = quantization_report(model)
    resources = estimate(model, "serenity-vu13p")
    return {
        "model": label,
        "source": source,
        "accuracy": metrics.accuracy,
        "auc": metrics.mean_auc,
        "zeros": report.sparsity,
        "bops": report.total_bops,
        "lut": resources.totals.lut,
        "dsp": resources.totals.dsp,
        "latency_cycles": resources.totals.latency_cycles,
        "epochs": epochs,
        "seconds": seconds,
    }


def _csim(model, data, out_dir: Path, n_jets: int) -> dict:
    from fpgacompress.firmware import BuildConfig, build, csim

    config = BuildConfig(board="serenity-vu13p", n_testbench_samples=n_jets)
    project = build(model, None, config, x_test=data.x_test, out_dir=out_dir, force=True)
    result = csim(project, optimization_level=1)
    return {
        "n_samples": result.n_samples,
        "bit_exact": result.bit_exact,
        "mismatches": result.logits_mismatches,
    }


def run_seed(args: argparse.Namespace, seed: int) -> dict:
    """Every row of the table for one seed, in this process (one TensorFlow thread)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from fpgacompress.config import TrainingConfig
    from fpgacompress.data import load_jets
    from fpgacompress.errors import ConfigError
    from fpgacompress.factorization import factorize_and_fine_tune
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning import PruneSpec, prune
    from fpgacompress.quantization import quantization_aware_training
    from fpgacompress.quantization.codebook import weight_sharing
    from fpgacompress.quantization.ttq import trained_ternary_quantization
    from fpgacompress.regularizers import L1
    from fpgacompress.training import train

    data, _ = load_jets(args.data).subsample(max_train=args.max_train, seed=seed).standardized()
    training = TrainingConfig(
        epochs=args.float_epochs, batch_size=args.batch_size, seed=seed, early_stopping_patience=args.float_patience
    )
    qat = training.model_copy(
        update={
            "epochs": args.qat_epochs,
            "early_stopping_patience": args.qat_patience or None,
            "learning_rate_schedule": args.schedule,
        }
    )
    prune_spec = PruneSpec(
        target_sparsity=0.9, fraction_per_iteration=0.4, epochs_per_iteration=args.prune_epochs
    )

    def pruned_copy(model):
        return prune(model, data, prune_spec, training=training, progress=False).model

    started = time.perf_counter()
    float_result = train(
        build_mlp("16-64-32-32-5", regularizer=L1(1e-4), seed=seed), data, training, progress=False
    )
    sources = {"dense": float_result.model, "pruned 90%": pruned_copy(float_result.model)}
    rows = [
        _measure(
            "float (no QAT)",
            "dense",
            float_result.model,
            float_result.metrics,
            0,
            time.perf_counter() - started,
        )
    ]
    exported = {}

    def add(label, source, run):
        started = time.perf_counter()
        try:
            result = run()
        except ConfigError as error:
            rows.append({"model": label, "source": source, "refused": str(error).split(". ")[0]})
            return None
        rows.append(_measure(label, source, result.training.model, result.training.metrics,
                             result.training.epochs_run, time.perf_counter() - started))  # fmt: skip
        print(
            f"seed {seed} {source} {label}: accuracy {rows[-1]['accuracy']:.4f}, LUT {rows[-1]['lut']}",
            flush=True,
        )
        return result

    groups = set(args.rows.split(","))
    for source, model in sources.items():
        for bits in (6, 4) if "qat" in groups else (6,):
            spec = _spec(model, data, "fixed", bits, args)
            add(
                f"QAT {bits}-bit",
                source,
                lambda s=spec, m=model: quantization_aware_training(m, s, data, qat, progress=False),
            )
        for kind in ("ternary", "binary") if "qkeras" in groups else ():
            spec = _spec(model, data, kind, 8, args)
            add(f"QKeras {kind} (alpha=1)", source,
                lambda s=spec, m=model: quantization_aware_training(m, s, data, qat, progress=False))  # fmt: skip
        spec6 = _spec(model, data, "fixed", 6, args)
        variants = [(False, False), (True, False)] if "ttq" in groups else []
        variants += [(False, True), (True, True)] if "ttq-all" in groups else []
        for power_of_two, first_and_last in variants:
            where = "all layers" if first_and_last else "fc2+fc3 (fc1, output 6-bit)"
            label = f"TTQ {where}, {'power-of-two' if power_of_two else '6-bit'} scales"
            result = add(label, source, lambda p=power_of_two, m=model, s=spec6, f=first_and_last: trained_ternary_quantization(
                m, s, data, qat, power_of_two=p, ternary_first_and_last=f, progress=False))  # fmt: skip
            if result is not None and not first_and_last:
                exported[f"{label}, {source}"] = result.exported
        if "sharing" not in groups:
            continue
        result = add(f"weight sharing, {2**args.codebook_bits} centroids (6-bit)", source,
                     lambda m=model, s=spec6: weight_sharing(m, s, data, qat, codebook_bits=args.codebook_bits,
                                                    progress=False))  # fmt: skip
        if result is not None and source == "dense":
            exported[f"weight sharing, {source}"] = result.exported

    if "lowrank" not in groups:
        return {"rows": rows, "csim": _csim_all(args, seed, exported, data), "products": {}, "ranks": {}}
    # low rank vs an unfactorized network of equal products
    started = time.perf_counter()
    factorized = factorize_and_fine_tune(float_result.model, data, training, rank=args.rank,
                                         layers=["fc1", "fc2", "fc3"], progress=False)  # fmt: skip
    topology = equal_products_topology(factorized.products_after)
    narrow = train(build_mlp("-".join(map(str, topology)), regularizer=L1(1e-4), seed=seed), data,
                   training.model_copy(update={"epochs": args.float_epochs + factorized.training.epochs_run}),
                   progress=False)  # fmt: skip
    rows.append(_measure(f"factorized rank {args.rank}, float", "dense", factorized.model,
                         factorized.training.metrics, factorized.training.epochs_run, time.perf_counter() - started))  # fmt: skip
    rows.append(_measure(f"unfactorized {'-'.join(map(str, topology))} (equal products), float", "dense",
                         narrow.model, narrow.metrics, narrow.epochs_run, 0.0))  # fmt: skip
    for name, model in ((f"factorized rank {args.rank}", factorized.model),
                        (f"unfactorized {'-'.join(map(str, topology))}", narrow.model)):  # fmt: skip
        for source in SOURCES:
            base = model if source == "dense" else pruned_copy(model)
            spec = _spec(base, data, "fixed", 6, args)
            result = add(f"{name} + QAT 6-bit", source,
                         lambda s=spec, m=base: quantization_aware_training(m, s, data, qat, progress=False))  # fmt: skip
            if result is not None and name.startswith("factorized") and source == "dense":
                exported[f"factorized rank {args.rank} + QAT 6-bit"] = result.model
    products = {"factorized": factorized.products_after, "unfactorized": products_of(topology),
                "original": factorized.products_before}  # fmt: skip

    return {"rows": rows, "csim": _csim_all(args, seed, exported, data), "products": products,
            "ranks": factorized.ranks}  # fmt: skip


def _csim_all(args, seed: int, exported: dict, data) -> dict:
    """Build and C-simulate the exported models of the first seed."""
    results = {}
    if seed != args.seeds_list[0] or args.csim_jets == 0:
        return results
    for label, model in exported.items():
        directory = args.out / "firmware" / "".join(c if c.isalnum() else "_" for c in label)
        results[label] = _csim(model, data, directory, args.csim_jets)
        print(f"seed {seed} csim {label}: {results[label]}", flush=True)
    return results


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def summarize(per_seed: dict[int, dict]) -> list[str]:
    """Markdown table: mean over seeds and the accuracy spread (max - min)."""
    seeds = sorted(per_seed)
    lines = [
        "| model | weights | test accuracy (mean ± spread) | mean AUC | zeros | BOPs | est. LUT | est. DSP | "
        "est. latency (cycles) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, first in enumerate(per_seed[seeds[0]]["rows"]):
        rows = [per_seed[seed]["rows"][index] for seed in seeds]
        if "refused" in first:
            lines.append(
                f"| {first['model']} | {first['source']} | refused: {first['refused']} | | | | | | |"
            )
            continue
        accuracies = [row["accuracy"] for row in rows]
        lines.append(
            f"| {first['model']} | {first['source']} | {_mean(accuracies):.4f} ± {max(accuracies) - min(accuracies):.4f} | "
            f"{_mean(row['auc'] for row in rows):.4f} | {_mean(row['zeros'] for row in rows):.1%} | "
            f"{_mean(row['bops'] for row in rows):.0f} | {_mean(row['lut'] for row in rows):.0f} | "
            f"{_mean(row['dsp'] for row in rows):.0f} | {_mean(row['latency_cycles'] for row in rows):.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-train", type=int, default=20000)
    parser.add_argument("--seeds", default="0,1", help="comma-separated; each seed runs in its own process")
    parser.add_argument("--float-epochs", type=int, default=30)
    parser.add_argument("--float-patience", type=int, default=5, help="early stopping of the float training")
    parser.add_argument("--qat-epochs", type=int, default=15)
    parser.add_argument("--qat-patience", type=int, default=5, help="0: no early stopping")
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                        help="learning-rate schedule of every fine-tune")  # fmt: skip
    parser.add_argument("--prune-epochs", type=int, default=3, help="retraining epochs per pruning iteration")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--activation-bits", type=int, default=6)
    parser.add_argument("--input-bits", type=int, default=10)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--codebook-bits", type=int, default=2)
    parser.add_argument("--csim-jets", type=int, default=1000, help="0: no C-simulation")
    parser.add_argument(
        "--rows", default=ROW_GROUPS, help="comma-separated row groups (ttq-all: TTQ on every Dense layer)"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_compression"))
    args = parser.parse_args()
    args.seeds_list = [int(seed) for seed in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    with ProcessPoolExecutor(max_workers=len(args.seeds_list), mp_context=context) as pool:
        futures = {seed: pool.submit(run_seed, args, seed) for seed in args.seeds_list}
        per_seed = {seed: future.result() for seed, future in futures.items()}
    wall_seconds = time.perf_counter() - started

    first = per_seed[args.seeds_list[0]]
    print(f"\nrows {args.rows}; seeds {args.seeds_list}, {args.max_train} training jets; float {args.float_epochs} epochs "
          f"(patience {args.float_patience}), QAT {args.qat_epochs} (patience {args.qat_patience}, {args.schedule}); ReLU {args.activation_bits} bits, input "
          f"{args.input_bits} bits; ranks {first['ranks']}; products {first['products']}; "
          f"wall {wall_seconds / 60:.1f} min\n")  # fmt: skip
    print("\n".join(summarize(per_seed)))
    print("\nC-simulation (seed", args.seeds_list[0], "):")
    for label, result in first["csim"].items():
        print(f"- {label}: {result}")
    payload = {"args": {key: str(value) for key, value in vars(args).items()}, "wall_seconds": wall_seconds,
               "seeds": {str(seed): result for seed, result in per_seed.items()}}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
