"""Read an hls4ml project directory (``firmware/parameters.h``, ``defines.h``, ``weights/*.txt``).

The firmware is the model of record: it holds the exact types, reuse factors and weights that
were (or will be) synthesized, whatever the Keras file or ``hls4ml_config.yml`` says. Projects
written by ``fpgacompress build`` and by plain hls4ml share this layout.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelError
from .conv_project_reader import SPATIAL_BASES, layer_structs, spatial_spec
from .convolution import PixelLoopSpec
from .fixed_point import FixedPointType, parse_fixed_point
from .hls_tools import parse_hls_tool, read_tool_from_report
from .layers import ActivationSpec, DenseSpec, DesignSpec, LayerSpec

__all__ = ["read_hls_project", "find_firmware_dir", "UnsupportedLayerError"]

_STRUCT_PATTERN = re.compile(
    r"//\s*(?P<name>\S+)\s*\n\s*struct\s+(?P<struct>(?P<kind>\w*?)_?config(?P<index>\d+))\s*:\s*nnet::(?P<base>\w+)\s*\{"
    r"(?P<body>.*?)\n\};",
    re.DOTALL,
)
_ANY_STRUCT = re.compile(r"struct\s+(\w+)\s*:\s*nnet::(\w+)")
_CONSTANT_PATTERN = re.compile(r"static const (?:unsigned|int|bool|float|double)\s+(\w+)\s*=\s*([^;]+);")
_TYPEDEF_PATTERN = re.compile(r"typedef\s+(.+?)\s+(\w+)\s*;")
_DEFINE_PATTERN = re.compile(r"#define\s+(\w+)\s+(\d+)")
_STREAM_ARRAY_PATTERN = re.compile(r"^\s*nnet::array\s*<\s*(?P<element>.+>)\s*,\s*(?P<size>[^<>]+?)\s*>\s*$")
_PARAMETER_SUFFIXES = (
    "_accum_t",
    "_weight_t",
    "_bias_t",
    "_index",
    "_table_t",
    "_default_t",
    "_scale_t",
    "_exp_table_t",
    "_inv_table_t",
    "_inv_inp_t",
    "_inp_norm_t",
    "_mult_t",
)
_PARAMETER_NAME = re.compile(r"^(?:weight|bias|scale|accum|model_default|table)\d*_t$")
_ARRAY_INITIALIZER = re.compile(r"\w+\s+w\d+\s*\[[^\]]*\]\s*=\s*\{(?P<values>[^}]*)\}", re.DOTALL)


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


def _ordered_typedefs(firmware_dir: Path) -> list[tuple[str, str]]:
    """``(alias, type text)`` of every typedef in ``defines.h`` then ``parameters.h``, in file order."""
    typedefs: list[tuple[str, str]] = []
    for header in (firmware_dir / "defines.h", firmware_dir / "parameters.h"):
        if header.is_file():
            typedefs += [(alias, text) for text, alias in _TYPEDEF_PATTERN.findall(header.read_text())]
    return typedefs


def _read_defines(firmware_dir: Path) -> dict[str, str]:
    defines_path = firmware_dir / "defines.h"
    return dict(_DEFINE_PATTERN.findall(defines_path.read_text())) if defines_path.is_file() else {}


def _resolve_type(alias: str, typedefs: dict[str, str]) -> FixedPointType:
    """The element type behind ``alias``: follows typedef chains and unwraps io_stream's ``nnet::array<T, N>``."""
    seen = set()
    text = alias
    while True:
        array = _STREAM_ARRAY_PATTERN.match(text)
        if array:
            text = array["element"].strip()
            continue
        if text in typedefs and text not in seen:
            seen.add(text)
            text = typedefs[text].strip()
            continue
        return parse_fixed_point(text)


