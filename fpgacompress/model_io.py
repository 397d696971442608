"""Saving and loading Keras / QKeras models with every custom object fpgacompress defines.

Model files arrive from other people, so loading is safe by construction: the model's
configuration is read as plain data first (JSON from the ``.h5`` attributes, the ``.keras`` zip
or the ``.json`` file) and refused if any layer carries Python code (a ``Lambda`` layer's
bytecode, a function reference); only then does Keras deserialize it, in its safe mode.

Accepted formats: a whole-model ``.h5`` / ``.hdf5`` (Keras 2), a Keras-2 ``.keras`` file, and a JSON
architecture with its weights ``.h5`` (``MODEL.json --weights W.h5``, or the sibling
``MODEL.h5`` / ``MODEL_weights.h5`` found automatically), as hls4ml's example models ship.

A model file ``NAME.h5`` may carry its input standardization beside it as
``NAME.preprocessing.json``: the firmware must see inputs scaled exactly as in training.
"""

from __future__ import annotations

import importlib
import json
import re
import warnings
import zipfile
from pathlib import Path

from .data import Standardizer
from .errors import ModelError

__all__ = [
    "save_model",
    "load_model",
    "load_standardizer",
    "standardizer_path",
    "custom_objects",
    "read_model_config",
    "check_model_config_is_safe",
    "find_weights_file",
]

# Modules whose import registers Keras serializables (regularizers, constraints, mask layers).
CUSTOM_OBJECT_MODULES: tuple[str, ...] = (
    "fpgacompress.regularizers",
    "fpgacompress.pruning.mask",
    "fpgacompress.autopruning.layer",
    "fpgacompress.variational.layer",
    "fpgacompress.quantization.ttq",  # TTQDense
    "fpgacompress.quantization.codebook",  # CodebookDense
)
H5_SUFFIXES = (".h5", ".hdf5")
MAX_CONFIG_BYTES = 50_000_000  # an MLP's architecture is a few kB; refuse absurd JSON before parsing it
# Config keys under which Keras stores Python code (Lambda: function / output_shape / mask).
_CODE_KEYS = ("function", "output_shape", "mask")
_CODE_TYPE_KEYS = ("function_type", "output_shape_type", "mask_type")
_QUANTIZER_STRING = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\(.*\))?\s*$", re.DOTALL)


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
    objects["QActivation"] = _qactivation_loader()
    return objects


def _qactivation_loader():
    """``QActivation`` as Keras 2.14's native format (``.keras``, ``to_json``) writes it, made loadable.

    That format stores the quantizer as a nested ``{"class_name": "quantized_bits", "config": {...}}``,
    which QKeras 0.9 keeps as a dict and then fails to call. The dict is turned into the quantizer
    object by QKeras' own lookup of its quantizer classes (the class name was checked against the
    known quantizers by :func:`check_model_config_is_safe`); the layer built is a plain ``QActivation``.
    """
    from qkeras import QActivation
    from qkeras.quantizers import get_quantizer

    class QActivationLoader(QActivation):
        @classmethod
        def from_config(cls, config):
            activation = config.get("activation")
            if isinstance(activation, dict):
                config = {**config, "activation": get_quantizer(activation)}
            return QActivation(**config)

    return QActivationLoader


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


def _parse_json(text: str | bytes, source: str) -> dict:
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelError(
            f"The model configuration in {source} is {len(text):,} bytes, far more than any MLP's "
            f"(limit {MAX_CONFIG_BYTES:,}); it is not a model fpgacompress can build."
        )
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"The model configuration in {source} is not valid JSON: {error}.") from None
    if not isinstance(payload, dict) or "class_name" not in payload:
        raise ModelError(
            f"{source} does not hold a Keras model architecture (expected a JSON object with "
            "'class_name' and 'config', as written by model.to_json())."
        )
    return payload


def _keras3_message(path: Path, version: str) -> str:
    return (
        f"{path} was saved by Keras {version}; Keras 3 files are not supported (hls4ml 1.3 and QKeras need "
        "Keras 2 / TensorFlow 2.14). Re-save the model from Keras 2 (tf_keras) as .h5, or export "
        "model.to_json() and model.save_weights('W.h5') and pass MODEL.json --weights W.h5."
    )


