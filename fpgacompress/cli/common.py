"""Helpers shared by the sub-commands: output directories and printing results."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..errors import ConfigError


def prepare_output_dir(path: Path, force: bool) -> Path:
    """Refuse to overwrite an existing directory unless ``--force`` was given."""
    if path.exists():
        if not force:
            raise ConfigError(
                f"Output directory {path} already exists. Choose another --out or pass --force."
            )
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return path


def run_directory_options(default_out: str):
    """``--max-train``, ``--out``, ``--force`` and ``--progress``: shared by the commands that train.

    Example:
        >>> @app.command()
        ... @run_directory_options("runs/prune")
        ... def prune(max_train, out, force, progress, ...): ...
    """
    options = [
        click.option("--max-train", type=int, help="Use at most this many training jets."),
        click.option(
            "--out",
            type=click.Path(path_type=Path),
            default=Path(default_out),
            show_default=True,
            help="Run directory to create.",
        ),
        click.option("--force", is_flag=True, help="Replace --out if it exists."),
        click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress bars."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def weights_option(*names: str):
    """``--weights W.h5``: the weights of a ``MODEL.json`` architecture (hls4ml's example-model layout).

    ``quantize`` already uses ``--weights`` for the weight quantizer, so it takes ``--model-weights``;
    every command accepts that spelling.
    """
    return click.option(
        *(names or ("--weights", "--model-weights")),
        "weights_path",
        type=click.Path(path_type=Path),
        help="Weights .h5 of a MODEL.json architecture (default: MODEL.h5 or MODEL_weights.h5 beside it).",
    )


def model_and_data_arguments(command=None, *, weights_names: tuple[str, ...] = ()):
    """The ``MODEL`` argument, ``--weights`` and ``--data`` of the commands that retrain a saved model."""
    if command is None:
        return lambda command: model_and_data_arguments(command, weights_names=weights_names)
    command = weights_option(*weights_names)(command)
    command = click.option(
        "--data",
        type=click.Path(path_type=Path),
        help="Dataset (.npz/.csv/.arff/.parquet); default: bundled sample.",
    )(command)
    return click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))(command)
