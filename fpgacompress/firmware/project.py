"""``build()``: a Keras / QKeras model becomes a complete hls4ml project for a board, or nothing.

Order of work: every refusal first (board, model layers and quantizers, reuse factor, LHC timing),
then the project is written into a hidden temporary directory next to ``out_dir`` and renamed into
place only when complete. A failed build leaves no directory behind, and an existing ``out_dir`` is
kept unless ``force=True``.

The project holds hls4ml's files (firmware, ``build_prj.tcl``, its own testbench and ``tb_data``),
our bit-exact testbench ``fpgacompress_csim.cpp`` with the Keras reference of every layer, our
``synth.tcl`` and ``README.md`` (from ``hls_templates/``), and ``manifest.json`` (versions, board,
settings).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import platform
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from string import Template

import numpy as np

from ..boards import Board, load_board
from ..errors import BuildError, ConfigError, FpgacompressError
from ..output_dir import STAGING_MARK, check_output_dir, describe_os_error, output_lock, replace_directory
from ..paths import HLS_TEMPLATES_DIR
from .checks import (
    check_initiation_interval,
    check_reuse_factor,
    check_supported_model,
    estimated_initiation_interval,
)
from .convolution_checks import check_convolution_reuse_factor, check_testbench_inputs
from .hls_config import hls4ml_config, input_quantizer_layer, prepare_for_hls4ml
from .settings import BuildConfig
from .testbench import compute_reference, save_reference, write_csim_testbench

__all__ = ["HlsProject", "build", "load_project", "MANIFEST_FILE", "BUILD_LOG", "SAVED_MODEL_FILE"]

MANIFEST_FILE = "manifest.json"
SAVED_MODEL_FILE = "model.h5"
"""The model the project was built from, saved with fpgacompress so ``load_model`` reloads it."""
BUILD_LOG = "build.log"
PTQ_MODEL_FILE = "ptq_model.h5"
_VERSIONED_PACKAGES = ("fpgacompress", "hls4ml", "tensorflow", "qkeras", "numpy")


@dataclass(frozen=True)
class HlsProject:
    """An HLS project on disk, as :func:`build` wrote it.

    Attributes:
        path: the project directory.
        board: the board it targets.
        settings: the build settings.
        manifest: the parsed ``manifest.json`` (versions, effective clock, layer precisions...).
    """

    path: Path
    board: Board
    settings: BuildConfig
    manifest: dict

    @property
    def project_name(self) -> str:
        return self.settings.project_name

    @property
    def clock_mhz(self) -> float:
        return float(self.manifest["timing"]["clock_mhz"])


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _layer_table(hls_model) -> list[dict]:
    table = []
    for layer in hls_model.get_layers():
        entry = {"name": layer.name, "class": layer.class_name}
        for variable in layer.get_variables():
            entry["result"] = str(variable.type.precision.definition_cpp())
        for weight_name, weight in layer.weights.items():
            entry[weight_name] = str(weight.type.precision.definition_cpp())
        reuse_factor = layer.get_attr("reuse_factor")
        if reuse_factor is not None and layer.class_name in ("Dense", "Conv1D", "Conv2D"):
            entry["reuse_factor"] = int(reuse_factor)
        table.append(entry)
    return table


def _write_templates(directory: Path, values: dict) -> None:
    for name in ("synth.tcl", "README.md"):
        text = Template((HLS_TEMPLATES_DIR / name).read_text()).substitute(values)
        (directory / name).write_text(text)


def build(
    model,
    board: str | Path | Board | None = None,
    config: BuildConfig | None = None,
    *,
    x_test: np.ndarray,
    out_dir: str | Path,
    standardizer=None,
    preprocessing: str | None = None,
    force: bool = False,
    inputs: Sequence[str | Path | None] = (),
    ptq: bool = False,
    x_calibration: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> HlsProject:
    """Write a complete hls4ml project for ``model`` on ``board``, with a bit-exact testbench.

    Args:
        model: a Keras or QKeras MLP or CNN (``fpgacompress layers`` lists the layers), channels_last.
        board: board name or file; ``None`` uses ``config.board``. Given, it overrides ``config.board``.
        config: build settings; ``None`` means ``BuildConfig()``.
        x_test: real samples for the testbench, ``(n, *input shape)`` (a CNN's images or sequences,
            channels_last), raw when ``standardizer`` is given, else standardized; the first
            ``config.n_testbench_samples`` are used.
        out_dir: project directory to create.
        standardizer: the model's input standardization (``Standardizer``), applied to ``x_test`` exactly
            once; ``None`` when ``x_test`` is already in the model's input scale.
        preprocessing: one line saying where the scaling came from, recorded in ``manifest.json``.
        force: replace an existing ``out_dir`` (only once the new project is complete).
        inputs: the user's files (model, weights, data); ``out_dir`` may not be or contain any of them.
        ptq: post-training quantization of a float model (:func:`~fpgacompress.quantization.ptq.post_training_quantize`):
            batch norms folded, per-layer types from ``x_calibration``'s ranges; the firmware is built
            from (and bit-exact against) the emitted QKeras model, saved in the project as ``ptq_model.h5``.
        x_calibration: inputs for ``ptq`` (the training split; raw when ``standardizer`` is given).
        y_test: labels of ``x_test``; with ``ptq``, the accuracy change against the float model is recorded.

    Raises:
        BoardError: unknown board, or an initiation interval over the LHC budget.
        ModelError: a layer, activation or quantizer the bit-exact flow does not support.
        ConfigError: an invalid reuse factor (valid ones listed), an existing ``out_dir``, an ``out_dir``
            holding an input, one another process is writing, bad settings.
        BuildError: hls4ml or the filesystem failed to write the project (nothing is left behind).
    """
    config = config or BuildConfig()
    if board is not None:
        board_object = load_board(board)
        config = config.model_copy(
            update={"board": board_object.name if not isinstance(board, Path) else str(board)}
        )
    else:
        board_object = load_board(config.board)
    out_dir = Path(out_dir)
    inputs = [Path(item) for item in inputs if item is not None]
    check_output_dir(out_dir, force, inputs)
    clock_mhz = config.clock_for(board_object.default_clock_mhz)
    check_supported_model(model)
    check_reuse_factor(model, config.reuse_factor)
    check_convolution_reuse_factor(model, config.reuse_factor)
    ii_settings = {"strategy": config.strategy, "io_type": config.io_type, "backend": config.backend}
    max_ii = check_initiation_interval(config.reuse_factor, clock_mhz, config.tmux, model, **ii_settings)
    if input_quantizer_layer(model) is not None and config.input_precision is not None:
        raise ConfigError(
            f"input_precision={config.input_precision} conflicts with the model's input quantizer "
            f"'{input_quantizer_layer(model).name}', which fixes the input precision. Leave input_precision unset."
        )
    x = np.asarray(x_test, dtype=np.float32)
    check_testbench_inputs(x, model)
    x = x[: config.n_testbench_samples]
    if standardizer is not None:
        x = standardizer.transform(x)
    ptq_result = None
    if ptq:  # every check on the float model passed; the quantized one has the same layers
        if config.input_precision is not None:
            raise ConfigError(
                f"input_precision={config.input_precision} conflicts with ptq=True, which chooses the input "
                "precision from the data. Leave input_precision unset."
            )
        ptq_result = _post_training_quantize(model, x_calibration, x_test, y_test, standardizer)
        model = ptq_result.model
        check_supported_model(model)

    preprocessing_record = {
        "statement": preprocessing
        or ("inputs standardized by build()" if standardizer is not None else "inputs used as given"),
        "standardizer": standardizer.to_dict() if standardizer is not None else None,
    }
    with output_lock(out_dir):
        check_output_dir(out_dir, force, inputs)  # another build may have finished it meanwhile
        temporary = out_dir.parent / f".{out_dir.name}{STAGING_MARK}{uuid.uuid4().hex[:8]}"
        try:
            manifest = _write_project(
                model, board_object, config, clock_mhz, max_ii, x, temporary, preprocessing_record, ptq_result
            )
            replace_directory(temporary, out_dir)
        except FpgacompressError:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        except OSError as error:  # the filesystem, not hls4ml: disk full, read-only, permissions
            shutil.rmtree(temporary, ignore_errors=True)
            raise BuildError(
                f"Cannot write the project for {out_dir}: {describe_os_error(error)}. Free space or choose "
                "a writable --out."
            ) from None
        except Exception as error:  # hls4ml raises bare Exception / RuntimeError / AssertionError
            shutil.rmtree(temporary, ignore_errors=True)
            raise BuildError(
                f"hls4ml could not write the project for {out_dir}: {type(error).__name__}: {error}"
            ) from error
        except BaseException:  # Ctrl-C, SIGTERM (the CLI raises KeyboardInterrupt for it)
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return HlsProject(out_dir, board_object, config, manifest)


def _post_training_quantize(model, x_calibration, x_test, y_test, standardizer):
    from ..quantization.ptq import post_training_quantize

    if x_calibration is None:
        raise ConfigError("ptq=True needs x_calibration (the training inputs whose ranges set the types).")
    x_calibration = np.asarray(x_calibration, dtype=np.float32)
    x_evaluation = np.asarray(x_test, dtype=np.float32)
    if standardizer is not None:
        x_calibration, x_evaluation = (
            standardizer.transform(x_calibration),
            standardizer.transform(x_evaluation),
        )
    return post_training_quantize(model, x_calibration, x_evaluation=x_evaluation, y_evaluation=y_test)


def _write_project(
    model,
    board: Board,
    config: BuildConfig,
    clock_mhz: float,
    max_ii: int,
    x,
    directory: Path,
    preprocessing: dict,
    ptq_result=None,
) -> dict:
    import hls4ml

    hls_ready = prepare_for_hls4ml(model)
    reference = compute_reference(hls_ready, x, config.input_precision)
    hls_config = hls4ml_config(hls_ready, config)
    input_precision = hls_config["LayerName"][hls_ready.layers[0].name]["Precision"]["result"]
    directory.mkdir(parents=True)
    tb_dir = directory / "tb_inputs"
    tb_dir.mkdir()
    np.save(tb_dir / "inputs.npy", reference.inputs)
    final_layer = hls_ready.layers[-1].name
    np.save(tb_dir / "outputs.npy", reference.layer_outputs[final_layer])
    clock_period_ns = round(1000.0 / clock_mhz, 6)
    hls4ml_log = io.StringIO()
    with contextlib.redirect_stdout(hls4ml_log):
        hls_model = hls4ml.converters.convert_from_keras_model(
            hls_ready,
            output_dir=str(directory),
            project_name=config.project_name,
            input_data_tb=str(tb_dir / "inputs.npy"),
            output_data_tb=str(tb_dir / "outputs.npy"),
            backend=config.hls4ml_backend,
            part=board.part,
            clock_period=clock_period_ns,
            io_type=config.io_type,
            hls_config=hls_config,
        )
        hls_model.config.trace_output = True  # emit save_layer_output() calls (C-simulation only)
        hls_model.write()
    shutil.rmtree(tb_dir)
    (directory / BUILD_LOG).write_text(hls4ml_log.getvalue())
    save_reference(reference, directory)
    traced_layers = write_csim_testbench(hls_model, directory)
    from ..model_io import save_model

    # hls4ml's own keras_model.keras does not reload (custom objects); this one does, with load_model.
    save_model(model, directory / SAVED_MODEL_FILE)

    versions = _versions()
    settings = config.model_dump()
    timing = {
        "clock_mhz": clock_mhz,
        "clock_period_ns": clock_period_ns,
        "tmux": config.tmux,
        "estimated_initiation_interval": estimated_initiation_interval(
            config.reuse_factor,
            model,
            clock_mhz=clock_mhz,
            strategy=config.strategy,
            io_type=config.io_type,
            backend=config.backend,
        ),
        "max_initiation_interval": max_ii,
    }
    manifest = {
        "format": 1,
        "created_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions,
        "board": board.model_dump(),
        "settings": settings,
        "timing": timing,
        "input_precision": input_precision,
        "preprocessing": preprocessing,
        "testbench": {
            "n_samples": reference.n_samples,
            "logits_layer": reference.logits_layer,
            "softmax_layer": reference.softmax_layer,
            "traced_layers": list(traced_layers),
        },
        "layers": _layer_table(hls_model),
        "model": SAVED_MODEL_FILE,
    }
    if ptq_result is not None:
        from ..model_io import save_model

        save_model(ptq_result.model, directory / PTQ_MODEL_FILE)
        manifest["ptq"] = {"model": PTQ_MODEL_FILE, **ptq_result.to_dict()}
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    hls_tool = "vitis_hls" if config.backend == "vitis" else "vivado_hls"
    _write_templates(
        directory,
        {
            "project_name": config.project_name,
            "board": board.name,
            "part": board.part,
            "clock_mhz": f"{clock_mhz:g}",
            "clock_period_ns": f"{clock_period_ns:g}",
            "backend": config.backend,
            "hls_tool": hls_tool,
            "strategy": config.strategy,
            "reuse_factor": config.reuse_factor,
            "io_type": config.io_type,
            "tmux": config.tmux,
            "initiation_interval": timing["estimated_initiation_interval"],
            "max_initiation_interval": max_ii,
            "input_precision": input_precision,
            "n_testbench_samples": reference.n_samples,
            "fpgacompress_version": versions["fpgacompress"],
            "hls4ml_version": versions["hls4ml"],
            "created_utc": manifest["created_utc"],
        },
    )
    return manifest


def load_project(path: str | Path) -> HlsProject:
    """The project :func:`build` wrote in ``path`` (reads its ``manifest.json``).

    Raises:
        BuildError: ``path`` is not a project written by fpgacompress.
    """
    path = Path(path)
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BuildError(
            f"{path} is not an fpgacompress HLS project (no {MANIFEST_FILE}). Pass the --out directory of 'fpgacompress build'."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        board = Board(**manifest["board"])
        settings = BuildConfig(**manifest["settings"])
    except (ValueError, KeyError, TypeError) as error:
        raise BuildError(f"{manifest_path} is corrupt or from an incompatible version: {error}") from None
    return HlsProject(path, board, settings, manifest)