def read_model_config(path: str | Path) -> dict:
    """The model architecture stored in ``path`` as plain JSON data; nothing in it is executed.

    Raises:
        ModelError: not a Keras model file (a weights-only ``.h5``, a Keras-3 ``.keras`` file, a
            file of another kind), with what to do instead.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _parse_json(path.read_bytes(), str(path))
    if suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise ModelError(
                f"{path} is not a .keras file (not a zip archive). Pass a Keras .h5 or .keras model."
            )
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "metadata.json" in names:
                with archive.open("metadata.json") as handle:
                    version = str(json.loads(handle.read(1_000_000) or b"{}").get("keras_version", ""))
                if version.startswith("3"):
                    raise ModelError(_keras3_message(path, version))
            if "config.json" not in names:
                raise ModelError(
                    f"{path} holds no config.json: it is not a model saved by Keras' model.save()."
                )
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                return _parse_json(b" " * (MAX_CONFIG_BYTES + 1), str(path))
            with archive.open("config.json") as handle:
                return _parse_json(handle.read(), str(path))
    if suffix in H5_SUFFIXES:
        import h5py

        try:
            with h5py.File(path, "r") as handle:
                config = handle.attrs.get("model_config")
                version = handle.attrs.get("keras_version")
                is_weights_file = (
                    "layer_names" in handle.attrs
                    or "layers" in handle
                    or "_layer_checkpoint_dependencies" in handle
                )
        except OSError as error:
            raise ModelError(
                f"Cannot load {path} as a Keras model: not a readable HDF5 file ({str(error).splitlines()[0]})."
            ) from None
        if isinstance(version, bytes):
            version = version.decode()
        if version is not None and str(version).startswith("3"):
            raise ModelError(_keras3_message(path, str(version)))
        if config is None:
            if is_weights_file:
                raise ModelError(
                    f"{path} holds only weights (saved with save_weights), no architecture. Pass the architecture "
                    f"JSON with it: fpgacompress ... MODEL.json --weights {path.name}, or save the whole model "
                    "with model.save('model.h5')."
                )
            raise ModelError(f"{path} is an HDF5 file but not a Keras model (no model_config attribute).")
        return _parse_json(config.encode() if isinstance(config, str) else bytes(config), str(path))
    raise ModelError(
        f"Unsupported model file type '{path.suffix}' for {path}. Expected a Keras .h5 / .keras model, or a "
        "JSON architecture (.json) with its weights .h5."
    )


def _layers(config: dict):
    """Every layer config in a (possibly nested) model config, with its name."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node and isinstance(node.get("config"), dict):
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _known_quantizers() -> set[str]:
    objects = custom_objects()
    import tensorflow as tf

    names = {name for name in objects}
    names.update(name for name in dir(tf.keras.activations) if not name.startswith("_"))
    return names


def check_model_config_is_safe(config: dict, source: str) -> None:
    """Refuse a model whose configuration would run Python code when deserialized.

    A ``Lambda`` layer stores its function as Python bytecode (run on load), and a QKeras quantizer
    given as a string is evaluated by name; both are checked here on the plain JSON, before Keras
    sees it.

    Raises:
        ModelError: naming the first offending layer and what to use instead.
    """
    known = None
    for node in _layers(config):
        class_name = str(node.get("class_name"))
        layer_config = node["config"]
        name = layer_config.get("name", "?")
        carries_code = any(
            str(layer_config.get(key)) in {"lambda", "function"} for key in _CODE_TYPE_KEYS
        ) or (
            class_name.endswith("Lambda")
            and class_name != "TFOpLambda"
            and any(k in layer_config for k in _CODE_KEYS)
        )
        if carries_code:
            raise ModelError(
                f"{source}: layer '{name}' ({class_name}) stores Python code, which fpgacompress never runs from a "
                "model file (and hls4ml cannot build). Replace it with standard layers (Dense, Activation, "
                "BatchNormalization, ...) or do the computation outside the model, then re-save it."
            )
        if class_name.startswith("Q"):
            for key, value in layer_config.items():
                if not (key.endswith("quantizer") or key == "activation"):
                    continue
                if isinstance(value, dict):  # Keras 2.14's native format: {"class_name": ..., "config": ...}
                    value = str(value.get("class_name"))
                if not isinstance(value, str):
                    continue
                match = _QUANTIZER_STRING.match(value)
                known = known if known is not None else _known_quantizers()
                if match is None or match.group(1) not in known:
                    shown = value if len(value) <= 60 else value[:57] + "..."
                    raise ModelError(
                        f"{source}: layer '{name}' ({class_name}) has {key}={shown!r}, which is not a QKeras "
                        "quantizer or Keras activation (like quantized_bits(6,0,alpha=1) or quantized_relu(6))."
                    )


