"""``fpgacompress quantize``: quantization-aware fine-tuning of a float or pruned model with QKeras."""

from __future__ import annotations

from pathlib import Path

import click

from .app import app
from .common import (
    load_model_and_data,
    model_and_data_arguments,
    prepare_output_dir,
    preprocessing_file,
    preprocessing_option,
    run_directory_options,
    staged_output,
)


@app.command()
@model_and_data_arguments(weights_names=("--model-weights",))
@click.option(
    "--spec", "spec_path", type=click.Path(path_type=Path), help="YAML quantization spec (per layer)."
)
@click.option("--bits", type=int, help="Total bits of weights, biases and activations (instead of --spec).")
@click.option(
    "--integer", type=int, default=0, show_default=True, help="Integer bits (sign excluded) with --bits."
)
@click.option(
    "--weights",
    "weight_kind",
    type=click.Choice(["fixed", "ternary", "binary", "ttq"]),
    default="fixed",
    show_default=True,
    help="Weight quantizer with --bits; ttq: trained ternary {+W+, 0, -W-}, scales on the --bits grid.",
)
@click.option(
    "--ttq-threshold",
    type=float,
    default=0.05,
    show_default=True,
    help="ttq: weights below this fraction of the layer's largest are zero.",
)
@click.option("--power-of-two", is_flag=True, help="ttq: round the scales to powers of two (shifts).")
@click.option(
    "--ttq-layers",
    help="ttq: comma-separated Dense layers to make ternary (default: all but the first and the last; "
    "the rest get --bits QAT).",
)
@click.option(
    "--ttq-first-and-last",
    is_flag=True,
    help="ttq: make the first and the last Dense layers ternary too (default: they keep --bits weights).",
)
@click.option(
    "--codebook-bits",
    type=int,
    help="Weight sharing: 2**b k-means centroids per layer, fine-tuned, on the --bits grid.",
)
@click.option(
    "--activation-integer",
    type=int,
    help="Integer bits of the ReLU outputs with --bits (default: 3, capped by the width).",
)
@click.option(
    "--input-bits", type=int, default=16, show_default=True, help="Total bits of the input quantizer."
)
@click.option(
    "--input-integer",
    type=int,
    default=5,
    show_default=True,
    help="Integer bits (sign excluded) of the input.",
)
@click.option(
    "--suggest", is_flag=True, help="Choose integer bits per layer from the data, for a --bits budget."
)
@click.option(
    "--weight-quantile",
    type=float,
    default=1.0,
    show_default=True,
    help="--suggest: the fraction of each kernel's nonzero weights its range must hold (below 1 the few "
    "largest saturate and the rest gain resolution; 0.99 suits pruned models with a few large weights).",
)
@click.option("--epochs", type=int, default=10, show_default=True, help="Fine-tuning epochs.")
@click.option("--batch-size", type=int, default=512, show_default=True, help="Batch size.")
@click.option("--learning-rate", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option(
    "--learning-rate-schedule",
    type=click.Choice(["constant", "cosine"]),
    default="constant",
    show_default=True,
    help="cosine: decay the learning rate to zero over --epochs (settles ternary weights; see --weights ttq).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (shuffling).")
@preprocessing_option
@run_directory_options("runs/quantize")
def quantize(
    model_path,
    data,
    weights_path,
    preprocessing,
    spec_path,
    bits,
    integer,
    weight_kind,
    ttq_threshold,
    power_of_two,
    ttq_layers,
    ttq_first_and_last,
    codebook_bits,
    activation_integer,
    input_bits,
    input_integer,
    suggest,
    weight_quantile,
    epochs,
    batch_size,
    learning_rate,
    learning_rate_schedule,
    seed,
    max_train,
    out,
    force,
    progress,
):
    """Quantize MODEL with QKeras and fine-tune it; pruned weights stay exactly zero.

    Give the precision as a YAML --spec, as --bits/--integer for every layer, or as --bits --suggest
    to pick each layer's integer bits from the observed ranges. The run directory gets the QKeras
    model.h5 (+ input standardization), metrics, the spec, and a per-layer BOPs report.

    --weights ttq trains ternary weights with learned scales (model.h5 is the bit-exact QDense
    export, model_ttq.h5 the trainable model); --codebook-bits b shares each layer's weights in 2**b
    fine-tuned centroids (model.h5 the export, model_codebook.h5 the trainable model).
    """
    from ..config import TrainingConfig, parse_section
    from ..errors import ConfigError
    from ..quantization.spec import QuantizationSpec, load_spec

    if spec_path is not None and (bits is not None or suggest):
        raise ConfigError("Give either --spec FILE or --bits N (with --suggest), not both.")
    if not 0 < weight_quantile <= 1:
        raise ConfigError(f"--weight-quantile must be in (0, 1]; received {weight_quantile}. Try 0.99.")
    if spec_path is None and bits is None:
        raise ConfigError("No precision given: pass --spec FILE, or --bits N (e.g. --bits 6 --integer 0).")
    config = parse_section(
        TrainingConfig,
        {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "learning_rate_schedule": learning_rate_schedule,
            "seed": seed,
        },
        "options",
    )
    if weight_kind == "ttq" and codebook_bits is not None:
        raise ConfigError("Give either --weights ttq or --codebook-bits, not both.")
    method_weight_kind = weight_kind
    if weight_kind == "ttq":
        weight_kind = "fixed"  # the scales live on the fixed-point grid of --bits
        if suggest:
            raise ConfigError(
                "--suggest sizes fixed-point weights; give --bits/--integer with --weights ttq."
            )
    if codebook_bits is not None:
        if weight_kind != "fixed":
            raise ConfigError(
                f"--codebook-bits shares fixed-point weights; received --weights {weight_kind}. Drop --weights."
            )
        if bits is not None:
            from ..quantization.codebook import check_codebook

            check_codebook(2**codebook_bits if codebook_bits >= 0 else 0, bits)
    spec = None
    if spec_path is not None:
        spec = load_spec(spec_path)
    elif not suggest:
        spec = QuantizationSpec.uniform(
            bits,
            integer,
            weight_kind=weight_kind,
            activation_integer=activation_integer,
            input_bits=input_bits,
            input_integer=input_integer,
        )

    inputs = (model_path, weights_path, data, spec_path, preprocessing_file(preprocessing))
    prepare_output_dir(out, force, *inputs)

    model, dataset, standardizer = load_model_and_data(
        model_path, weights_path, data, preprocessing, max_train=max_train, seed=seed, split_seed=0
    )
    from ..quantization.fine_tune import quantization_aware_training
    from ..quantization.suggest import suggest_precision

    if spec is None:
        spec = suggest_precision(
            model, dataset, bits, input_bits=input_bits, weight_kind=weight_kind, weight_quantile=weight_quantile
        )
    if any(
        precision.weight and precision.weight.kind == "binary"
        for precision in spec.resolve(model).layers.values()
    ):
        # Checked by tests/test_quantization_hls4ml.py (both paths) and tests/test_csim_matrix.py.
        click.echo(
            "warning: binary weights are bit-exact through 'fpgacompress build' (it sizes binary layers' "
            "accumulators exactly), not through a plain hls4ml convert: hls4ml 1.3 gives binary Dense layers "
            "its default fixed<16,6>, which wraps; build the firmware with 'fpgacompress build' and check "
            "'fpgacompress csim'",
            err=True,
        )
    with staged_output(out, force=force, inputs=inputs) as staging:
        if method_weight_kind == "ttq":
            from ..quantization.ttq import trained_ternary_quantization

            result = trained_ternary_quantization(
                model, spec, dataset, config, threshold=ttq_threshold, power_of_two=power_of_two,
                layers=[name.strip() for name in ttq_layers.split(",")] if ttq_layers else None,
                ternary_first_and_last=ttq_first_and_last,
                standardizer=standardizer, run_dir=staging, progress=progress,
            )  # fmt: skip
            for name, (positive, negative) in result.scales.items():
                click.echo(f"{name}: W+ = {positive:g}, W- = {negative:g}")
        elif codebook_bits is not None:
            from ..quantization.codebook import weight_sharing

            result = weight_sharing(
                model, spec, dataset, config, codebook_bits=codebook_bits,
                standardizer=standardizer, run_dir=staging, progress=progress,
            )  # fmt: skip
            for name, count in result.distinct_values.items():
                click.echo(f"{name}: {count} distinct nonzero weights")
        else:
            result = quantization_aware_training(
                model, spec, dataset, config, standardizer=standardizer, run_dir=staging, progress=progress
            )
    click.echo(result.report.table())
    click.echo(f"test {result.training.metrics}")
    click.echo(f"run directory: {out}")
