"""``fpgacompress factorize``: low-rank (SVD) factorization of a float model's Dense layers, fine-tuned."""

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
@click.option("--rank", type=int, help="Rank r of every factorized layer: Dense(n->r) + Dense(r->m).")
@click.option(
    "--energy", type=float, help="Keep this fraction of each layer's singular-value energy, in (0, 1)."
)
@click.option("--max-products", type=int, help="Largest rank with r*(n+m) <= this many products per layer.")
@click.option("--layers", help="Comma-separated Dense layers to factorize (default: all it makes cheaper).")
@click.option("--epochs", type=int, default=10, show_default=True, help="Fine-tuning epochs.")
@click.option("--batch-size", type=int, default=512, show_default=True, help="Batch size.")
@click.option("--learning-rate", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (shuffling).")
@preprocessing_option
@run_directory_options("runs/factorize")
def factorize(
    model_path,
    data,
    weights_path,
    rank,
    energy,
    max_products,
    layers,
    epochs,
    batch_size,
    learning_rate,
    seed,
    preprocessing,
    max_train,
    out,
    force,
    progress,
):
    """Replace MODEL's Dense(n->m) layers by Dense(n->r, linear) + Dense(r->m) and fine-tune.

    Give the rank as --rank R, as retained singular-value energy --energy E, or as a products budget
    --max-products P per layer. The run directory has the layout of 'train' (model.h5 + input
    standardization, metrics, history, plots) plus factorization.json (ranks, energy, products);
    quantize, build and csim then take model.h5 like any other model.
    """
    from ..config import TrainingConfig, parse_section
    from ..errors import ConfigError

    if sum(value is not None for value in (rank, energy, max_products)) != 1:
        raise ConfigError("Give exactly one of --rank R, --energy E or --max-products P.")
    config = parse_section(
        TrainingConfig,
        {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed},
        "options",
    )
    names = [name.strip() for name in layers.split(",") if name.strip()] if layers else None
    from ..factorization.lowrank import factorize as factorize_model
    from ..factorization.lowrank import factorize_and_fine_tune

    inputs = (model_path, weights_path, data, preprocessing_file(preprocessing))
    prepare_output_dir(out, force, *inputs)
    model, dataset, standardizer = load_model_and_data(
        model_path, weights_path, data, preprocessing, max_train=max_train, seed=seed
    )
    # refuse a bad rank before any training or output
    factorize_model(model, rank=rank, energy=energy, max_products=max_products, layers=names)
    with staged_output(out, force=force, inputs=inputs) as staging:
        result = factorize_and_fine_tune(
            model,
            dataset,
            config,
            rank=rank,
            energy=energy,
            max_products=max_products,
            layers=names,
            standardizer=standardizer,
            run_dir=staging,
            progress=progress,
        )
    for name, chosen in result.ranks.items():
        click.echo(f"{name}: rank {chosen} (energy kept {result.retained_energy[name]:.1%})")
    click.echo(f"products: {result.products_before} -> {result.products_after}")
    click.echo(f"test {result.training.metrics}")
    click.echo(f"run directory: {out}")