def find_weights_file(json_path: str | Path) -> Path | None:
    """The weights ``.h5`` saved beside a JSON architecture (``NAME.h5`` or ``NAME_weights.h5``), if any."""
    json_path = Path(json_path)
    for candidate in (
        json_path.with_suffix(".h5"),
        json_path.with_name(f"{json_path.stem}_weights.h5"),
        json_path.with_suffix(".weights.h5"),
        json_path.with_suffix(".hdf5"),
    ):
        if candidate.is_file():
            return candidate
    return None


def load_model(path: str | Path, weights: str | Path | None = None):
    """Load a Keras / QKeras model without running any code stored in the file.

    Args:
        path: a whole-model ``.h5`` / ``.keras`` (Keras 2), or a ``.json`` architecture.
        weights: the weights ``.h5`` of a ``.json`` architecture; ``None`` looks for ``NAME.h5`` or
            ``NAME_weights.h5`` beside it.

    Raises:
        ModelError: missing or unreadable file, a layer that carries Python code (``Lambda``), a
            weights-only or Keras-3 file, or weights that do not fit the architecture.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"Model file not found: {path}.")
    if path.is_dir():
        raise ModelError(
            f"{path} is a directory (a TensorFlow SavedModel?); fpgacompress reads Keras .h5 / .keras files "
            "or MODEL.json with its weights .h5. Re-save with model.save('model.h5')."
        )
    is_json = path.suffix.lower() == ".json"
    if weights is not None and not is_json:
        raise ModelError(
            f"--weights goes with a JSON architecture (MODEL.json --weights W.h5); {path} already holds its weights."
        )
    config = read_model_config(path)
    check_model_config_is_safe(config, str(path))
    if is_json:
        weights = Path(weights) if weights is not None else find_weights_file(path)
        if weights is None:
            raise ModelError(
                f"No weights for the architecture {path}: pass --weights W.h5 (or put {path.stem}.h5 / "
                f"{path.stem}_weights.h5 beside it)."
            )
        if not Path(weights).is_file():
            raise ModelError(f"Weights file not found: {weights}.")
    objects = custom_objects()
    import tensorflow as tf  # already imported by custom_objects(); named here for the calls below
    from keras.src.saving.serialization_lib import SafeModeScope

    try:
        with SafeModeScope(True), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not is_json:
                return tf.keras.models.load_model(path, custom_objects=objects, compile=False, safe_mode=True)
            model = tf.keras.models.model_from_json(json.dumps(config), custom_objects=objects)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if len(reason) > 300:
            reason = reason[:297] + "..."
        raise ModelError(
            f"Cannot load {path} as a Keras 2 model (saved by another Keras, or the file is damaged): {reason}"
        ) from None
    _load_weights(model, Path(weights), path)
    return model


def _load_weights(model, weights: Path, architecture: Path) -> None:
    import h5py

    try:
        with h5py.File(weights, "r") as handle:
            if "model_config" in handle.attrs and "model_weights" not in handle:
                raise ModelError(
                    f"{weights} holds no weights. Pass the weights .h5 saved with save_weights()."
                )
    except OSError as error:
        raise ModelError(
            f"Cannot read {weights} as an HDF5 weights file: {str(error).splitlines()[0]}."
        ) from None
    try:
        model.load_weights(weights)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if len(reason) > 300:
            reason = reason[:297] + "..."
        raise ModelError(
            f"The weights in {weights} do not fit the architecture {architecture}: {reason}"
        ) from None


def load_standardizer(model_path: str | Path) -> Standardizer | None:
    """The input standardization saved beside ``model_path``, or ``None`` if there is none."""
    path = standardizer_path(model_path)
    return Standardizer.load(path) if path.is_file() else None
