"""Saving and loading Keras / QKeras models with every custom object fpgacompress defines.

A model file ``NAME.h5`` may carry its input standardization beside it as
``NAME.preprocessing.json``: the firmware must see inputs scaled exactly as in training.

Example:
    >>> save_model(model, "run/model.h5", standardizer=scaler)
    >>> model = load_model("run/model.h5"); scaler = load_standardizer("run/model.h5")
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

from .data import Standardizer
from .errors import ModelError

__all__ = ["save_model", "load_model", "load_standardizer", "standardizer_path", "custom_objects"]

# Modules whose import registers Keras serializables (regularizers, constraints, mask layers).
CUSTOM_OBJECT_MODULES: tuple[str, ...] = (
    "fpgacompress.regularizers",
    "fpgacompress.pruning.mask",
    "fpgacompress.autopruning.layer",
    "fpgacompress.quantization.ttq",  # TTQDense
    "fpgacompress.quantization.codebook",  # CodebookDense
)


def custom_objects() -> dict:
    """Every custom object a saved fpgacompress model may contain (ours and QKeras')."""
    for module in CUSTOM_OBJECT_MODULES:
        importlib.import_module(module)
    import tensorflow as tf
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    # Legacy HDF5 loading looks some objects up by bare class name, not by 'fpgacompress>Name'.
    for key, value in tf.keras.utils.get_custom_objects().items():
        if key.startswith("fpgacompress>"):
            objects[key.split(">", 1)[1]] = value
    return objects


def standardizer_path(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}.preprocessing.json")


def save_model(model, path: str | Path, standardizer: Standardizer | None = None) -> Path:
    """Save ``model`` (HDF5 for ``.h5``, Keras v3 for ``.keras``) and its input standardization."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy", category=UserWarning)
        if path.suffix == ".h5":
            model.save(path, include_optimizer=False)
        else:  # the native Keras format has no include_optimizer option
            model.save(path)
    if standardizer is not None:
        standardizer.save(standardizer_path(path))
    return path


def load_model(path: str | Path):
    """Load a model saved by Keras, QKeras or fpgacompress; a clear error if it is not one."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"Model file not found: {path}.")
    objects = custom_objects()
    import tensorflow as tf  # already imported by custom_objects(); named here for the call below

    try:
        return tf.keras.models.load_model(path, custom_objects=objects, compile=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(
            f"Cannot load {path} as a Keras model (corrupt file, or saved by an incompatible Keras?): {reason}"
        ) from None


def load_standardizer(model_path: str | Path) -> Standardizer | None:
    """The input standardization saved beside ``model_path``, or ``None`` if there is none."""
    path = standardizer_path(model_path)
    return Standardizer.load(path) if path.is_file() else None
