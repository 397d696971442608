"""Read an hls4ml project directory (``firmware/parameters.h``, ``defines.h``, ``weights/*.txt``).

The firmware is the model of record: it holds the exact types, reuse factors and weights that
were (or will be) synthesized, whatever the Keras file or ``hls4ml_config.yml`` says. Projects
written by ``fpgacompress build`` and by plain hls4ml share this layout.

Example:
    >>> design = read_hls_project("build/jet_tagger_hls")
    >>> [layer.name for layer in design.layers]
    ['fc1', 'relu1', 'fc2', 'relu2', 'fc3', 'relu3', 'output', 'softmax']
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from ..errors import ConfigError, ModelError
from .fixed_point import FixedPointType, parse_fixed_point
from .layers import ActivationSpec, DenseSpec, DesignSpec, LayerSpec

__all__ = ["read_hls_project", "find_firmware_dir"]

_STRUCT_PATTERN = re.compile(
    r"//\s*(?P<name>\S+)\s*\n\s*struct\s+(?P<struct>(?P<kind>\w*?)_?config(?P<index>\d+))\s*:\s*nnet::(?P<base>\w+)\s*\{"
    r"(?P<body>.*?)\n\};",
    re.DOTALL,
)
_CONSTANT_PATTERN = re.compile(r"static const (?:unsigned|int|bool|float|double)\s+(\w+)\s*=\s*([^;]+);")
_TYPEDEF_PATTERN = re.compile(r"typedef\s+(.+?)\s+(\w+)\s*;")
_DEFINE_PATTERN = re.compile(r"#define\s+(\w+)\s+(\d+)")


def find_firmware_dir(project_dir: Path) -> Path:
    """The ``firmware`` folder of an hls4ml project (the project itself may be given as that folder)."""
    project_dir = Path(project_dir)
    for candidate in (project_dir / "firmware", project_dir):
        if (candidate / "parameters.h").is_file():
            return candidate
    raise ModelError(
        f"No hls4ml project at {str(project_dir)!r}: expected firmware/parameters.h inside it. "
        "Pass the folder written by `fpgacompress build` or hls4ml's output_dir."
    )


def _read_typedefs(firmware_dir: Path) -> dict[str, str]:
    typedefs: dict[str, str] = {}
    for header in (firmware_dir / "defines.h", firmware_dir / "parameters.h"):
        if header.is_file():
            for type_text, alias in _TYPEDEF_PATTERN.findall(header.read_text()):
                typedefs.setdefault(alias, type_text)
    return typedefs


def _read_defines(firmware_dir: Path) -> dict[str, str]:
    defines_path = firmware_dir / "defines.h"
    return dict(_DEFINE_PATTERN.findall(defines_path.read_text())) if defines_path.is_file() else {}


def _resolve_type(alias: str, typedefs: dict[str, str]) -> FixedPointType:
    seen = set()
    text = alias
    while text in typedefs and text not in seen:
        seen.add(text)
        text = typedefs[text]
    return parse_fixed_point(text)


def _read_weights(firmware_dir: Path, index: int, n_in: int, n_out: int, layer_name: str) -> np.ndarray:
    path = firmware_dir / "weights" / f"w{index}.txt"
    if not path.is_file():
        raise ModelError(
            f"Layer {layer_name!r}: weights file {str(path)!r} is missing; hls4ml writes it at project "
            "creation (re-run `fpgacompress build` or hls4ml's write())."
        )
    values = np.array(
        [float(token) for token in path.read_text().replace("\n", ",").split(",") if token.strip()]
    )
    if values.size != n_in * n_out:
        raise ModelError(
            f"Layer {layer_name!r}: {str(path)!r} holds {values.size} weights, expected n_in*n_out = {n_in}*{n_out}."
        )
    return values.reshape(n_in, n_out)


class _TaggedSafeLoader(yaml.SafeLoader):
    """Safe YAML that reads hls4ml's own tags (``!keras_model``, ``!h5model``) as plain scalars."""


_TaggedSafeLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _project_settings(project_dir: Path) -> dict:
    """Clock, part and backend from ``hls4ml_config.yml`` when present (the firmware does not hold them)."""
    config_path = project_dir / "hls4ml_config.yml"
    if not config_path.is_file():
        return {}
    try:
        config = yaml.load(config_path.read_text(), Loader=_TaggedSafeLoader) or {}
    except yaml.YAMLError:
        return {}
    settings = {}
    if "ClockPeriod" in config:
        settings["clock_period_ns"] = float(config["ClockPeriod"])
    if "Part" in config:
        settings["part"] = str(config["Part"])
    backend = str(config.get("Backend", "")).lower()
    if backend:
        settings["hls_tool"] = "vivado" if backend == "vivado" else "vitis"
    return settings


