"""Convolutional layers in the estimator: what hls4ml's streaming kernels build, pixel by pixel.

hls4ml's io_stream convolution (``nnet_conv2d_stream.h``, ``conv_2d_buffer_cl`` / ``conv_2d_encoded_cl``)
reads one input pixel (all channels) per iteration of a loop over the input image, shifts it into a
line buffer (``ap_shift_reg`` of ``in_width`` words per kernel row and channel: shift registers,
SRL32 in LUTs; the Encoded implementation keeps one FIFO per kernel tap instead) and, when a full
window is there, calls the layer's dense kernel
``(kernel x in-channels) -> filters`` on it. So:

* the products are one dense layer's (:func:`~.hardware_model.count_dense`: the same CSD / DSP rules,
  constness and zeros), instantiated once (io_stream) or once per parallel pixel (io_parallel);
* the Latency strategy pipelines the pixel loop at ``II = reuse_factor``; the Resource strategy's
  dense kernel is not pipelined with it, so a pixel costs the kernel's whole latency
  (about ``reuse_factor`` + its adder depth);
* a layer takes ``in_pixels x II per pixel`` cycles for an image and cannot start the next one before:
  its II is its latency, and the slowest layer sets the network's II (the LHC budget check).

Pooling (``nnet_pooling_stream.h``) has the same line buffer and a comparator / adder tree per channel
at one pixel per cycle; ZeroPadding / UpSampling / the io_stream Flatten copy one word per cycle.
An activation between them is the dense path's element-wise model on one pixel's channels, looped
over the pixels (:class:`PixelLoopSpec`).

The few numbers the counting cannot give (LUT / FF per layer and per kernel LUT, pixel-loop overheads) are fitted
on the 27 convolutional designs of ``../shared/synth_reports`` by ``scripts/bench_estimator_conv.py``
and stored in ``fpgacompress/resources/conv_estimator_coefficients.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ConfigError
from .fixed_point import FixedPointType
from .layers import ActivationSpec, DenseSpec

__all__ = [
    "ConvolutionSpec",
    "PoolingSpec",
    "ReshapeSpec",
    "PixelLoopSpec",
    "SPATIAL_SPECS",
    "spatial_features",
    "SRL_BITS_PER_LUT",
]

SRL_BITS_PER_LUT = 32
"""One LUT6 as SRL32 holds 32 bits of one shift-register lane: the line buffer's cost per bit of depth."""

Strategy = Literal["latency", "resource"]


def _pixels(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape[:-1])) if len(shape) > 1 else 1