def _is_tensor_type(alias: str, text: str, parameter_aliases: set[str]) -> bool:
    """True for the type of a tensor flowing between layers (not a weight, accumulator, table or index type)."""
    if alias in parameter_aliases or alias.endswith(_PARAMETER_SUFFIXES) or _PARAMETER_NAME.match(alias):
        return False
    if text.startswith("nnet::array"):
        return True
    return bool(re.match(r"^(?:ap_)?u?(?:fixed|int)\s*<", text))


def _read_weight_values(path: Path) -> np.ndarray:
    text = path.read_text()
    if path.suffix == ".h":
        # The weights-as-header form: ``type wN[size] = {v0, v1, ...};`` inside #ifdef __SYNTHESIS__.
        match = _ARRAY_INITIALIZER.search(text)
        text = match["values"] if match else ""
    return np.array([float(token) for token in text.replace("\n", ",").split(",") if token.strip()])


def _read_optional_values(firmware_dir: Path, stem: str, size: int) -> np.ndarray | None:
    """``weights/{stem}.txt`` (or ``.h``) when it exists and holds ``size`` numbers, else None."""
    for suffix in ("txt", "h"):
        path = firmware_dir / "weights" / f"{stem}.{suffix}"
        if path.is_file():
            try:
                values = _read_weight_values(path)
            except ValueError:
                return None
            return values if values.size == size else None
    return None


def _read_weights(firmware_dir: Path, index: int, n_in: int, n_out: int, layer_name: str) -> np.ndarray:
    candidates = [firmware_dir / "weights" / f"w{index}.{suffix}" for suffix in ("txt", "h")]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        raise ModelError(
            f"Layer {layer_name!r}: weights file {str(candidates[0])!r} (or w{index}.h) is missing; hls4ml writes "
            "it at project creation (re-run `fpgacompress build` or hls4ml's write())."
        )
    try:
        values = _read_weight_values(path)
    except ValueError as error:
        raise ModelError(
            f"Layer {layer_name!r}: {str(path)!r} holds a value that is not a number ({error})."
        ) from None
    if values.size != n_in * n_out:
        raise ModelError(
            f"Layer {layer_name!r}: {str(path)!r} holds {values.size} weights, expected n_in*n_out = {n_in}*{n_out}."
        )
    return values.reshape(n_in, n_out)


def _declared_zeros(text: str | None, defines: dict, name: str) -> int | None:
    """The layer config's ``n_zeros`` (the multiplier limit's), or None when absent."""
    if text is None:
        return None
    try:
        return _integer(text, defines, name)
    except ModelError:
        return None


def _integer(expression: str, defines: dict[str, str], layer_name: str) -> int:
    """A size written as an integer or a product of ``#define`` names (``OUT_HEIGHT_2*OUT_WIDTH_2*N_FILT_2``)."""
    text = re.sub(r"[A-Za-z_]\w*", lambda word: defines.get(word.group(0), word.group(0)), expression)
    if not re.fullmatch(r"[\d\s*()]+", text):
        raise ModelError(
            f"Layer {layer_name!r}: cannot read the size {expression!r} from parameters.h / defines.h."
        )
    value = 1
    for factor in text.replace("(", "").replace(")", "").split("*"):
        value *= int(factor.strip() or "1")
    return value


_TOP_LEVEL_SCALAR = re.compile(
    r"""^(ClockPeriod|Part|XilinxPart|Backend):[ \t]*['"]?([^'"\n#]*?)['"]?[ \t]*(?:#.*)?$""", re.M
)


