"""Cycles and initiation interval of a dense layer: how the HLS scheduler packs delays into clock periods.

The scheduler chains operations into one clock cycle while their delays fit in the period minus
the tool's clock uncertainty (12.5 % by default in Vivado HLS and Vitis HLS); an operation that
does not fit starts a new cycle, and a slow DSP product gets pipeline registers of its own. So a
latency-strategy dense layer at reuse factor 1 costs

- ``multiply_stages``: ``ceil(multiplier delay / usable period)`` (DSP or LUT multiplier, or none
  when every product is a shift);
- ``adder_stages``: the adder tree of ``adder_tree_levels`` levels, ``floor(usable period / adder
  delay)`` levels per cycle, where the adder delay grows with the accumulator width; Vitis HLS does
  not balance the sums of a layer with more than ``CHAINED_ACCUMULATION_PRODUCTS`` products and
  adds them one after another instead (a 561-input layer: 192 cycles);
- with a reuse factor, hls4ml caps the multipliers at ``multiplier_limit`` (``ALLOCATION`` pragma),
  so the ``multiplications`` that need a real multiplier are issued ``multiplier_limit`` per cycle
  and the layer takes ``ceil(multiplications / multiplier_limit)`` cycles when that is longer,
  plus the levels of the last product's sum (:func:`serial_sum_levels`), the pipeline of a shared
  DSP48 that does not fit the period (:func:`shared_dsp_stages`) and ``serial_tail_cycles``. The
  layer's II is then its latency + 1 (below the reuse factor), and the design's the largest
  layer's: the serial layer's last cycles set the II. When the products
  fit in two issues (reuse factor 2) the tool builds the excess in LUTs instead: no serialization
  (every such layer of the calibration set kept its reuse-factor-1 latency).

Delays are in ns on a Zynq-7000 / Artix-7 speed grade -1 device, the slowest in the calibration
set; :func:`device_speed_factor` scales them to faster families. The resource strategy (weights in
ROM, ``reuse_factor`` iterations of an II=1 loop) and io_stream (one read and one write per layer)
follow hls4ml's templates and are not calibrated: the calibration set has no such design with
firmware.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .hardware_model import DenseCounts
from .layers import DenseSpec, DesignSpec

__all__ = [
    "CLOCK_UNCERTAINTY",
    "CHAINED_ACCUMULATION_PRODUCTS",
    "DSP_PIPELINE_STAGES",
    "DSP_COMBINATIONAL_NS",
    "DenseTiming",
    "device_speed_factor",
    "usable_period_ns",
    "schedule_dense",
    "serial_sum_levels",
    "shared_dsp_stages",
    "elementwise_latency_cycles",
    "table_schedule_cycles",
    "schedule_register_bits",
    "dsp_port_bits",
    "fabric_logic_factor",
]

CLOCK_UNCERTAINTY = 0.125
"""Fraction of the clock period Vivado HLS / Vitis HLS keep for routing (their default uncertainty)."""

CHAINED_ACCUMULATION_PRODUCTS = {"vitis-2021": 4096, "vitis-2024": 4096, "vivado": None}
"""Products per layer above which the tool chains the sums instead of building a tree.

