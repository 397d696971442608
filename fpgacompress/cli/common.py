"""Helpers shared by the sub-commands: output directories and printing results."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..output_dir import check_output_dir, staged_output

__all__ = [
    "prepare_output_dir",
    "staged_output",
    "run_directory_options",
    "weights_option",
    "model_and_data_arguments",
    "preprocessing_option",
    "resolve_preprocessing",
    "check_model_inputs",
]


def prepare_output_dir(path: Path, force: bool, *inputs: Path | None) -> Path:
    """Check ``--out`` before any work: nothing is deleted here (see :func:`staged_output`).

    An existing directory needs ``--force``; ``--out`` may not be, hold or contain an input.
    """
    check_output_dir(path, force, inputs)
    return path


def preprocessing_file(choice: str | None) -> Path | None:
    """The file ``--preprocessing`` names, if it names one (an input to protect); checked at once."""
    if choice in (None, "none", "fit"):
        return None
    if not Path(choice).is_file():
        raise ConfigError(
            f"--preprocessing takes none, fit or the path of a preprocessing.json. Received: {choice!r} "
            "(no such file)."
        )
    return Path(choice)


def run_directory_options(default_out: str):
    """``--max-train``, ``--out``, ``--force`` and ``--progress``: shared by the commands that train.
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


PREPROCESSING_HELP = (
    "How the data is scaled before the model sees it: 'fit' (standardize with mean/std of the data's "
    "training split), 'none' (the data is already in the model's input scale) or a preprocessing.json "
    "(mean/std per feature). Default: MODEL's NAME.preprocessing.json when present, else fit."
)


def preprocessing_option(command):
    """``--preprocessing none|FILE|fit``: the input scaling, stated explicitly (applied exactly once)."""
    return click.option("--preprocessing", metavar="none|FILE|fit", help=PREPROCESSING_HELP)(command)


def resolve_preprocessing(choice: str | None, model_path: Path, dataset, data_path: Path | None):
    """The standardization to apply (or ``None``) and one line saying what was assumed.

    Returns:
        ``(standardizer, statement)``; the caller applies ``standardizer`` to the raw data once.
    """
    from ..data import Standardizer
    from ..model_io import standardizer_path

    data_name = str(data_path) if data_path is not None else "the bundled sample"
    sidecar = standardizer_path(model_path)
    if choice is None:
        if sidecar.is_file():
            return Standardizer.load(sidecar), f"inputs standardized with {sidecar} (saved beside the model)"
        choice = "fit"
        assumed = (
            f" (no {sidecar.name} beside the model: the model is assumed to have been trained on inputs "
            "standardized this way; pass --preprocessing none or FILE if not)"
        )
    else:
        assumed = ""
    if choice == "none":
        return None, f"inputs used as given in {data_name} (--preprocessing none)"
    if choice == "fit":
        scaler = Standardizer.fit(dataset.x_train, dataset.feature_names)
        return (
            scaler,
            f"inputs standardized with mean/std fitted on the training split of {data_name}{assumed}",
        )
    path = Path(choice)
    if not path.is_file():
        raise ConfigError(
            f"--preprocessing takes none, fit or the path of a preprocessing.json. Received: {choice!r} "
            "(no such file)."
        )
    return Standardizer.load(path), f"inputs standardized with {path} (--preprocessing)"


def check_model_inputs(model, dataset, data_path: Path | None) -> None:
    """Refuse data whose sample shape differs from the model's inputs, before any work."""
    from ..errors import DataError

    expected = tuple(int(size) for size in model.inputs[0].shape[1:])
    if len(expected) == 1 and len(dataset.input_shape) == 1 and dataset.input_shape != expected:
        raise DataError(
            f"{data_path or 'The bundled jet sample'} has {dataset.n_features} features but the model takes "
            f"{expected[0]} inputs. Pass --data with the model's inputs: an .npz with X (rows x features) "
            "[and y], a .npy array or a .csv table."
        )
    if dataset.input_shape != expected:
        what = {1: "rows of features", 2: "sequences (length, channels)"}.get(
            len(expected), "images (height, width, channels)"
        )
        raise DataError(
            f"{data_path or 'The bundled jet sample'} holds samples of shape {dataset.input_shape} but the model "
            f"takes {what} of shape {expected}. Pass --data with an .npz whose X is (rows, "
            f"{', '.join(map(str, expected))}) [and y], or such a .npy array (channels_last)."
        )


def load_model_and_data(
    model_path: Path,
    weights_path: Path | None,
    data: Path | None,
    preprocessing: str | None,
    *,
    max_train: int | None,
    seed: int,
    split_seed: int | None = None,
    validation_fraction: float = 0.1,
):
    """The model and its data, scaled exactly once as ``--preprocessing`` says (the statement is echoed).

    The data is read first, so a bad data file is refused before the slow model load.

    Returns:
        ``(model, dataset, standardizer)``: ``dataset`` standardized when ``standardizer`` is not ``None``.
    """
    from ..data import load_jets
    from ..model_io import load_model

    dataset = load_jets(
        data, validation_fraction=validation_fraction, seed=seed if split_seed is None else split_seed
    )
    model = load_model(model_path, weights_path)
    standardizer, statement = resolve_preprocessing(preprocessing, model_path, dataset, data)
    click.echo(f"preprocessing: {statement}")
    if standardizer is not None and standardizer.feature_names != dataset.feature_names:
        dataset = dataset.select_features(standardizer.feature_names)
    if max_train is not None:
        dataset = dataset.subsample(max_train=max_train, seed=seed)
    check_model_inputs(model, dataset, data)
    if standardizer is not None:
        dataset, standardizer = dataset.standardized(standardizer)
    return model, dataset, standardizer

