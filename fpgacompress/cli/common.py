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


def model_and_data_arguments(command):
    """The ``MODEL`` argument and the ``--data`` option of the commands that retrain a saved model."""
    command = click.option(
        "--data",
        type=click.Path(path_type=Path),
        help="Dataset (.npz/.csv/.arff/.parquet); default: bundled sample.",
    )(command)
    return click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))(command)