Vitis HLS: observed between 2,192 (274x8, balanced: 9 cycles) and 10,976 (196x56, chained: 48
cycles) products; 4096 is hls4ml's partitioning limit (``MaximumSize``) in that range. Vivado HLS
balanced every layer of the calibration set (at most 2,048 products), so no limit is modelled.
"""

DSP_PIPELINE_STAGES = 3
"""Internal registers (input, multiplier, output) of a DSP48 the tool time-shares: it fills all three."""

DSP_COMBINATIONAL_NS = 4.0
"""Delay of a DSP48E1 product with none of its internal registers, on a 7-series speed grade -1
(data sheet DS187: about 4 ns from the A/B inputs to P); scaled by :func:`device_speed_factor`."""

# DSP48 maximum frequency of each family and speed grade (Xilinx data sheets DS187, DS183, DS892,
# DS923), relative to the Zynq-7000 / Artix-7 -1 device of the calibration set: delays scale by its
# inverse. Approximate, and a proxy for the whole fabric's speed.
_DSP_FMAX_MHZ = {
    ("7series", 1): 464.0,
    ("7series", 2): 550.0,
    ("7series", 3): 628.0,
    ("virtex7", 1): 561.0,
    ("virtex7", 2): 628.0,
    ("virtex7", 3): 741.0,
    ("ultrascale", 1): 589.0,
    ("ultrascale", 2): 661.0,
    ("ultrascale", 3): 741.0,
    ("ultrascale_plus", 1): 644.0,
    ("ultrascale_plus", 2): 775.0,
    ("ultrascale_plus", 3): 891.0,
}
_REFERENCE_FMAX_MHZ = _DSP_FMAX_MHZ[("7series", 1)]


def _family(part: str) -> str:
    part = part.lower()
    if part.startswith(("xczu", "xcu2", "xcu5", "xcvu", "xcku", "xcvc", "xcvp", "xcau")):
        plus = part.startswith(("xczu", "xcu2", "xcu5", "xcvc", "xcvp", "xcau"))
        plus = plus or bool(re.match(r"xc(vu|ku)\d+p", part))
        return "ultrascale_plus" if plus else "ultrascale"
    if part.startswith("xc7v"):
        return "virtex7"
    return "7series"


def device_speed_factor(part: str) -> float:
    """Multiplier of every calibrated delay on ``part`` (1.0 on Zynq-7000 / Artix-7 speed grade -1).

    Read from the part string's family and speed grade (``xcvu9p-flga2104-2L-e`` -> UltraScale+
    -2 -> 0.60). An empty or unknown part gives 1.0: the slow end, so cycles are not underestimated.

    Example:
        >>> round(device_speed_factor("xcu250-figd2104-2L-e"), 2), device_speed_factor("xc7z020-clg484-1")
        (0.6, 1.0)
    """
    if not part:
        return 1.0
    family = _family(part)
    grades = [int(grade) for grade in re.findall(r"-(\d)", part.lower())]
    grade = grades[-1] if grades and 1 <= grades[-1] <= 3 else 1
    return _REFERENCE_FMAX_MHZ / _DSP_FMAX_MHZ[(family, grade)]


def fabric_logic_factor(part: str, timing: dict[str, float]) -> float:
    """Extra factor on LUT / carry-chain delays of an UltraScale(+) part, beyond its DSP speed.

    The DSP48 data-sheet ratio (:func:`device_speed_factor`) understates how much faster
    UltraScale's CARRY8 adders and LUT routing are than 7-series' CARRY4: Vivado HLS at 5 ns fits a
    whole 6-level adder tree in one cycle on a VU9P / U250 and one level per cycle on a Zynq-7020.
    ``ultrascale_logic_factor`` (calibrated; 1.0 when absent) carries that difference.
    """
    if _family(part or "").startswith("ultrascale"):
        return timing.get("ultrascale_logic_factor", 1.0)
    return 1.0


def dsp_port_bits(part: str) -> tuple[int, int]:
    """Widest operands one DSP slice multiplies: 25 x 18 (DSP48E1, 7-series), 27 x 18 (DSP48E2, UltraScale(+))."""
    return (25, 18) if _family(part or "") in ("7series", "virtex7") else (27, 18)


def usable_period_ns(clock_period_ns: float, uncertainty: float = CLOCK_UNCERTAINTY) -> float:
    """The part of a clock period the scheduler may fill with logic delay."""
    return clock_period_ns * (1.0 - uncertainty)


@dataclass(frozen=True)
class DenseTiming:
    """Cycles of one dense layer and where they come from.

    Attributes:
        latency_cycles: Cycles from the layer's input to its output (the csynth report's latency).
        ii: Initiation interval: cycles between two inputs.
        multiply_stages: Cycles spent in the multipliers.
        adder_stages: Cycles spent in the adder tree (or chain).
        serial_cycles: Cycles the multiplier limit (reuse factor) or the reuse loop imposes, 0 if none.
        multiplier_delay_ns: Delay of one product on this device (0 when unknown).
        adder_delay_ns: Delay of one adder level on this device (0 when unknown).
        period_ns: The usable clock period the schedule was cut into (0 when unknown).
    """

    latency_cycles: int
    ii: int
    multiply_stages: int
    adder_stages: int
    serial_cycles: int
    multiplier_delay_ns: float = 0.0
    adder_delay_ns: float = 0.0
    period_ns: float = 0.0


def _stages(delay_ns: float, period_ns: float) -> int:
    return math.ceil(delay_ns / period_ns - 1e-9) if delay_ns > 0 else 0


def schedule_dense(
    layer: DenseSpec, counts: DenseCounts, design: DesignSpec, timing: dict[str, float]
) -> DenseTiming:
    """Schedule ``layer`` with the calibrated delays ``timing`` (one tool's ``dense_timing`` model).

    Args:
        layer: The dense layer (types, reuse factor, strategy, io_type).
        counts: Its counted hardware (:func:`~fpgacompress.estimation.hardware_model.count_dense`).
        design: Clock, tool and part.
        timing: ``multiplier_dsp_ns``, ``multiplier_lut_ns``, ``adder_ns``, ``adder_per_bit_ns``,
            ``chained_adder_ns``, ``layer_overhead_cycles``, ``serial_tail_cycles``.
    """
    period = usable_period_ns(design.clock_period_ns)
    speed = device_speed_factor(design.part)
    logic = speed * fabric_logic_factor(design.part, timing)
    adder_delay = (timing["adder_ns"] + timing["adder_per_bit_ns"] * layer.accum_type.width) * logic
    if counts.dsp_products:
        multiplier_delay = timing["multiplier_dsp_ns"] * speed
    elif counts.multiplications:
        multiplier_delay = timing["multiplier_lut_ns"] * logic
    else:
        multiplier_delay = adder_delay  # only shifts and shift-adds: one adder deep
    multiply_stages = _stages(multiplier_delay, period)
    chain_limit = CHAINED_ACCUMULATION_PRODUCTS.get(design.tool.era)
    resource = layer.strategy == "resource" and layer.reuse_factor > 1
    if chain_limit is not None and layer.n_in * layer.n_out > chain_limit and not resource:
        adder_stages = _stages(counts.deepest_sum * timing["chained_adder_ns"] * logic, period)
    else:
        levels_per_cycle = max(1, math.floor(period / adder_delay)) if adder_delay > 0 else 1
        adder_stages = math.ceil(counts.adder_tree_levels / levels_per_cycle)
    overhead = timing["layer_overhead_cycles"]
    stream_cycles = 2 if layer.io_type == "io_stream" else 0  # read the input, write the output
    if resource:
        # hls4ml dense_resource: reuse_factor iterations of an II=1 loop, each a product and an
        # accumulation, then the cast of the accumulators.
        serial = layer.reuse_factor
        latency = max(1, round(serial + multiply_stages + 1 + overhead) + stream_cycles)
        # io_stream: a dataflow process is not pipelined across calls (hls4ml's stream wrapper
        # reads the whole input before the reuse loop), so it starts again only when it is done.
        ii = max(layer.reuse_factor, latency) if layer.io_type == "io_stream" else layer.reuse_factor
        return DenseTiming(
            latency,
            ii,
            multiply_stages,
            1,
            serial,
            multiplier_delay,
            adder_delay,
            period,
        )
    if adder_stages <= counts.adder_tree_levels:
        # The scheduler chains the product into the first adder levels: cut the whole delay
        # chain (product, then each level) into periods; no adder is split across a register.
        chain_ns = multiplier_delay + counts.adder_tree_levels * adder_delay
        chained_stages = _stages(chain_ns, period) if chain_ns > 0 else 0
        parallel = max(chained_stages, adder_stages) + overhead - 1
    else:
        parallel = multiply_stages + adder_stages + overhead - 1
    serial = 0
    latency = parallel
    if counts.multiplier_limit and counts.multiplications > 2 * counts.multiplier_limit:
        serial = math.ceil(counts.multiplications / counts.multiplier_limit)
        tail = (
            timing["serial_tail_cycles"]
            + serial_sum_levels(counts.deepest_sum)
            + (shared_dsp_stages(design) if counts.dsp_products else 0)
        )
        latency = max(parallel, serial + tail)
    latency = max(0, round(latency)) + stream_cycles
    # A shared multiplier is a pipeline of at least one stage: II = RF, or its latency + 1 if shorter.
    ii = 1 if layer.reuse_factor == 1 else min(layer.reuse_factor, max(latency, 1) + 1)
    if layer.io_type == "io_stream":
        ii = max(ii, latency)  # a dataflow process is not pipelined across calls
    return DenseTiming(
        latency, ii, multiply_stages, adder_stages, serial, multiplier_delay, adder_delay, period
    )


def shared_dsp_stages(design: DesignSpec) -> int:
    """Cycles a time-shared DSP48 product adds after its issue cycle: 0 or ``DSP_PIPELINE_STAGES - 1``.

    The tool either chains a shared DSP's product into one cycle, when the slice's combinational
    delay (:data:`DSP_COMBINATIONAL_NS`, scaled to the device) fits the usable period, or uses the
    slice's internal pipeline (input, multiplier and output registers), whose first stage overlaps
    the issue cycle. Vitis HLS 2021.1 on an xc7z007s-2: 2 more cycles than the same layer's fabric
    products at 3.33 ns, none at 5 ns; Vivado HLS on an xc7z020-1 at 5 ns: none.
    """
    delay = DSP_COMBINATIONAL_NS * device_speed_factor(design.part)
    if delay <= usable_period_ns(design.clock_period_ns):
        return 0
    return DSP_PIPELINE_STAGES - 1


def serial_sum_levels(deepest_sum: int) -> int:
    """Cycles the sums take after the last shared product is issued: ``floor(log3(deepest_sum)) - 1``.

    With a reuse factor the tool issues the products over many cycles and sums each output's
    products as they arrive; what is left after the last issue is the part of the output's tree
    above that product. The reports time it as a tree of three-operand additions (a LUT6 and its
    carry chain add three operands at once), one level per cycle, whose first level chains into
    the last product's own cycle: 5-8 products 0 cycles, 9-26 one, 27-80 two, 81-242 three, at
    3.33 ns and at 5 ns alike.

    Example:
        >>> [serial_sum_levels(n) for n in (1, 8, 9, 26, 27, 222)]
        [0, 0, 1, 1, 2, 3]
    """
    if deepest_sum < 9:
        return 0
    levels = 0
    while 3 ** (levels + 1) <= deepest_sum:
        levels += 1
    return levels - 1


def elementwise_latency_cycles(design: DesignSpec, elementwise_ns: float) -> int:
    """Cycles of an element-wise layer (ReLU, batch-norm scale): one comparison or add, then a mux.

    Zero when its delay fits in the usable period (it chains into its neighbours' cycle).
    """
    delay = elementwise_ns * device_speed_factor(design.part)
    return max(0, _stages(delay, usable_period_ns(design.clock_period_ns)) - 1)


def _tree_cycles(levels: int, level_delay_ns: float, period_ns: float) -> int:
    """Cycles of a reduction tree: levels chain while they fit in a period, a slower level takes several."""
    if levels <= 0 or level_delay_ns <= 0:
        return 0
    if level_delay_ns > period_ns:
        return levels * _stages(level_delay_ns, period_ns)
    return math.ceil(levels / math.floor(period_ns / level_delay_ns))


TABLE_SUM_BITS = 18
"""Width of a softmax's sum of exponentials: hls4ml's default ``exp_table_t`` (``ap_fixed<18,8>``)."""


def table_schedule_cycles(
    function: str, n_in: int, design: DesignSpec, timing: dict[str, float], compare_ns: float, dsp: bool
) -> int:
    """Cycles of a table activation's logic around its table reads (the reads are fitted per tool).

    hls4ml's ``softmax_stable`` (the default since 0.8) finds the maximum with a tree of
    ``ceil(log2 n)`` comparisons (a compare and select, timed like a ReLU: ``compare_ns``), reads
    the exponentials, sums them with a tree of saturating adders, reads the inverse and multiplies
    (a DSP48 pipeline when the binding gives it one, else a fabric product chained into the read).
    Each tree is cut into periods like a dense layer's adder tree; both are fabric logic, so an
    UltraScale(+) part's faster fabric (:func:`fabric_logic_factor`) counts. Sigmoid and tanh are
    one read.
    """
    if function != "softmax":
        return 0
    period = usable_period_ns(design.clock_period_ns)
    speed = device_speed_factor(design.part)
    logic = speed * fabric_logic_factor(design.part, timing)
    levels = math.ceil(math.log2(n_in)) if n_in > 1 else 0
    adder_ns = (timing.get("adder_ns", 0.0) + timing.get("adder_per_bit_ns", 0.0) * TABLE_SUM_BITS) * logic
    cycles = _tree_cycles(levels, compare_ns * logic, period) + _tree_cycles(levels, adder_ns, period)
    if dsp:
        cycles += _stages(timing.get("multiplier_dsp_ns", 0.0) * speed, period)
    return cycles


def schedule_register_bits(layer: DenseSpec, counts: DenseCounts, timing: DenseTiming) -> int:
    """Flip-flop bits the schedule of a dense layer holds: the live data at every cycle boundary.

    A layer of ``L`` cycles has ``L`` register boundaries along its delay chain (product, then the
    adder levels); the scheduler cuts the chain where a period is full, so boundary ``k`` sits
    ``k / (L + 1)`` of the way along it and the layer's result leaves combinationally (the caller
    registers it: :func:`~.estimator.design_register_features`). A boundary registers what is in
    flight there: every product (``input + weight`` bits; HLS pipelines a DSP product with
    fabric registers too) while the multipliers run, then each output's remaining partial sums (``ceil(nonzeros / 2**level)`` of ``accum`` bits). A layer
    scheduled in 0 cycles is combinational and holds nothing. This places Vivado HLS's single
    register of an UltraScale+ layer inside the adder tree, where the reports show it. A product
    built in LUTs is one operator the scheduler cannot cut (Vitis HLS times a forced-fabric 8x8
    product at 5.3 ns yet gives it one 3.33 ns cycle): the first register holds every product and
    the others spread along the adder tree.

    With a reuse factor the latency strategy issues the products over ``serial_cycles`` and holds
    every one of them until the tree sums them; the resource strategy (``dense_resource``) instead
    keeps ``block_factor`` products and the ``n_out`` accumulators of its reuse loop.
    """
    stream_cycles = 2 if layer.io_type == "io_stream" else 0  # reading and writing the streams
    latency = timing.latency_cycles - stream_cycles
    accum_bits = layer.accum_type.width
    if latency <= 0:
        return layer.n_out * accum_bits if stream_cycles else 0
    outputs = layer.n_out * accum_bits
    nonzero_per_output = (layer.weight_integers != 0).sum(axis=0)
    product_width = layer.input_type.width + layer.weight_type.width
    resource = layer.strategy == "resource" and layer.reuse_factor > 1
    products = (counts.multiplier_limit if resource else counts.n_nonzero) * product_width
    levels = counts.adder_tree_levels
    parallel_cycles = max(1, latency - timing.serial_cycles)
    chain_ns = timing.multiplier_delay_ns + levels * timing.adder_delay_ns
    bits = 0.0
    if timing.serial_cycles:
        # Products issued over the serial cycles wait in registers for the last one (or, in the
        # resource strategy, one block of them is in flight beside the accumulators).
        bits += products + outputs
    if levels and timing.adder_stages > levels:
        # Sums chained one after another (very large layers): each product is registered once,
        # and each output's running sum is live at every cycle boundary of the chain.
        return int(round(bits + products + outputs * parallel_cycles))
    # A fabric (LUT) product is one operator the scheduler does not cut: the first register
    # holds the products, the others spread along the adder tree.
    lut_products = not counts.dsp_products and counts.multiplications > 0
    for boundary in range(1, parallel_cycles + 1):
        elapsed = chain_ns * boundary / (parallel_cycles + 1)
        if lut_products:
            if boundary == 1:
                bits += products
                continue
            adders_ns = chain_ns - timing.multiplier_delay_ns
            elapsed = timing.multiplier_delay_ns + adders_ns * (boundary - 1) / parallel_cycles
        if elapsed < timing.multiplier_delay_ns:
            bits += products
            continue
        if timing.adder_delay_ns > 0:
            level = min(levels, int((elapsed - timing.multiplier_delay_ns) / timing.adder_delay_ns) + 1)
        else:
            level = levels
        partial_sums = float(np.ceil(nonzero_per_output / 2.0**level).sum())
        bits += max(partial_sums, layer.n_out) * accum_bits
    return int(round(bits))
