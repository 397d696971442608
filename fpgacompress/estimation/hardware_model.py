"""The physics of an hls4ml layer in hardware: which products need DSPs, how wide the adders are.

Every quantity here is counted from the firmware itself (the exact weight integers and types),
so the few calibrated coefficients in :mod:`.coefficients` only convert counts into LUTs, FFs
and cycles. The counting rules, checked against 42 real C-synthesis reports:

- a product by a zero weight vanishes; a weight with one or two nonzero canonical-signed-digit
  (CSD) digits is a shift or one shift-add, always in LUTs;
- a constant with at least ``dsp_min_csd_digits`` CSD digits becomes a DSP when the binding allows
  it (``config_op mul -impl dsp``, or ``auto`` with an input of at least ``auto_dsp_min_input_bits``);
  HLS computes each distinct (input, weight value) product once, so repeated values in one input's
  row share a DSP;
- with a reuse factor the multipliers are shared: at most hls4ml's
  ``multiplier_limit = ceil(n_in*n_out/RF) - floor(n_zeros/RF)`` DSPs;
- each output sums its nonzero products in an adder tree ``accum`` bits wide;
- with ``strategy: resource`` and a reuse factor above 1 (hls4ml ``dense_resource``), the weights
  sit in a ROM (``ROM_nP_BRAM``) reshaped into ``reuse_factor`` words of ``block_factor`` weights,
  and ``block_factor = ceil(n_in*n_out/RF)`` general multipliers read them: zeros are multiplied
  too and every product is a real multiplier (DSP when the binding allows it). Not calibrated: the
  calibration set has no resource-strategy design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .coefficients import EstimatorCoefficients
from .fixed_point import csd_digit_counts
from .layers import DenseSpec

__all__ = ["DenseCounts", "count_dense", "multiplier_limit", "rom_bram_18k", "slices_per_product"]


@dataclass(frozen=True)
class DenseCounts:
    """Hardware counted in one dense layer, before any calibrated coefficient is applied.

    Attributes:
        n_nonzero: Weights that are not zero once quantized to the weight type.
        dsp_products: DSP48 slices the products need (after reuse-factor sharing).
        shift_add_bits: Total width of the adders that build LUT products from shifted inputs.
        accumulate_bits: Total width of the adder trees summing products into each output.
        adder_tree_levels: Depth of the deepest adder tree (log2 of the most nonzeros in one output).
        multiplier_limit: hls4ml's multiplier count for this reuse factor.
        shared_multipliers: True when the reuse factor makes multipliers general (not constant).
        multiplications: Products that need a real multiplier, DSP or LUT (constants of at least
            ``dsp_min_csd_digits`` CSD digits, distinct per input), whatever the binding: the
            operations hls4ml's ``ALLOCATION`` limit serializes at a reuse factor.
        deepest_sum: Most nonzero products summed into one output.
        product_bits: Total width of the products (input + weight bits per nonzero weight).
        weight_bram_18k: BRAM_18K blocks holding the weights (resource strategy only).
        general_multiplier_bits: ``input bits x weight bits`` summed over the general (non-constant)
            multipliers built in LUTs (resource strategy only).
    """

    n_nonzero: int
    dsp_products: int
    shift_add_bits: int
    accumulate_bits: int
    adder_tree_levels: int
    multiplier_limit: int
    shared_multipliers: bool
    multiplications: int = 0
    deepest_sum: int = 0
    product_bits: int = 0
    weight_bram_18k: int = 0
    general_multiplier_bits: int = 0


# (depth, width) aspect ratios of one BRAM_18K block.
_BRAM_18K_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))


def rom_bram_18k(depth: int, width_bits: int) -> int:
    """BRAM_18K blocks for a ROM of ``depth`` words of ``width_bits``, in the cheapest aspect ratio."""
    if depth <= 0 or width_bits <= 0:
        return 0
    return min(
        math.ceil(depth / rows) * math.ceil(width_bits / columns) for rows, columns in _BRAM_18K_SHAPES
    )


def multiplier_limit(n_in: int, n_out: int, n_zeros: int, reuse_factor: int) -> int:
    """hls4ml's ``multiplier_limit``: multipliers a latency-strategy dense layer instantiates."""
    return max(0, math.ceil(n_in * n_out / reuse_factor) - n_zeros // reuse_factor)


def _odd_part_bits(integers: np.ndarray) -> np.ndarray:
    """Significant bits of ``|c|`` once its trailing zeros (free shifts) are removed."""
    values, inverse = np.unique(integers, return_inverse=True)  # a few hundred distinct weights at most
    return _odd_part_bits_of(values)[inverse].reshape(np.shape(integers))


def _odd_part_bits_of(integers: np.ndarray) -> np.ndarray:
    magnitude = np.abs(integers)
    lowest_set_bit = magnitude & -magnitude
    odd = np.where(magnitude > 0, magnitude // np.maximum(lowest_set_bit, 1), 0)
    return np.where(odd > 0, np.floor(np.log2(np.maximum(odd, 1))).astype(np.int64) + 1, 0)


def slices_per_product(input_bits: int, weight_bits: int, ports: tuple[int, int] = (27, 18)) -> int:
    """DSP slices one product takes: 1 when the operands fit the slice's ports, else 2 (a 28-32-bit operand).

    A DSP48E2 multiplies 27 x 18 bits (DSP48E1: 25 x 18); a wider product is split over two
    slices (the high partial product cascaded into the second one).
    """
    wide, narrow = max(input_bits, weight_bits), min(input_bits, weight_bits)
    return 1 if wide <= ports[0] and narrow <= ports[1] else 2


def count_dense(
    layer: DenseSpec, coefficients: EstimatorCoefficients, binding: str, dsp_ports: tuple[int, int] = (27, 18)
) -> DenseCounts:
    """Count the DSPs, adder bits and tree depth of ``layer`` under a multiplier ``binding``.

    Args:
        layer: The dense layer with its exact weights and types.
        coefficients: Supplies the DSP binding thresholds.
        binding: ``auto``, ``dsp`` or ``fabric``.
        dsp_ports: Operand widths of one DSP slice on the device (:func:`~.timing.dsp_port_bits`).
    """
    integers = layer.weight_integers
    nonzero = integers != 0
    n_nonzero = int(nonzero.sum())
    csd_digits = csd_digit_counts(integers)
    input_bits = layer.input_type.width
    allowed_on_dsp = binding == "dsp" or (
        binding == "auto" and input_bits >= coefficients.auto_dsp_min_input_bits
    )
    wide_constant = csd_digits >= coefficients.dsp_min_csd_digits
    # Distinct (input, weight value) pairs among the wide constants, counted in one pass.
    rows, columns = np.nonzero(wide_constant)
    span = 2 * int(np.abs(integers).max(initial=0)) + 1
    multiplications = len(np.unique(rows * span + integers[rows, columns] + span // 2))
    nonzero_per_output = nonzero.sum(axis=0)
    deepest = int(nonzero_per_output.max()) if nonzero_per_output.size else 0
    levels = math.ceil(math.log2(deepest)) if deepest > 1 else 0
    total_product_bits = int(n_nonzero * (input_bits + layer.weight_type.width))
    if layer.strategy == "resource" and layer.reuse_factor > 1:
        return _count_resource_dense(layer, allowed_on_dsp, n_nonzero, deepest)
    if allowed_on_dsp:
        # One DSP per distinct (input, signed weight value): HLS shares identical products.
        constant_dsp = multiplications
    else:
        constant_dsp = 0
        wide_constant = np.zeros_like(wide_constant)
    # The ALLOCATION pragma's limit is computed from the zeros the config declares (hls4ml's
    # n_zeros), which the tool obeys even where the written weights have more zeros.
    zeros = layer.n_in * layer.n_out - n_nonzero if layer.declared_zeros is None else layer.declared_zeros
    limit = multiplier_limit(layer.n_in, layer.n_out, zeros, layer.reuse_factor)
    shared = layer.reuse_factor > 1 and limit < constant_dsp
    dsp_products = min(constant_dsp, limit) if allowed_on_dsp else 0
    dsp_products *= slices_per_product(
        input_bits, int(_odd_part_bits(integers).max(initial=0)) + 1, dsp_ports
    )
    lut_products = nonzero & ~wide_constant
    shift_add_widths = input_bits + _odd_part_bits(integers)
    shift_add_bits = int(((csd_digits - 1).clip(min=0) * shift_add_widths)[lut_products].sum())
    accumulate_bits = int(np.clip(nonzero_per_output - 1, 0, None).sum() * layer.accum_type.width)
    return DenseCounts(
        n_nonzero=n_nonzero,
        dsp_products=int(dsp_products),
        shift_add_bits=shift_add_bits,
        accumulate_bits=accumulate_bits,
        adder_tree_levels=levels,
        multiplier_limit=limit,
        shared_multipliers=shared,
        multiplications=int(multiplications),
        deepest_sum=deepest,
        product_bits=total_product_bits,
    )


def _count_resource_dense(
    layer: DenseSpec, allowed_on_dsp: bool, n_nonzero: int, deepest: int
) -> DenseCounts:
    """hls4ml ``dense_resource`` at reuse factor > 1: ``block_factor`` general multipliers on a weight ROM."""
    block_factor = math.ceil(layer.n_in * layer.n_out / layer.reuse_factor)
    weight_bits = layer.weight_type.width
    multiplier_bits = block_factor * layer.input_type.width * weight_bits
    return DenseCounts(
        n_nonzero=n_nonzero,
        dsp_products=block_factor if allowed_on_dsp else 0,
        shift_add_bits=0,
        # Each multiplier feeds one accumulator register per cycle: block_factor adders.
        accumulate_bits=block_factor * layer.accum_type.width,
        adder_tree_levels=1,
        multiplier_limit=block_factor,
        shared_multipliers=True,
        multiplications=layer.n_in * layer.n_out,
        deepest_sum=deepest,
        product_bits=block_factor * (layer.input_type.width + weight_bits),
        weight_bram_18k=rom_bram_18k(layer.reuse_factor, block_factor * weight_bits),
        general_multiplier_bits=0 if allowed_on_dsp else multiplier_bits,
    )
