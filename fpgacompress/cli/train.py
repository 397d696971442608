"""``fpgacompress train``: train a (regularized) jet tagger from a recipe and/or options."""

from __future__ import annotations

from pathlib import Path

import click

from .app import app
from .common import prepare_output_dir, run_directory_options, staged_output


@app.command()
@click.argument("recipe", required=False, type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Dataset (.npz/.csv/.arff/.parquet); default: bundled sample.",
)
@click.option("--topology", help="Layer widths, e.g. 16-64-32-32-5.")
@click.option("--regularizer", type=click.Choice(["none", "l1", "lp"]), help="Kernel penalty.")
@click.option("--strength", type=float, help="Regularization strength lambda.")
@click.option("--p", "p", type=float, help="Exponent of the Lp penalty, 0 < p < 1.")
@click.option("--epochs", type=int, help="Maximum number of epochs.")
@click.option("--batch-size", type=int, help="Batch size.")
@click.option("--seed", type=int, help="Random seed (weights, shuffling).")
@run_directory_options("runs/train")
def train(
    recipe,
    data,
    topology,
    regularizer,
    strength,
    p,
    epochs,
    batch_size,
    seed,
    max_train,
    out,
    force,
    progress,
):
    """Train a jet tagger; save model, history, metrics and weight plots in --out.

    Options override the matching keys of RECIPE (or of the defaults when no recipe is given).
    """
    from ..recipe import Recipe, load_recipe, parse_section

    base = load_recipe(recipe) if recipe is not None else Recipe()
    overrides = {
        "data": {"path": data, "max_train": max_train},
        "model": {"topology": topology},
        "regularization": {"kind": regularizer, "strength": strength, "p": p},
        "training": {"epochs": epochs, "batch_size": batch_size, "seed": seed},
    }
    payload = base.model_dump()
    for section, values in overrides.items():
        payload[section].update({key: value for key, value in values.items() if value is not None})
    merged = parse_section(Recipe, payload, "options")

    prepare_output_dir(out, force, recipe, data)
    from ..training import train_recipe

    with staged_output(out, force=force, inputs=[recipe, data]) as staging:
        result = train_recipe(merged, run_dir=staging, progress=progress)
    click.echo(f"test {result.metrics}")
    click.echo(f"run directory: {out}")
