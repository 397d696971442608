"""io_stream FIFOs: the memory between the layers of a dataflow design.

With ``io_stream`` hls4ml connects consecutive layers through ``hls::stream`` FIFOs, one per layer
output, each word packing a whole output vector (``n_out x result bits``) and
``depth = prod(shape) // shape[-1]`` words deep: 1 for a dense network, more after convolutions
(or after hls4ml's FIFO-depth optimization). The HLS tool implements a shallow FIFO in shift
registers (SRL32: one LUT per bit per 32 words) and a deep one in BRAM.

Not calibrated: the only io_stream design in the calibration set (design 60, 16-5 on a Zynq-7020)
has no firmware; its top report is a sanity check (see docs/benchmarks.md).
"""

from __future__ import annotations

import math

from .hardware_model import rom_bram_18k
from .layers import ActivationSpec, DenseSpec, DesignSpec
from .report import LayerResources

__all__ = ["stream_fifos", "fifo_resources", "SRL_MAX_DEPTH", "FIFO_CONTROL_LUT", "FIFO_CONTROL_FF"]

SRL_MAX_DEPTH = 32
"""Deepest FIFO the tools build from SRL32 shift registers; deeper ones go to BRAM."""
FIFO_CONTROL_LUT = 20
"""LUTs of one FIFO's read/write pointers and full/empty flags (design 60: 142 LUT of top-level glue)."""
FIFO_CONTROL_FF = 12
"""Flip-flops of one FIFO's pointers and flags (design 60: 25 FF of top-level glue)."""


def fifo_resources(name: str, depth: int, width_bits: int) -> LayerResources:
    """LUT / FF / BRAM of one FIFO of ``depth`` words of ``width_bits`` (latency 0: it is a wire to the scheduler)."""
    if depth <= SRL_MAX_DEPTH:
        lut, ff, bram = width_bits * math.ceil(depth / SRL_MAX_DEPTH) + FIFO_CONTROL_LUT, FIFO_CONTROL_FF, 0
    else:
        lut, ff, bram = 2 * FIFO_CONTROL_LUT, 2 * FIFO_CONTROL_FF, rom_bram_18k(depth, width_bits)
    return LayerResources(name=name, dsp=0, lut=lut, ff=ff, bram_18k=bram, latency_cycles=0, ii=1)


def _output_width_bits(layer) -> int:
    if isinstance(layer, DenseSpec):
        return layer.n_out * layer.accum_type.width
    if isinstance(layer, ActivationSpec):
        return layer.n_in * layer.result_type.width
    return int(getattr(layer, "stream_width_bits", 0))  # a feature map: one pixel's channels per word


def stream_fifos(design: DesignSpec, depth: int = 1) -> tuple[LayerResources, ...]:
    """One FIFO row per internal stream of an io_stream design (none for io_parallel).

    The last layer's output is the top function's port, not a FIFO.

    Args:
        design: The design; only layers with ``io_type == "io_stream"`` feed FIFOs.
        depth: Words per FIFO (hls4ml's default for dense outputs is 1).
    """
    rows = []
    for layer in design.layers[:-1]:
        if layer.io_type == "io_stream":
            # After a convolution hls4ml sizes the stream to the feature map: one word per pixel.
            layer_depth = int(getattr(layer, "fifo_depth", depth))
            rows.append(fifo_resources(f"{layer.name}_fifo", layer_depth, _output_width_bits(layer)))
    return tuple(rows)
