"""Rows and design latency of convolutional networks: the counted hardware times calibrated coefficients.

Each spatial layer (:mod:`.convolution`) gets its counted features from
:func:`~.convolution.spatial_features`; the coefficients (LUT per line-buffer bit, the pixel loop's
overhead cycles...) come from ``fpgacompress/resources/conv_estimator_coefficients.json``, fitted by
``scripts/bench_estimator_conv.py`` on the convolutional designs of ``../shared/synth_reports``.

An io_stream network is a dataflow pipeline: every layer works on the image at once, each as fast as
its input arrives. The slowest layer sets the II (its ``pixels x II per pixel``) and the latency is that
layer's plus what the others add to fill and drain (their per-pixel latency; a Dense head after the
Flatten runs once, at the end).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError
from ..paths import RESOURCES_DIR
from .convolution import SPATIAL_SPECS, ConvolutionSpec, PixelLoopSpec, spatial_features
from .report import LayerResources

__all__ = [
    "ConvCoefficients",
    "load_conv_coefficients",
    "save_conv_coefficients",
    "spatial_row",
    "spatial_row_features",
    "spatial_design_latency",
    "is_spatial",
    "conv_uncertainty",
    "DEFAULT_CONV_COEFFICIENTS_PATH",
]

DEFAULT_CONV_COEFFICIENTS_PATH = RESOURCES_DIR / "conv_estimator_coefficients.json"


@dataclass(frozen=True)
class ConvCoefficients:
    """Calibrated coefficients of the spatial layers.

    Attributes:
        models: ``{kind: {quantity: {feature: coefficient}}}``; kinds ``conv_latency``, ``conv_resource``,
            ``pooling``, ``reshape``, ``pixel_activation``; quantities ``lut``, ``ff``, ``pixel``.
        design: ``{feature: coefficient}`` of the cycles a streaming design adds around its layers.
        calibration: Provenance and the cross-validated errors (for reports, not used to predict).
    """

    models: dict = field(default_factory=dict)
    design: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)

    def model(self, kind: str, quantity: str) -> dict[str, float]:
        return self.models.get(kind, {}).get(quantity, {})


@lru_cache(maxsize=4)
def _load(path: str) -> ConvCoefficients:
    try:
        payload = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"Convolution coefficients file {path!r} does not exist; run scripts/bench_estimator_conv.py --write."
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"Convolution coefficients file {path!r} is not valid JSON: {error}.") from None
    known = {"models", "design", "calibration"}
    if not isinstance(payload, dict) or set(payload) - known:
        raise ConfigError(f"{path!r}: expected a JSON object with keys {sorted(known)}.")
    return ConvCoefficients(**payload)


def load_conv_coefficients(path=None) -> ConvCoefficients:
    """The calibrated coefficients (default: the file shipped with fpgacompress)."""
    return _load(str(path if path is not None else DEFAULT_CONV_COEFFICIENTS_PATH))


def save_conv_coefficients(coefficients: ConvCoefficients, path) -> Path:
    """Write ``coefficients`` as indented JSON and return the path."""
    path = Path(path)
    path.write_text(json.dumps(asdict(coefficients), indent=2, sort_keys=True) + "\n")
    _load.cache_clear()
    return path


def is_spatial(layer) -> bool:
    return isinstance(layer, SPATIAL_SPECS)


def _predict(model: dict[str, float], features: dict[str, float]) -> float:
    return sum(coefficient * features.get(name, 0.0) for name, coefficient in model.items())


def spatial_row_features(layer, design, coefficients) -> dict:
    """:func:`~.convolution.spatial_features` with the dense model's row of the kernel (or activation)."""
    from .estimator import _layer_row

    inner = None
    if isinstance(layer, ConvolutionSpec):
        inner = _layer_row(layer.kernel_dense(), design, coefficients)
    elif isinstance(layer, PixelLoopSpec):
        activation = layer.activation
        if layer.io_type != "io_stream":  # io_parallel: the whole map's hardware, once
            activation = replace(activation, n_in=layer.n_in, io_type=layer.io_type, scale_integers=())
        inner = _layer_row(activation, design, coefficients)
    return spatial_features(layer, inner, design.tool.family)


def spatial_row(
    layer, design, coefficients, conv_coefficients: ConvCoefficients | None = None
) -> LayerResources:
    """The estimated row of one spatial layer: II = pixels x cycles per pixel, latency = II + depth."""
    conv_coefficients = conv_coefficients or load_conv_coefficients()
    features = spatial_row_features(layer, design, coefficients)
    kind = features["kind"]
    per_pixel = max(1, round(_predict(conv_coefficients.model(kind, "pixel"), features["pixel"])))
    if isinstance(layer, ConvolutionSpec) and layer.io_type != "io_stream":
        # io_parallel (conv_2d_latency_cl): the partitions follow each other, reuse_factor cycles each
        # with the Latency strategy, the kernel's schedule each with Resource (designs 76, 77: n + 4..6).
        per_pixel = layer.reuse_factor if layer.strategy == "latency" else max(1, int(features["depth"]))
    ii = features["pixels"] * per_pixel
    return LayerResources(
        name=layer.name,
        dsp=int(features["dsp"]),
        lut=max(0, round(_predict(conv_coefficients.model(kind, "lut"), features["lut"]))),
        ff=max(0, round(_predict(conv_coefficients.model(kind, "ff"), features["ff"]))),
        bram_18k=int(features["bram_18k"]),
        latency_cycles=ii + int(features["depth"]),
        ii=ii,
    )


def spatial_design_latency(design, rows, conv_coefficients: ConvCoefficients | None = None) -> int:
    """Latency of a dataflow CNN: the slowest layer's plus the others' fill and drain.

    A spatial layer other than the slowest adds its per-pixel latency (``latency - II + II / pixels``);
    a layer that is not spatial (the Dense head, its activations) runs once and adds its whole latency.
    """
    conv_coefficients = conv_coefficients or load_conv_coefficients()
    layer_rows = list(zip(design.layers, rows, strict=False))
    if not layer_rows:
        return 0
    slowest = max(range(len(layer_rows)), key=lambda number: layer_rows[number][1].latency_cycles)
    total = layer_rows[slowest][1].latency_cycles
    fill = 0.0
    for number, (layer, row) in enumerate(layer_rows):
        if number == slowest:
            continue
        if is_spatial(layer):
            pixels = max(1, getattr(layer, "pixels", 0) or getattr(layer, "in_pixels", 1))
            fill += row.latency_cycles - row.ii + row.ii / pixels
        else:
            fill += row.latency_cycles
    features = {"fill": fill, "layers": float(len(layer_rows)), "constant": 1.0}
    return total + max(0, round(_predict(conv_coefficients.design, features)))


def conv_uncertainty(latency_cycles: int, conv_coefficients: ConvCoefficients | None = None) -> dict | None:
    """The CNN calibration's leave-one-repository-out error bands (latency as cycles at this latency)."""
    conv_coefficients = conv_coefficients or load_conv_coefficients()
    summary = conv_coefficients.calibration.get("leave_one_repository_out")
    if not summary:
        return None
    bands = {
        name: summary[column]["median_relative_error"]
        for name, column in (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"))
    }
    bands["latency_cycles"] = round(summary["latency_cycles"]["median_relative_error"] * latency_cycles)
    return bands
