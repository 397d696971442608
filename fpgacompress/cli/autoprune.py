"""``fpgacompress autoprune``: node-prune a trained MLP and export the smaller network."""

from __future__ import annotations

import click

from ..errors import ConfigError
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


def parse_keep(text: str, option: str):
    """``"0.5"`` -> 0.5 (fraction), ``"32"`` -> 32 (count), ``"fc1=32,fc2=0.5"`` -> per-layer mapping."""
    if "=" not in text:
        return _parse_keep_value(text, option)
    keep = {}
    for item in text.split(","):
        name, separator, value = item.partition("=")
        if not separator or not name.strip():
            raise ConfigError(
                f"{option} expects NAME=VALUE pairs joined by ',', like fc1=32,fc2=0.5. Received: {text!r}."
            )
        keep[name.strip()] = _parse_keep_value(value, option)
    return keep


def _parse_keep_value(text: str, option: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ConfigError(
            f"{option} expects a node count (32), a fraction (0.5) or NAME=VALUE pairs. Received: {text!r}."
        ) from None


@app.command()
@model_and_data_arguments
@click.option(
    "--keep",
    default="0.5",
    show_default=True,
    help="Hidden nodes to keep: a fraction (0.5), a count (16), or per layer (fc1=32,fc2=0.5).",
)
@click.option(
    "--keep-features", help="Input features to keep: a count (8) or a fraction (0.5); default: all."
)
@click.option(
    "--soft-epochs", type=int, default=20, show_default=True, help="Epochs of soft-to-hard annealing."
)
@click.option("--hard-epochs", type=int, default=5, show_default=True, help="Epochs with the hard mask.")
@click.option(
    "--retrain",
    type=click.Choice(["none", "fine_tune", "scratch"]),
    default="fine_tune",
    show_default=True,
    help="Retrain the reduced model from its own weights, from scratch, or not at all.",
)
@click.option("--epochs", type=int, default=30, show_default=True, help="Maximum epochs of the retraining.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@preprocessing_option
@run_directory_options("runs/autoprune")
def autoprune(
    model_path,
    data,
    weights_path,
    preprocessing,
    keep,
    keep_features,
    soft_epochs,
    hard_epochs,
    retrain,
    epochs,
    seed,
    max_train,
    out,
    force,
    progress,
):
    """Prune whole nodes (and input features) of MODEL during training; export the reduced MLP.

    Writes --out/model.h5 (the reduced plain Keras model, with the standardization of its kept
    features), masked_model.h5 and autoprune.json (kept nodes, feature order, metrics).
    """
    from ..autopruning.spec import AutoPruneSpec
    from ..config import DataConfig, TrainingConfig, parse_section

    spec = AutoPruneSpec(
        keep=parse_keep(keep, "--keep"),
        keep_features=None if keep_features is None else parse_keep(keep_features, "--keep-features"),
        soft_epochs=soft_epochs,
        hard_epochs=hard_epochs,
        retrain=retrain,
    )
    training = parse_section(TrainingConfig, {"epochs": epochs, "seed": seed}, "options")
    data_config = parse_section(DataConfig, {"path": data, "max_train": max_train, "seed": seed}, "options")
    inputs = (model_path, weights_path, data, preprocessing_file(preprocessing))
    prepare_output_dir(out, force, *inputs)

    from ..autopruning.pipeline import autoprune as run_autoprune

    model, dataset, standardizer = load_model_and_data(
        model_path, weights_path, data_config.path, preprocessing, max_train=max_train, seed=seed,
        validation_fraction=data_config.validation_fraction,
    )  # fmt: skip

    with staged_output(out, force=force, inputs=inputs) as staging:
        result = run_autoprune(
            model,
            dataset,
            spec,
            training=training,
            standardizer=standardizer,
            run_dir=staging,
            progress=progress,
        )
    click.echo(f"reduced topology: {result.topology}")
    for name, nodes in result.kept_nodes.items():
        layer = model.get_layer(name)
        if hasattr(layer, "filters"):  # a convolution: AutoPruner keeps filters (output channels)
            click.echo(f"  {name}: {len(nodes)} of {layer.filters} filters kept")
        else:
            click.echo(f"  {name}: {len(nodes)} of {layer.units} nodes kept")
    click.echo(
        f"input features ({len(result.kept_features)}, in input order): {', '.join(result.kept_features)}"
    )
    click.echo(f"export max |masked - reduced| on test: {result.export_max_abs_difference:.2e}")
    click.echo(f"test before:  {result.metrics_before}")
    click.echo(f"test masked:  {result.metrics_masked}")
    if result.metrics_retrained is not None:
        click.echo(f"test retrained ({spec.retrain}): {result.metrics_retrained}")
    click.echo(f"run directory: {out}")
