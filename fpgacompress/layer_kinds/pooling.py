"""Pooling: ``MaxPooling1D/2D``, ``AveragePooling1D/2D`` and their global forms, ``channels_last``.

Max pooling picks one of its inputs, so it is exact. Average pooling sums in a wider type and
divides by the window size; hls4ml then casts the mean to the *input's* type, dropping the bits the
division added (measured: 100 of 100 samples differ after a 2x2 average). With a window of ``2**k``
pixels the mean needs exactly ``k`` more fractional bits, so :meth:`PoolingKind.hls_settings` gives
the sum and the result those bits when the input has a fixed-point type (a ``QActivation`` before
it): then the firmware equals Keras bit for bit. Any other window size divides inexactly in both
Keras (float32) and the firmware, and the C-simulation reports fidelity instead.
"""

from __future__ import annotations

import math

from ..errors import ModelError
from .base import LayerKind, Step
from .convolution import check_channels_last
from .dense import _parse_fixed

__all__ = ["PoolingKind"]

_AVERAGE_INEXACT = "average pooling over a window that is not a power of two divides inexactly"


class PoolingKind(LayerKind):
    """Max / average pooling over windows, or over the whole image (global)."""

    family = "pooling"
    keras_classes = (
        "MaxPooling1D",
        "MaxPooling2D",
        "AveragePooling1D",
        "AveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
    )
    supported = (
        "channels_last; padding valid; strides equal to pool_size (non-overlapping windows); keepdims=False"
    )
    firmware = (
        "max pooling exact; average pooling exact over 2**k pixels after a QActivation (the mean gets k more "
        "fractional bits), else not bit-exact"
    )

    def check(self, layer) -> None:
        check_channels_last(layer)
        if type(layer).__name__.startswith("Global"):
            if getattr(layer, "keepdims", False):
                raise ModelError(
                    f"Layer '{layer.name}' has keepdims=True, which hls4ml does not build; use keepdims=False "
                    "(a Reshape after it if the shape matters)."
                )
            return
        if layer.padding != "valid":
            raise ModelError(
                f"Layer '{layer.name}' has padding='{layer.padding}'; the firmware build pools with "
                "padding='valid' only (put a ZeroPadding layer before it)."
            )
        if tuple(layer.strides) != tuple(layer.pool_size):
            raise ModelError(
                f"Layer '{layer.name}' has strides={tuple(layer.strides)} and pool_size={tuple(layer.pool_size)}; "
                "hls4ml's streaming pooling needs non-overlapping windows: set strides equal to pool_size."
            )

    def window_size(self, layer) -> int:
        """Pixels averaged (or compared) into one output value."""
        if type(layer).__name__.startswith("Global"):
            return int(math.prod(layer.input_shape[1:-1]))
        return int(math.prod(layer.pool_size))

    def _exact_average_bits(self, layer) -> int | None:
        """``k`` for an average over ``2**k`` pixels, ``None`` for max pooling or another window."""
        window = self.window_size(layer)
        if "Average" not in type(layer).__name__ or window & (window - 1):
            return None
        return window.bit_length() - 1

    def steps(self, layer) -> list[Step]:
        inexact = "Average" in type(layer).__name__ and self._exact_average_bits(layer) is None
        n_out = int(math.prod(layer.output_shape[1:]))
        return [Step(layer.name, None, _AVERAGE_INEXACT if inexact else None, n_out)]

    def hls_settings(self, layer, hls_config: dict, previous_step: str | None) -> None:
        extra_bits = self._exact_average_bits(layer)
        if extra_bits is None or previous_step is None:
            return
        layers = hls_config["LayerName"]
        parsed = _parse_fixed(layers.get(previous_step, {}).get("Precision", {}).get("result", "auto"))
        if parsed is None:
            return  # an 'auto' input type: hls4ml's own typing (the C-simulation shows the difference)
        signed, width, integer = parsed
        prefix = "fixed" if signed else "ufixed"
        precision = layers.setdefault(layer.name, {}).setdefault("Precision", {})
        precision["accum"] = f"{prefix}<{width + 2 * extra_bits},{integer + extra_bits}>"  # the sum
        precision["result"] = f"{prefix}<{width + extra_bits},{integer}>"  # the mean, exactly

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_conv import pooling_specs

        return pooling_specs(layer, current_type)