def _project_settings(project_dir: Path) -> dict:
    """Clock, part and tool from ``hls4ml_config.yml`` and the C-synthesis report, when present.

    The part is hls4ml's ``Part`` (Vitis backend) or ``XilinxPart`` (Vivado backends); the tool
    version is read from the report's header when synthesis ran, else the backend names the family.
    """
    settings: dict = {}
    config_path = project_dir / "hls4ml_config.yml"
    if config_path.is_file():
        # Only four top-level scalars are needed: read them as text (a YAML parse of a large
        # per-layer config costs more than the whole estimate). Nothing in the file is executed.
        config = dict(_TOP_LEVEL_SCALAR.findall(config_path.read_text(errors="replace")))
        try:
            if config.get("ClockPeriod"):
                settings["clock_period_ns"] = float(config["ClockPeriod"])
        except ValueError:
            pass
        for key in ("Part", "XilinxPart"):
            if config.get(key):
                settings["part"] = config[key]
                break
        backend = config.get("Backend", "").lower()
        if backend:
            family = "vitis" if backend.startswith("vitis") else "vivado"
            settings["hls_tool"] = str(parse_hls_tool(family))
    from_report = read_tool_from_report(project_dir)
    if from_report is not None:
        settings["hls_tool"] = str(from_report)
    return settings


def _layer_types(
    ordered: list[tuple[str, str]], structs: list[tuple[str, int]], parameter_aliases: set[str]
) -> list[tuple[str, str]]:
    """``(input alias, output alias)`` of each layer ``(name, index)`` in call order.

    hls4ml names a layer's output ``layer{index}_t`` (older) or ``{name}_t`` (newer, HGQ), and the
    last one ``result_t``; defines.h lists the tensor types in dataflow order, so a layer's input is
    the tensor type written just before its output (the cast of an inlined quantizer included).
    """
    tensors = [alias for alias, text in ordered if _is_tensor_type(alias, text.strip(), parameter_aliases)]
    tensors = list(dict.fromkeys(tensors))
    position = {alias: number for number, alias in enumerate(tensors)}
    pairs = []
    previous = tensors[0] if tensors else "input_t"
    for number, (name, index) in enumerate(structs):
        candidates = [f"layer{index}_t", f"{name}_t"]
        if number == len(structs) - 1:
            candidates.append("result_t")
        output = next((alias for alias in candidates if alias in position), None)
        if output is None:
            later = [alias for alias in tensors if position[alias] > position.get(previous, -1)]
            output = later[0] if later else previous
        before = [alias for alias in tensors if position[alias] < position.get(output, 0)]
        layer_input = before[-1] if before and position.get(output, 0) > 0 else previous
        pairs.append((layer_input, output))
        previous = output
    return pairs


