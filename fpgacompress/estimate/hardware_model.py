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
- each output sums its nonzero products in an adder tree ``accum`` bits wide.

Example:
    >>> counts = count_dense(layer, coefficients, binding="auto")
    >>> counts.dsp_products, counts.adder_tree_levels
    (468, 4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .coefficients import EstimatorCoefficients
from .fixed_point import csd_digit_counts
from .layers import DenseSpec

__all__ = ["DenseCounts", "count_dense", "multiplier_limit"]


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
    """

    n_nonzero: int
    dsp_products: int
    shift_add_bits: int
    accumulate_bits: int
    adder_tree_levels: int
    multiplier_limit: int
    shared_multipliers: bool


def multiplier_limit(n_in: int, n_out: int, n_zeros: int, reuse_factor: int) -> int:
    """hls4ml's ``multiplier_limit``: multipliers a latency-strategy dense layer instantiates."""
    return max(0, math.ceil(n_in * n_out / reuse_factor) - n_zeros // reuse_factor)


def _odd_part_bits(integers: np.ndarray) -> np.ndarray:
    """Significant bits of ``|c|`` once its trailing zeros (free shifts) are removed."""
    magnitude = np.abs(integers)
    lowest_set_bit = magnitude & -magnitude
    odd = np.where(magnitude > 0, magnitude // np.maximum(lowest_set_bit, 1), 0)
    return np.where(odd > 0, np.floor(np.log2(np.maximum(odd, 1))).astype(np.int64) + 1, 0)


def count_dense(layer: DenseSpec, coefficients: EstimatorCoefficients, binding: str) -> DenseCounts:
    """Count the DSPs, adder bits and tree depth of ``layer`` under a multiplier ``binding``.

    Args:
        layer: The dense layer with its exact weights and types.
        coefficients: Supplies the DSP binding thresholds.
        binding: ``auto``, ``dsp`` or ``fabric``.
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
    if allowed_on_dsp:
        # One DSP per distinct (input, signed weight value): HLS shares identical products.
        constant_dsp = sum(
            len(np.unique(row[mask])) for row, mask in zip(integers, wide_constant, strict=False)
        )
    else:
        constant_dsp = 0
        wide_constant = np.zeros_like(wide_constant)
    limit = multiplier_limit(
        layer.n_in, layer.n_out, layer.n_in * layer.n_out - n_nonzero, layer.reuse_factor
    )
    shared = layer.reuse_factor > 1 and limit < constant_dsp
    dsp_products = min(constant_dsp, limit) if allowed_on_dsp else 0
    lut_products = nonzero & ~wide_constant
    product_bits = input_bits + _odd_part_bits(integers)
    shift_add_bits = int(((csd_digits - 1).clip(min=0) * product_bits)[lut_products].sum())
    nonzero_per_output = nonzero.sum(axis=0)
    accumulate_bits = int(np.clip(nonzero_per_output - 1, 0, None).sum() * layer.accum_type.width)
    deepest = int(nonzero_per_output.max()) if nonzero_per_output.size else 0
    levels = math.ceil(math.log2(deepest)) if deepest > 1 else 0
    return DenseCounts(
        n_nonzero=n_nonzero,
        dsp_products=int(dsp_products),
        shift_add_bits=shift_add_bits,
        accumulate_bits=accumulate_bits,
        adder_tree_levels=levels,
        multiplier_limit=limit,
        shared_multipliers=shared,
    )
