"""``fpgacompress prune``: prune a trained model (iterative pruning by a criterion, TF-MOT, or to a resource budget)."""

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


def _parse_caps(pairs: tuple[str, ...]) -> dict[str, dict]:
    """``("output=0.6", ...)`` -> ``{"output": {"max_sparsity": 0.6}}``."""
    layers = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        try:
            layers[name.strip()] = {"max_sparsity": float(value)}
        except ValueError:
            separator = ""
        if not separator or not name.strip():
            raise ConfigError(
                f"--max-layer-sparsity takes LAYER=FRACTION, like output=0.6. Received: {pair!r}."
            )
    return layers


@app.command()
@model_and_data_arguments
@click.option("--method", type=click.Choice(["iterative", "tfmot"]), default="iterative", show_default=True)
@click.option(
    "--target-sparsity",
    type=float,
    default=0.9,
    show_default=True,
    help="Fraction of weights at zero, in [0, 1).",
)
@click.option(
    "--scope",
    type=click.Choice(["layer", "global"]),
    default="layer",
    show_default=True,
    help="iterative: cut each layer by its fraction, or all layers under one magnitude threshold.",
)
@click.option(
    "--fraction-per-iteration",
    type=float,
    default=0.3,
    show_default=True,
    help="iterative: fraction of the remaining weights cut per iteration.",
)
@click.option(
    "--criterion",
    type=click.Choice(["magnitude", "obd", "resource"]),
    default="magnitude",
    show_default=True,
    help="iterative: rank weights by |w|, by OBD saliency (1/2 H_ii w^2), or by saliency per estimated LUT.",
)
@click.option(
    "--sparsity-schedule",
    type=click.Choice(["fraction", "polynomial"]),
    default="fraction",
    show_default=True,
    help="iterative: a fixed fraction per iteration, or Zhu & Gupta's cubic ramp over --max-iterations.",
)
@click.option(
    "--learning-rate-schedule",
    type=click.Choice(["constant", "restart"]),
    default="constant",
    show_default=True,
    help="iterative: 'restart' rewinds the learning rate at every step and cosine-decays it.",
)
@click.option("--board", help="Board --budget is measured against, e.g. serenity-vu13p.")
@click.option(
    "--budget",
    metavar="LIMITS",
    help='Prune until the estimated design fits, e.g. "lut<=2%,dsp<=0" (needs --board).',
)
@click.option(
    "--reuse-factor",
    type=int,
    default=1,
    show_default=True,
    help="Reuse factor the firmware will use; above 1, weights sharing a multiplier are cut together.",
)
@click.option(
    "--multiplier-binding", type=click.Choice(["auto", "dsp", "fabric"]), default="auto", show_default=True
)
@click.option(
    "--precision",
    default="ap_fixed<16,6>",
    show_default=True,
    help="Type of float layers for the cost estimate (QKeras layers carry their own).",
)
@click.option(
    "--fine-tune-epochs",
    type=int,
    default=0,
    show_default=True,
    help="iterative: epochs at the final mask after the last cut (early stopping).",
)
@click.option("--max-iterations", type=int, default=10, show_default=True)
@click.option("--epochs-per-iteration", type=int, default=10, show_default=True)
@click.option(
    "--schedule",
    type=click.Choice(["constant", "polynomial"]),
    default="polynomial",
    show_default=True,
    help="tfmot: sparsity schedule.",
)
@click.option("--epochs", type=int, default=30, show_default=True, help="tfmot: epochs under the schedule.")
@click.option("--exclude", multiple=True, metavar="LAYER", help="Layer to leave unpruned (repeatable).")
@click.option(
    "--max-layer-sparsity",
    multiple=True,
    metavar="LAYER=FRACTION",
    help="Cap one layer's sparsity, e.g. output=0.6 (repeatable).",
)
@click.option(
    "--max-accuracy-drop",
    type=float,
    help="Accuracy budget: validation accuracy may drop this much (0.005 = 0.5 pt).",
)
@click.option(
    "--relative-budget", is_flag=True, help="Read --max-accuracy-drop as a fraction of the baseline accuracy."
)
@click.option("--batch-size", type=int, default=512, show_default=True)
@click.option("--learning-rate", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@preprocessing_option
@run_directory_options("runs/prune")
def prune(
    model_path,
    data,
    weights_path,
    preprocessing,
    method,
    target_sparsity,
    scope,
    fraction_per_iteration,
    criterion,
    sparsity_schedule,
    learning_rate_schedule,
    board,
    budget,
    reuse_factor,
    multiplier_binding,
    precision,
    fine_tune_epochs,
    max_iterations,
    epochs_per_iteration,
    schedule,
    epochs,
    exclude,
    max_layer_sparsity,
    max_accuracy_drop,
    relative_budget,
    batch_size,
    learning_rate,
    seed,
    max_train,
    out,
    force,
    progress,
):
    """Prune MODEL; write the pruned model, mask.npz, records.json and plots into --out.

    With --budget, prune until the estimated design fits --board; when it cannot within the accuracy
    budget it says so in one line (exit code 2) and leaves no --out directory behind.

    The input standardization saved beside MODEL is reused (and saved beside the pruned model).
    """
    from ..config import TrainingConfig, parse_section
    from ..pruning.spec import PruneSpec

    payload = {
        "method": method,
        "target_sparsity": target_sparsity,
        "scope": scope,
        "fraction_per_iteration": fraction_per_iteration,
        "max_iterations": max_iterations,
        "epochs_per_iteration": epochs_per_iteration,
        "schedule": {"kind": schedule, "epochs": epochs},
        "exclude": list(exclude),
        "layers": _parse_caps(max_layer_sparsity),
        "criterion": criterion,
        "fine_tune_epochs": fine_tune_epochs,
        "sparsity_schedule": sparsity_schedule,
        "learning_rate_schedule": learning_rate_schedule,
        "hardware": {
            "board": board,
            "reuse_factor": reuse_factor,
            "multiplier_binding": multiplier_binding,
            "default_precision": precision,
        },
        "resource_budget": budget,
    }
    if max_accuracy_drop is not None:
        payload["accuracy_budget"] = {
            "max_drop": max_accuracy_drop,
            "kind": "relative" if relative_budget else "absolute",
        }
    elif relative_budget:
        raise ConfigError(
            "--relative-budget needs --max-accuracy-drop, e.g. --max-accuracy-drop 0.01 --relative-budget."
        )
    spec = parse_section(PruneSpec, payload, "options")
    training = parse_section(
        TrainingConfig, {"batch_size": batch_size, "learning_rate": learning_rate, "seed": seed}, "options"
    )


    inputs = (model_path, weights_path, data, preprocessing_file(preprocessing))
    prepare_output_dir(out, force, *inputs)
    model, dataset, standardizer = load_model_and_data(
        model_path, weights_path, data, preprocessing, max_train=max_train, seed=seed
    )

    from ..pruning.api import prune as run_pruning

    with staged_output(out, force=force, inputs=inputs) as staging:
        result = run_pruning(
            model,
            dataset,
            spec,
            training=training,
            standardizer=standardizer,
            run_dir=staging,
            progress=progress,
        )
    for record in result.records:
        click.echo(str(record))
    click.echo(f"stopped: {result.stop_reason}")
    click.echo(
        f"returned iteration {result.final.iteration}: {result.mask.sparsity:.1%} zeros, test accuracy "
        f"{result.final.test_accuracy:.4f} ({100 * result.accuracy_drop:.2f} pt lost vs baseline "
        f"{result.baseline.test_accuracy:.4f})"
    )
    click.echo(f"run directory: {out}")
