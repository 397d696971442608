"""``fpgacompress sparsify``: sparse variational dropout on a trained model, exported with exact zeros."""

from __future__ import annotations

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
@model_and_data_arguments
@click.option(
    "--threshold", type=float, default=3.0, show_default=True, help="Remove weights with log alpha >= this."
)
@click.option(
    "--target-sparsity",
    type=float,
    default=None,
    help="Instead of --threshold: cut the noisiest log alpha until this fraction of the Dense weights is gone.",
)
@click.option("--epochs", type=int, default=40, show_default=True, help="Epochs of variational training.")
@click.option("--warmup-epochs", type=int, default=10, show_default=True, help="Epochs of KL warm-up.")
@click.option("--learning-rate", type=float, default=1e-2, show_default=True)
@click.option(
    "--kl-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Weight of the KL term after warm-up (1: the variational bound; larger: sparser).",
)
@click.option("--feature-gate", is_flag=True, help="Learn one gate per input feature (feature relevance).")
@click.option(
    "--on-empty-layer",
    type=click.Choice(["refuse", "keep_best_per_output"]),
    default="refuse",
    show_default=True,
    help="When the threshold removes every weight of a layer.",
)
@click.option(
    "--fine-tune-epochs", type=int, default=0, show_default=True, help="Masked retraining of the export."
)
@click.option(
    "--learning-rate-schedule",
    type=click.Choice(["constant", "cosine"]),
    default="constant",
    show_default=True,
    help="cosine: the variational phase decays to 1 %, the fine-tuning restarts and decays.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@preprocessing_option
@run_directory_options("runs/sparsify")
def sparsify(
    model_path,
    data,
    weights_path,
    threshold,
    target_sparsity,
    epochs,
    warmup_epochs,
    learning_rate,
    kl_scale,
    feature_gate,
    on_empty_layer,
    fine_tune_epochs,
    learning_rate_schedule,
    seed,
    preprocessing,
    max_train,
    out,
    force,
    progress,
):
    """Sparsify MODEL's Dense layers by sparse variational dropout; export a plain model with zeros.

    Writes --out/model.h5 (plain Keras, exact zeros, with its standardization), mask.npz,
    variational_model.h5, sparsify.json (per-layer sparsity, log alpha, metrics before and after
    the threshold), log_alpha.png and feature_relevance.png.
    """
    from ..config import DataConfig, TrainingConfig, parse_section
    from ..variational.spec import SparsifySpec

    spec = SparsifySpec(
        epochs=epochs,
        warmup_epochs=warmup_epochs,
        learning_rate=learning_rate,
        kl_scale=kl_scale,
        threshold=threshold,
        target_sparsity=target_sparsity,
        feature_gate=feature_gate,
        on_empty_layer=on_empty_layer,
        fine_tune_epochs=fine_tune_epochs,
        learning_rate_schedule=learning_rate_schedule,
    )
    training = parse_section(TrainingConfig, {"seed": seed}, "options")
    data_config = parse_section(DataConfig, {"path": data, "max_train": max_train, "seed": seed}, "options")
    inputs = (model_path, weights_path, data, preprocessing_file(preprocessing))
    prepare_output_dir(out, force, *inputs)

    from ..variational.pipeline import sparsify as run_sparsify

    model, dataset, standardizer = load_model_and_data(
        model_path, weights_path, data_config.path, preprocessing, max_train=max_train, seed=seed,
        validation_fraction=data_config.validation_fraction,
    )  # fmt: skip

    with staged_output(out, force=force, inputs=inputs) as staging:
        result = run_sparsify(
            model, dataset, spec, training=training, standardizer=standardizer, run_dir=staging, progress=progress
        )
    click.echo(f"threshold log alpha >= {result.threshold:g}: {result.mask.sparsity:.1%} of weights removed")
    for name, layer in result.layers.items():
        fallback = f" ({layer.n_fallback} kept by keep_best_per_output)" if layer.n_fallback else ""
        click.echo(
            f"  {name}: {layer.n_kept} of {layer.n_weights} weights kept, {layer.sparsity:.1%} removed{fallback}"
        )
    removed = [name for name in result.feature_names if name not in result.kept_features]
    click.echo(f"input features removed ({len(removed)}): {', '.join(removed) or '(none)'}")
    click.echo(f"export max |variational - exported| on test: {result.export_max_abs_difference:.2e}")
    click.echo(f"test before:            {result.metrics_before}")
    click.echo(f"test before threshold:  {result.metrics_unthresholded}")
    click.echo(f"test after threshold:   {result.metrics_thresholded}")
    if result.metrics_fine_tuned is not None:
        click.echo(f"test after fine-tuning: {result.metrics_fine_tuned}")
    click.echo(f"run directory: {out}")