class _FeatureMap:
    """Sizes of a layer that streams a feature map (``in_shape`` / ``out_shape``, channels last)."""

    @property
    def n_in(self) -> int:
        return int(math.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(math.prod(self.out_shape))

    @property
    def in_pixels(self) -> int:
        return _pixels(self.in_shape)

    @property
    def out_pixels(self) -> int:
        return _pixels(self.out_shape)

    @property
    def fifo_depth(self) -> int:
        """The output stream's depth: the project's, else hls4ml's default of one word per output pixel."""
        return self.stream_depth or self.out_pixels

    @property
    def stream_width_bits(self) -> int:
        return int(self.out_shape[-1]) * self.result_type.width


@dataclass(frozen=True, eq=False)
class ConvolutionSpec(_FeatureMap):
    """A Conv1D / Conv2D layer as synthesized (channels last).

    Attributes:
        name: Layer name.
        weights: The kernel flattened as hls4ml stores it, shape ``(kernel x in-channels, filters)``.
        in_shape: ``(height, width, channels)`` or ``(width, channels)`` of the (padded) input.
        out_shape: Same for the output.
        kernel: ``(kh, kw)`` or ``(k,)``.
        input_type, weight_type, accum_type, result_type: Fixed-point types.
        reuse_factor: hls4ml ``ReuseFactor`` of the layer's dense kernel.
        strategy: ``latency`` or ``resource``.
        io_type: ``io_stream`` or ``io_parallel``.
        implementation: ``linebuffer`` or ``encoded`` (hls4ml ``ConvImplementation``).
        parallel_pixels: Copies of the kernel (io_parallel: output pixels per partition; io_stream: 1).
        stream_depth: Words of the output FIFO as the project sets it (0: hls4ml's default, one per pixel).
    """

    name: str
    weights: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: tuple[int, ...]
    input_type: FixedPointType
    weight_type: FixedPointType
    accum_type: FixedPointType
    result_type: FixedPointType
    reuse_factor: int = 1
    strategy: Strategy = "latency"
    io_type: str = "io_stream"
    implementation: str = "linebuffer"
    parallel_pixels: int = 1
    stream_depth: int = 0

    def __post_init__(self) -> None:
        expected = (int(math.prod(self.kernel)) * int(self.in_shape[-1]), int(self.out_shape[-1]))
        if tuple(np.shape(self.weights)) != expected:
            raise ConfigError(
                f"Layer {self.name!r}: a convolution kernel must have shape (kernel x in-channels, filters) = "
                f"{expected}. Received shape {np.shape(self.weights)}."
            )
        if int(self.reuse_factor) < 1:
            raise ConfigError(
                f"Layer {self.name!r}: reuse_factor must be an integer >= 1. Received reuse_factor={self.reuse_factor}."
            )

    has_reuse_factor = True

    def kernel_dense(self) -> DenseSpec:
        """The dense layer hls4ml calls on each window (its ``mult_config``)."""
        return DenseSpec(
            name=self.name,
            weights=self.weights,
            input_type=self.input_type,
            weight_type=self.weight_type,
            accum_type=self.accum_type,
            reuse_factor=self.reuse_factor,
            strategy=self.strategy,
            io_type="io_parallel",
            result_type=self.result_type,
        )


@dataclass(frozen=True)
class PoolingSpec(_FeatureMap):
    """A Max / Average pooling layer (global pooling: a pool as large as the input)."""

    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    pool: tuple[int, ...]
    operation: str
    input_type: FixedPointType
    result_type: FixedPointType
    io_type: str = "io_stream"
    stream_depth: int = 0


@dataclass(frozen=True)
class ReshapeSpec(_FeatureMap):
    """ZeroPadding, UpSampling or the io_stream Flatten: data moved one word per cycle, no arithmetic."""

    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    operation: str
    input_type: FixedPointType
    result_type: FixedPointType
    io_type: str = "io_stream"
    stream_depth: int = 0


@dataclass(frozen=True)
class PixelLoopSpec:
    """An element-wise activation on a feature map in io_stream: one pixel's hardware, ``pixels`` times.

    Attributes:
        activation: The activation over one pixel's channels (``n_in`` = channels).
        pixels: Pixels of the map (words through the stream).
        io_type: ``io_stream``; with ``io_parallel`` the whole map is computed at once.
        stream_depth: Words of the output FIFO as the project sets it (0: one per pixel).
    """

    activation: ActivationSpec
    pixels: int
    io_type: str = "io_stream"
    stream_depth: int = 0

    @property
    def name(self) -> str:
        return self.activation.name

    @property
    def n_in(self) -> int:
        return self.activation.n_in * self.pixels

    @property
    def input_type(self) -> FixedPointType:
        return self.activation.input_type

    @property
    def result_type(self) -> FixedPointType:
        return self.activation.result_type

    @property
    def fifo_depth(self) -> int:
        return self.stream_depth or self.pixels

    @property
    def stream_width_bits(self) -> int:
        return self.activation.n_in * self.activation.result_type.width


SPATIAL_SPECS = (ConvolutionSpec, PoolingSpec, ReshapeSpec, PixelLoopSpec)


def _line_buffer_bits(in_shape: tuple[int, ...], window: tuple[int, ...], width: int) -> tuple[int, int]:
    """``(shift-register LUTs, window register bits)`` of a line buffer over ``window`` rows x columns.

    ``filt_height - 1`` rows of ``in_width`` words per channel in ``ap_shift_reg`` (SRL32 chains), and
    the window itself (``kernel x channels`` words) in registers. A 1-D layer keeps only the window.
    """
    channels = int(in_shape[-1])
    if len(window) == 2 and len(in_shape) == 3:
        rows = max(int(window[0]) - 1, 0)
        lanes = rows * channels * width
        srl_luts = lanes * math.ceil(int(in_shape[1]) / SRL_BITS_PER_LUT)
    else:
        srl_luts = 0
    window_bits = int(math.prod(window)) * channels * width
    return srl_luts, window_bits


def _encoded_window(layer: ConvolutionSpec) -> tuple[int, int]:
    """``(LUTs, BRAM_18K)`` of the Encoded implementation's window: one FIFO per kernel tap and channel.

    ``conv_2d_encoded_cl`` / ``conv_1d_encoded_cl`` keep ``kernel x channels`` ``hls::stream`` FIFOs of
    ``filt_height x out_width`` (2-D) or ``out_width`` (1-D) input words: shift registers when shallow,
    BRAM when deep (:func:`~.streams.fifo_resources`).
    """
    from .streams import fifo_resources

    out_width = int(layer.out_shape[-2])
    depth = int(layer.kernel[0]) * out_width if len(layer.kernel) == 2 else out_width
    one = fifo_resources("window", depth, layer.input_type.width)
    taps = int(math.prod(layer.kernel)) * int(layer.in_shape[-1])
    return taps * one.lut, taps * one.bram_18k


def spatial_features(layer, kernel_row=None, tool_family: str = "vivado") -> dict:
    """The counted hardware of one spatial layer: the features its calibrated models weigh.

    Args:
        layer: A :data:`SPATIAL_SPECS` object.
        kernel_row: For a convolution, the dense model's :class:`~.report.LayerResources` of its kernel
            (:meth:`ConvolutionSpec.kernel_dense`); for a :class:`PixelLoopSpec`, its activation's row.
        tool_family: ``vivado`` or ``vitis``: Vitis HLS schedules the pipelined pixel loop of a
            Latency-strategy convolution at a few cycles per pixel where Vivado HLS reaches one.

    Returns:
        ``{"kind", "dsp", "bram_18k", "pixels", "lut": {...}, "ff": {...}, "pixel": {...}}`` where
        ``pixel`` holds the features of the cycles per input pixel.
    """
    if isinstance(layer, ConvolutionSpec):
        copies = max(1, int(layer.parallel_pixels))
        srl_luts, window_bits = _line_buffer_bits(layer.in_shape, layer.kernel, layer.input_type.width)
        window_bram = 0
        if layer.implementation == "encoded" and layer.io_type == "io_stream":
            srl_luts, window_bram = _encoded_window(layer)
        pipelined = layer.strategy == "latency"
        return {
            "kind": f"conv_{layer.strategy}",
            "dsp": kernel_row.dsp * copies,
            "bram_18k": kernel_row.bram_18k * copies + window_bram,
            # io_stream: the loop over input pixels; io_parallel: over the partitions of the output
            # (hls4ml ParallelizationFactor), each computing ``parallel_pixels`` pixels at once.
            "pixels": layer.in_pixels if layer.io_type == "io_stream" else max(1, layer.out_pixels // copies),
            "lut": {
                "kernel_lut": float(kernel_row.lut * copies),
                "line_buffer_srl_luts": float(srl_luts),
                "window_bits": float(window_bits),
                "layer": 1.0,
            },
            "ff": {
                "kernel_ff": float(kernel_row.ff * copies),
                "window_bits": float(window_bits),
                "layer": 1.0,
            },
            # Latency: the loop is pipelined at II = reuse factor. Resource: each pixel waits for the
            # kernel's whole schedule (reuse factor + adder depth).
            "pixel": {
                "reuse_factor": float(layer.reuse_factor if pipelined else 0),
                "vitis_pipelined": float(pipelined and tool_family == "vitis"),
                "kernel_latency": float(0 if pipelined else kernel_row.latency_cycles),
                "constant": 1.0,
            },
            "depth": kernel_row.latency_cycles,
        }
    if isinstance(layer, PoolingSpec):
        width = layer.input_type.width
        srl_luts, window_bits = _line_buffer_bits(layer.in_shape, layer.pool, width)
        channels = int(layer.out_shape[-1])
        compare_bits = channels * max(int(math.prod(layer.pool)) - 1, 1) * width
        return {
            "kind": "pooling",
            "dsp": 0,
            "bram_18k": 0,
            "pixels": layer.in_pixels if layer.io_type == "io_stream" else 1,
            "lut": {
                "compare_bits": float(compare_bits),
                "line_buffer_srl_luts": float(srl_luts),
                "window_bits": float(window_bits),
                "layer": 1.0,
            },
            "ff": {"window_bits": float(window_bits), "compare_bits": float(compare_bits), "layer": 1.0},
            "pixel": {"constant": 1.0},
            "depth": 2,
        }
    if isinstance(layer, ReshapeSpec):
        word_bits = int(layer.out_shape[-1]) * layer.result_type.width
        return {
            "kind": "reshape",
            "dsp": 0,
            "bram_18k": 0,
            "pixels": layer.out_pixels if layer.io_type == "io_stream" else 1,
            "lut": {"word_bits": float(word_bits), "layer": 1.0},
            "ff": {"word_bits": float(word_bits), "layer": 1.0},
            "pixel": {"constant": 1.0},
            "depth": 1,
        }
    if isinstance(layer, PixelLoopSpec):
        return {
            "kind": "pixel_activation",
            "dsp": kernel_row.dsp,
            "bram_18k": kernel_row.bram_18k,
            "pixels": layer.pixels if layer.io_type == "io_stream" else 1,
            "lut": {"element_lut": float(kernel_row.lut), "layer": 1.0},
            "ff": {"element_ff": float(kernel_row.ff), "layer": 1.0},
            "pixel": {"constant": 1.0},
            "depth": kernel_row.latency_cycles,
        }
    raise TypeError(f"Not a spatial layer: {type(layer).__name__}")
