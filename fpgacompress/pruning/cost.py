"""What each kernel weight costs the FPGA: the one adapter between pruning and the estimator.

The estimator (:mod:`fpgacompress.estimation`) counts hardware per layer. Pruning needs the same
physics per *product*, so that a criterion can ask "what does cutting this weight save?". This
module reads the model the way the estimator does (:func:`~fpgacompress.estimation.keras_reader.read_keras_model`:
the layer's weight, input and accumulator types at the given precision) and applies the
estimator's counting rules (:mod:`~fpgacompress.estimation.hardware_model`) and calibrated LUT
coefficients to one product at a time:

- a constant with at least ``dsp_min_csd_digits`` canonical-signed-digit digits becomes a DSP when
  the binding allows it (``dsp``, or ``auto`` with inputs of at least ``auto_dsp_min_input_bits``);
- otherwise it is ``csd_digits - 1`` shift-adds in LUTs, each as wide as the input plus the
  constant's odd part, at the calibrated ``shift_add_bits`` LUTs per bit;
- every nonzero product adds one input to its output's adder tree: ``accum`` bits at the
  calibrated ``accumulate_bits`` LUTs per bit.

Sharing of identical products and reuse-factor sharing are not attributed to single weights; the
whole-design estimate (:func:`~fpgacompress.estimation.estimate`) remains the judge of what fits.
A weight that already quantizes to zero is costed as if it had one CSD digit, so ranking stays
finite and it is still the cheapest to remove. Costs combine as ``lut + LUT_PER_DSP * dsp``.

If the estimator's counting rules change, this is the one place to update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ProductCost", "product_costs", "LUT_PER_DSP"]

LUT_PER_DSP = 55.0
"""LUT equivalent of one DSP48 slice for ranking and for the benchmark's ``LUT + 55*DSP`` figure."""


@dataclass(frozen=True)
class ProductCost:
    """Per-weight hardware cost of one dense layer, arrays shaped like its kernel.

    Attributes:
        lut: LUTs the product and its adder-tree input take (0 DSP part).
        dsp: 1.0 where the product is a DSP, else 0.0.
    """

    lut: np.ndarray
    dsp: np.ndarray

    def combined(self, lut_per_dsp: float = LUT_PER_DSP) -> np.ndarray:
        """``lut + lut_per_dsp * dsp``: one number per weight, in LUT equivalents."""
        return self.lut + lut_per_dsp * self.dsp


def _odd_part_bits(integers: np.ndarray) -> np.ndarray:
    magnitude = np.abs(integers)
    lowest_set_bit = magnitude & -magnitude
    odd = np.where(magnitude > 0, magnitude // np.maximum(lowest_set_bit, 1), 0)
    return np.where(odd > 0, np.floor(np.log2(np.maximum(odd, 1))).astype(np.int64) + 1, 0)


def product_costs(
    model,
    *,
    multiplier_binding: str = "auto",
    default_precision: str = "ap_fixed<16,6>",
    hls_tool: str | None = None,
) -> dict[str, ProductCost]:
    """Per-weight LUT and DSP cost of every Dense and convolution kernel of ``model`` (Keras or QKeras).

    Args:
        model: the model as it will be converted (QDense layers carry their own types).
        multiplier_binding: ``auto``, ``dsp`` or ``fabric``, as for the estimator.
        default_precision: the type of float layers' weights, inputs and sums.
        hls_tool: ``vitis-2024.1``, ``vivado-2019.2``, ... (default: the estimator's); each tool era has
            its own calibrated LUT coefficients.
    """
    from ..estimation.coefficients import load_coefficients
    from ..estimation.convolution import ConvolutionSpec
    from ..estimation.fixed_point import csd_digit_counts
    from ..estimation.hls_tools import DEFAULT_HLS_TOOL, parse_hls_tool
    from ..estimation.keras_reader import read_keras_model
    from ..estimation.layers import DenseSpec

    hls_tool = str(parse_hls_tool(hls_tool or DEFAULT_HLS_TOOL))
    coefficients = load_coefficients()
    lut_model = coefficients.model(parse_hls_tool(hls_tool).era, "dense_lut")
    design = read_keras_model(
        model, hls_tool=hls_tool, multiplier_binding=multiplier_binding, default_precision=default_precision
    )
    costs = {}
    for spec in design.layers:
        # A convolution is hls4ml's dense kernel (kernel x in-channels -> filters) applied to every window:
        # each weight is one product of that kernel, built once per parallel pixel (io_stream: once).
        layer = spec.kernel_dense() if isinstance(spec, ConvolutionSpec) else spec
        copies = spec.parallel_pixels if isinstance(spec, ConvolutionSpec) else 1
        if not isinstance(layer, DenseSpec):
            continue
        integers = layer.weight_integers
        digits = np.maximum(csd_digit_counts(integers), 1)
        input_bits = layer.input_type.width
        allowed_on_dsp = multiplier_binding == "dsp" or (
            multiplier_binding == "auto" and input_bits >= coefficients.auto_dsp_min_input_bits
        )
        on_dsp = allowed_on_dsp & (digits >= coefficients.dsp_min_csd_digits)
        shift_add_bits = (digits - 1) * (input_bits + np.maximum(_odd_part_bits(integers), 1))
        lut = (
            np.where(on_dsp, 0.0, lut_model.get("shift_add_bits", 0.0) * shift_add_bits)
            + lut_model.get("accumulate_bits", 0.0) * layer.accum_type.width
        )
        shape = _keras_kernel_shape(spec) if isinstance(spec, ConvolutionSpec) else lut.shape
        costs[layer.name] = ProductCost(
            lut=(copies * lut).astype(np.float64).reshape(shape),
            dsp=(copies * on_dsp).astype(np.float64).reshape(shape),
        )
    return costs


def _keras_kernel_shape(spec) -> tuple[int, ...]:
    """``(kh, kw, in-channels, filters)`` / ``(k, in-channels, filters)``: hls4ml flattens it row-major."""
    return (*spec.kernel, int(spec.in_shape[-1]), int(spec.out_shape[-1]))