def read_hls_project(
    project_dir,
    *,
    clock_period_ns: float | None = None,
    hls_tool: str | None = None,
    multiplier_binding: str = "auto",
    part: str | None = None,
) -> DesignSpec:
    """Read the layers, types, reuse factors and weights of an hls4ml project into a :class:`DesignSpec`.

    Args:
        project_dir: The project folder (holding ``firmware/``) or its ``firmware`` folder.
        clock_period_ns: Overrides the clock from ``hls4ml_config.yml`` (default 5 ns).
        hls_tool: ``vivado`` or ``vitis``; overrides the backend from ``hls4ml_config.yml``.
        multiplier_binding: ``auto``, ``dsp`` or ``fabric`` (a ``config_op mul -impl`` in the build script).
        part: Overrides the FPGA part from ``hls4ml_config.yml``.

    Raises:
        ModelError: when the folder is not an hls4ml project or a weights file is missing or the wrong size.
    """
    firmware_dir = find_firmware_dir(Path(project_dir))
    typedefs = _read_typedefs(firmware_dir)
    defines = _read_defines(firmware_dir)
    parameters = (firmware_dir / "parameters.h").read_text()
    layers: list[LayerSpec] = []
    previous_output = "input_t"
    for match in _STRUCT_PATTERN.finditer(parameters):
        name, index, base, body = match["name"], int(match["index"]), match["base"], match["body"]
        constants = {
            key: defines.get(value.strip(), value.strip()) for key, value in _CONSTANT_PATTERN.findall(body)
        }
        output_alias = f"layer{index}_t" if f"layer{index}_t" in typedefs else "result_t"
        io_type = "io_stream" if "io_stream" in constants.get("io_type", "") else "io_parallel"
        input_type = _resolve_type(previous_output, typedefs)
        if base == "dense_config":
            n_in, n_out = int(constants["n_in"]), int(constants["n_out"])
            body_typedefs = {alias: text for text, alias in _TYPEDEF_PATTERN.findall(body)}
            layers.append(
                DenseSpec(
                    name=name,
                    weights=_read_weights(firmware_dir, index, n_in, n_out, name),
                    input_type=input_type,
                    weight_type=_resolve_type(body_typedefs.get("weight_t", f"weight{index}_t"), typedefs),
                    accum_type=_resolve_type(body_typedefs.get("accum_t", "model_default_t"), typedefs),
                    reuse_factor=int(constants.get("reuse_factor", "1")),
                    strategy="resource" if "resource" in constants.get("strategy", "") else "latency",
                    io_type=io_type,
                )
            )
        elif base in ("activ_config", "batchnorm_config"):
            function = "normalize" if base == "batchnorm_config" else (match["kind"] or "linear").lower()
            layers.append(
                ActivationSpec(
                    name=name,
                    function=function,
                    n_in=int(constants.get("n_in", "0")),
                    input_type=input_type,
                    result_type=_resolve_type(output_alias, typedefs),
                    table_size=int(constants.get("table_size", "1024")),
                    io_type=io_type,
                )
            )
        else:
            raise ModelError(
                f"Layer {name!r} ({match['struct']} : nnet::{base}) is not supported by the estimator: "
                "it models dense, activation and batch-normalization layers."
            )
        previous_output = output_alias
    if not layers:
        raise ModelError(f"No layer configuration found in {str(firmware_dir / 'parameters.h')!r}.")
    settings = _project_settings(firmware_dir.parent)
    if clock_period_ns is not None:
        settings["clock_period_ns"] = float(clock_period_ns)
    if hls_tool is not None:
        settings["hls_tool"] = hls_tool
    if part is not None:
        settings["part"] = part
    if multiplier_binding not in ("auto", "dsp", "fabric"):
        raise ConfigError(
            f"multiplier_binding must be 'auto', 'dsp' or 'fabric'. Received multiplier_binding={multiplier_binding!r}."
        )
    return DesignSpec(layers=tuple(layers), multiplier_binding=multiplier_binding, **settings)
