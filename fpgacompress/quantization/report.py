"""Per-layer cost of a (quantized) model: bits, sparsity, multiplications left, and BOPs.

BOPs (bit operations) are the hardware-independent cost used to compare compressed models:
``sum over nonzero weights of weight_bits * input_bits``, where a layer's input bits are the bits of
the quantizer in front of it (the input quantizer, or the previous ReLU's ``quantized_relu``).
Zeros are counted *after* quantization: a small weight that quantizes to 0 costs nothing.

Tensors without a quantizer (a float model, an unquantized input) are counted at hls4ml's default
precision ``fixed<16,6>``, i.e. 16 bits, because that is what the firmware would use for them.
Ternary and binary weights need no multiplier (only additions and subtractions), so they count
zero multiplications, while their BOPs still count their 2 or 1 bits.

Convolutions (``Conv1D`` / ``Conv2D`` / ``QConv1D`` / ``QConv2D``) use the BOPs of the QKeras /
hls4ml papers (Baskin et al. 2021, "UNIQ"; Hawks et al. 2021, "Ps and Qs", eq. 2), which also
count the accumulation: per output pixel ``m n k^d [(1 - f_p) b_w b_a + b_a + b_w + log2(n k^d)]``
with ``m`` filters, ``n`` input channels, ``k^d`` kernel positions and ``f_p`` the fraction of
zero weights, times the number of output pixels. Their ``multiplications`` are the products per
inference (nonzero weights x output pixels); the firmware reuses one multiplier per nonzero weight
over the pixels. Dense rows keep the product-only count above, so Dense numbers stay comparable
with earlier tables.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .convert import quantized_kernel

__all__ = ["LayerReport", "QuantizationReport", "quantization_report", "UNQUANTIZED_BITS"]

UNQUANTIZED_BITS = 16  # hls4ml's default precision fixed<16,6> for anything without a quantizer
_MULTIPLIER_FREE = ("ternary", "binary")
# layers whose output values are input values: the bits in front of the next layer do not change
_VALUE_PRESERVING = (
    "Flatten",
    "Reshape",
    "Dropout",
    "MaxPooling1D",
    "MaxPooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
)


@dataclass(frozen=True)
class LayerReport:
    """The cost of one Dense / QDense or convolution layer (``output_pixels`` > 1 for a convolution)."""

    name: str
    weight_quantizer: str
    weight_bits: int
    bias_bits: int
    input_bits: int
    n_weights: int
    n_nonzero: int
    multiplications: int
    bops: int
    output_pixels: int = 1

    @property
    def sparsity(self) -> float:
        """Fraction of kernel weights that are zero after quantization."""
        return 1.0 - self.n_nonzero / max(self.n_weights, 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "sparsity": self.sparsity}


@dataclass(frozen=True)
class QuantizationReport:
    """Per-layer costs and their totals for one model."""

    input_quantizer: str
    layers: tuple[LayerReport, ...]

    @property
    def total_bops(self) -> int:
        return sum(layer.bops for layer in self.layers)

    @property
    def n_weights(self) -> int:
        return sum(layer.n_weights for layer in self.layers)

    @property
    def n_nonzero(self) -> int:
        return sum(layer.n_nonzero for layer in self.layers)

    @property
    def multiplications(self) -> int:
        return sum(layer.multiplications for layer in self.layers)

    @property
    def sparsity(self) -> float:
        return 1.0 - self.n_nonzero / max(self.n_weights, 1)

    def to_dict(self) -> dict:
        return {
            "input_quantizer": self.input_quantizer,
            "total_bops": self.total_bops,
            "n_weights": self.n_weights,
            "n_nonzero": self.n_nonzero,
            "sparsity": self.sparsity,
            "multiplications": self.multiplications,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def table(self) -> str:
        """A fixed-width text table, one row per layer and a total row."""
        header = f"{'layer':<10} {'weights':<12} {'w bits':>6} {'b bits':>6} {'in bits':>7} {'sparsity':>8} {'mults':>7} {'BOPs':>10}"
        rows = [header, "-" * len(header)]
        for layer in self.layers:
            rows.append(
                f"{layer.name:<10} {layer.weight_quantizer:<12} {layer.weight_bits:>6} {layer.bias_bits:>6} "
                f"{layer.input_bits:>7} {layer.sparsity:>8.1%} {layer.multiplications:>7} {layer.bops:>10}"
            )
        rows.append("-" * len(header))
        rows.append(
            f"{'total':<10} {'input ' + self.input_quantizer:<34} {self.sparsity:>8.1%} "
            f"{self.multiplications:>7} {self.total_bops:>10}"
        )
        return "\n".join(rows)


def quantization_report(model, unquantized_bits: int = UNQUANTIZED_BITS) -> QuantizationReport:
    """Bits, sparsity, multiplications and BOPs of every Dense / QDense / convolution layer of ``model``.

    Works on float models too (everything counted at ``unquantized_bits``), so a float, a pruned
    and a quantized model can be compared in one table.
    """
    import tensorflow as tf

    current_bits = unquantized_bits
    input_quantizer = f"float ({unquantized_bits} bits)"
    seen_first_layer = False
    layers = []
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        quantizer = getattr(layer, "quantizer", None)  # QActivation
        if quantizer is not None:
            current_bits = _bits(quantizer, unquantized_bits)
            if not seen_first_layer:
                input_quantizer = _describe(quantizer, unquantized_bits)
        elif getattr(layer, "kernel", None) is not None and len(layer.kernel.shape) > 2:
            layers.append(_convolution_report(layer, current_bits, unquantized_bits))
            current_bits = unquantized_bits
        elif getattr(layer, "kernel", None) is not None and len(layer.kernel.shape) == 2:
            kernel_quantizer = getattr(layer, "kernel_quantizer_internal", None)
            kernel = quantized_kernel(layer)
            weight_bits = _bits(kernel_quantizer, unquantized_bits)
            n_nonzero = int(np.count_nonzero(kernel))
            multiplier_free = type(kernel_quantizer).__name__ in _MULTIPLIER_FREE
            layers.append(
                LayerReport(
                    name=layer.name,
                    weight_quantizer=_describe(kernel_quantizer, unquantized_bits),
                    weight_bits=weight_bits,
                    bias_bits=_bits(getattr(layer, "bias_quantizer_internal", None), unquantized_bits),
                    input_bits=current_bits,
                    n_weights=int(kernel.size),
                    n_nonzero=n_nonzero,
                    multiplications=0 if multiplier_free else n_nonzero,
                    bops=n_nonzero * weight_bits * current_bits,
                )
            )
            current_bits = unquantized_bits  # the accumulator, until the next quantizer
        elif type(layer).__name__ not in _VALUE_PRESERVING:
            current_bits = unquantized_bits  # a float activation
        seen_first_layer = True
    return QuantizationReport(input_quantizer=input_quantizer, layers=tuple(layers))


def _convolution_report(layer, input_bits: int, unquantized_bits: int) -> LayerReport:
    """A convolution's row: Hawks et al.'s BOPs per output pixel times the output pixels."""
    kernel_quantizer = getattr(layer, "kernel_quantizer_internal", None)
    kernel = quantized_kernel(layer)
    weight_bits = _bits(kernel_quantizer, unquantized_bits)
    n_nonzero = int(np.count_nonzero(kernel))
    products_per_filter = int(np.prod(kernel.shape[:-1]))  # n k^d
    pixels = int(np.prod(layer.output_shape[1:-1]))
    bops_per_pixel = n_nonzero * weight_bits * input_bits + kernel.size * (
        weight_bits + input_bits + math.log2(products_per_filter)
    )
    multiplier_free = type(kernel_quantizer).__name__ in _MULTIPLIER_FREE
    return LayerReport(
        name=layer.name,
        weight_quantizer=_describe(kernel_quantizer, unquantized_bits),
        weight_bits=weight_bits,
        bias_bits=_bits(getattr(layer, "bias_quantizer_internal", None), unquantized_bits),
        input_bits=input_bits,
        n_weights=int(kernel.size),
        n_nonzero=n_nonzero,
        multiplications=0 if multiplier_free else n_nonzero * pixels,
        bops=int(round(bops_per_pixel * pixels)),
        output_pixels=pixels,
    )


def _bits(quantizer, unquantized_bits: int) -> int:
    if quantizer is None:
        return unquantized_bits
    return int(getattr(quantizer, "bits", unquantized_bits))


def _describe(quantizer, unquantized_bits: int) -> str:
    name = type(quantizer).__name__
    if quantizer is None:
        return f"float ({unquantized_bits} bits)"
    if name == "quantized_bits":
        return f"fixed<{quantizer.bits},{int(quantizer.integer) + 1}>"
    if name == "quantized_relu":
        return f"ufixed<{quantizer.bits},{int(quantizer.integer)}>"
    return name