def read_hls_project(
    project_dir,
    *,
    clock_period_ns: float | None = None,
    hls_tool: str | None = None,
    multiplier_binding: str = "auto",
    part: str | None = None,
) -> DesignSpec:
    """Read the layers, types, reuse factors and weights of an hls4ml project into a :class:`DesignSpec`.

    Reads projects written by ``fpgacompress build`` and by plain hls4ml of any version since 0.5:
    per-layer type names (``input_1_t``, ``layer2_t``, ``h_dense_t``), io_stream's
    ``nnet::array<T, N>`` types, weights as ``wN.txt`` or ``wN.h``, the part from ``Part`` or
    ``XilinxPart`` and the HLS tool version from the C-synthesis report when one exists.

    Args:
        project_dir: The project folder (holding ``firmware/``) or its ``firmware`` folder.
        clock_period_ns: Overrides the clock from ``hls4ml_config.yml`` (default 5 ns).
        hls_tool: ``vitis-2024.1``, ``vivado-2019.2``, ``vitis``...; overrides the project's tool.
        multiplier_binding: ``auto``, ``dsp`` or ``fabric`` (a ``config_op mul -impl`` in the build script).
        part: Overrides the FPGA part from ``hls4ml_config.yml``.

    Raises:
        ModelError: when the folder is not an hls4ml project, a weights file is missing or the wrong
            size, or a layer is of a kind the estimator does not model (convolutions, pooling...).
    """
    firmware_dir = find_firmware_dir(Path(project_dir))
    ordered = _ordered_typedefs(firmware_dir)
    typedefs: dict[str, str] = {}
    for alias, text in ordered:
        typedefs.setdefault(alias, text)
    defines = _read_defines(firmware_dir)
    parameters = (firmware_dir / "parameters.h").read_text()
    # Every layer struct in call order; convolutions, pooling and padding are read by .conv_project_reader.
    matches = layer_structs(parameters)
    if any(entry["commented"] for entry in matches):  # hls4ml >= 0.5 names every layer but padding
        matches = [entry for entry in matches if entry["commented"] or entry["base"] in SPATIAL_BASES]
    unsupported = [
        (struct, base)
        for struct, base in _ANY_STRUCT.findall(parameters)
        if base not in ("dense_config", "activ_config", "batchnorm_config", *SPATIAL_BASES)
    ]
    if unsupported:
        struct, base = unsupported[0]
        name = next((m["name"] for m in matches if m["struct"] == struct), struct)
        raise UnsupportedLayerError(
            f"Layer {name!r} ({struct} : nnet::{base}) is not modelled by the estimator "
            f"({len(unsupported)} such layer(s)); it models Dense, Conv1D/2D, pooling, padding, resize, "
            "activation and batch-normalization layers. "
            "A synthesized project's own report is still shown by `fpgacompress report PROJECT`."
        )
    parameter_aliases = {text.strip() for m in matches for text, _ in _TYPEDEF_PATTERN.findall(m["body"])}
    types = _layer_types(ordered, [(m["name"], int(m["index"])) for m in matches], parameter_aliases)
    layers: list[LayerSpec] = []
    design_io = (
        "io_stream" if any(text.strip().startswith("nnet::array") for _, text in ordered) else "io_parallel"
    )
    for match, (input_alias, output_alias) in zip(matches, types, strict=True):
        name, index, base, body = match["name"], int(match["index"]), match["base"], match["body"]
        constants = {
            key: defines.get(value.strip(), value.strip()) for key, value in _CONSTANT_PATTERN.findall(body)
        }
        io_type = "io_stream" if "io_stream" in constants.get("io_type", "") else "io_parallel"
        input_type = _resolve_type(input_alias, typedefs)
        if base in SPATIAL_BASES:
            layers.append(
                _spatial_layer(
                    match, constants, defines, typedefs, firmware_dir, input_type, output_alias, design_io
                )
            )
            continue
        if base == "dense_config":
            n_in, n_out = (
                _integer(constants["n_in"], defines, name),
                _integer(constants["n_out"], defines, name),
            )
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
                    result_type=_resolve_type(output_alias, typedefs),
                    declared_zeros=_declared_zeros(constants.get("n_zeros"), defines, name),
                )
            )
        else:
            function = "normalize" if base == "batchnorm_config" else (match["kind"] or "linear").lower()
            n_elements = _integer(constants.get("n_in", "0"), defines, name)
            scale_integers: tuple[int, ...] = ()
            body_typedefs = {alias: text for text, alias in _TYPEDEF_PATTERN.findall(body)}
            if function == "normalize" and "scale_t" in body_typedefs:
                scale_type = _resolve_type(body_typedefs["scale_t"], typedefs)
                scales = _read_optional_values(firmware_dir, f"s{index}", n_elements)
                if scales is not None:
                    scale_integers = tuple(int(value) for value in scale_type.to_integers(scales))
            activation = ActivationSpec(
                name=name,
                function=function,
                n_in=n_elements,
                input_type=input_type,
                result_type=_resolve_type(output_alias, typedefs),
                table_size=int(constants.get("table_size", "1024")),
                io_type=io_type,
                scale_integers=scale_integers,
            )
            layers.append(_per_pixel(activation, typedefs.get(output_alias, ""), defines))
    if not layers:
        raise ModelError(f"No layer configuration found in {str(firmware_dir / 'parameters.h')!r}.")
    layers = _with_stream_depths(layers, [int(entry["index"]) for entry in matches], firmware_dir)
    settings = _project_settings(firmware_dir.parent)
    if clock_period_ns is not None:
        settings["clock_period_ns"] = float(clock_period_ns)
    if hls_tool is not None:
        settings["hls_tool"] = str(parse_hls_tool(hls_tool))
    if part is not None:
        settings["part"] = part
    if multiplier_binding not in ("auto", "dsp", "fabric"):
        raise ConfigError(
            f"multiplier_binding must be 'auto', 'dsp' or 'fabric'. Received multiplier_binding={multiplier_binding!r}."
        )
    return DesignSpec(layers=tuple(layers), multiplier_binding=multiplier_binding, **settings)


def _spatial_layer(entry, constants, defines, typedefs, firmware_dir, input_type, output_alias, io_type):
    """A convolution / pooling / padding / resize struct as the estimator's object (:mod:`.conv_project_reader`)."""
    name, index = entry["name"], int(entry["index"])
    body_typedefs = {alias: text for text, alias in _TYPEDEF_PATTERN.findall(entry["body"])}

    def number(key: str, default: int | None = None) -> int:
        if key not in constants:
            if default is None:
                raise ModelError(f"Layer {name!r}: parameters.h gives no {key} for nnet::{entry['base']}.")
            return default
        return _integer(constants[key], defines, name)

    # The weights file follows the weight type's number (w2.txt for weight2_t), which a fused
    # QConv2DBatchnorm does not share with its config struct (config4).
    weight_file = re.fullmatch(r"weight(\d+)_t", body_typedefs.get("weight_t", ""))
    weight_index = int(weight_file.group(1)) if weight_file else index

    def weights(size: int) -> np.ndarray:
        return _read_weights(firmware_dir, weight_index, size, 1, name).reshape(-1)

    result_type = _resolve_type(output_alias, typedefs)
    accum_alias = body_typedefs.get("accum_t")
    types = {
        "input": input_type,
        "result": result_type,
        "weight": _resolve_type(body_typedefs.get("weight_t", f"weight{index}_t"), typedefs)
        if entry["base"].startswith("conv")
        else result_type,
        "accum": _resolve_type(accum_alias, typedefs) if accum_alias else result_type,
    }
    return spatial_spec(entry, number, types, weights, io_type)


def _per_pixel(activation: ActivationSpec, output_text: str, defines: dict[str, str]):
    """An io_stream activation on a feature map is one pixel's hardware looped over the pixels."""
    array = _STREAM_ARRAY_PATTERN.match(output_text.strip())
    if activation.io_type != "io_stream" or array is None:
        return activation
    try:
        word = _integer(array["size"], defines, activation.name)
    except ModelError:
        return activation
    if word <= 0 or word >= activation.n_in or activation.n_in % word:
        return activation
    one_pixel = replace(activation, n_in=word, scale_integers=activation.scale_integers[:word])
    return PixelLoopSpec(activation=one_pixel, pixels=activation.n_in // word)


_STREAM_DEPTH = re.compile(r"#pragma\s+HLS\s+STREAM\s+variable\s*=\s*(\w+)\s+depth\s*=\s*(\d+)")


def _with_stream_depths(layers: list, indices: list[int], firmware_dir: Path) -> list:
    """Feature-map layers with the FIFO depths the project's top function sets (``#pragma HLS STREAM``).

    hls4ml writes one ``layerN_out`` stream per layer with a depth of one word per pixel, or the depth its
    FIFO-depth optimizer (or the user) chose; the report then costs the FIFOs the project really has.
    """
    depths: dict[str, int] = {}
    for source in sorted(firmware_dir.glob("*.cpp")):
        depths.update(
            (name, int(depth)) for name, depth in _STREAM_DEPTH.findall(source.read_text(errors="replace"))
        )
    if not depths:
        return layers
    updated = []
    for layer, index in zip(layers, indices, strict=True):
        depth = depths.get(f"layer{index}_out") or depths.get(f"{layer.name}_out")
        if depth and hasattr(layer, "stream_depth"):
            layer = replace(layer, stream_depth=depth)
        updated.append(layer)
    return updated


class UnsupportedLayerError(ModelError):
    """The project holds a layer kind the estimator does not model (its own report can still be read)."""
