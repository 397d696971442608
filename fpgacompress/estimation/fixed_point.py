"""Arbitrary-precision fixed-point types as HLS sees them: ``ap_fixed<W,I>``, ``ap_ufixed``, ``ap_int``.

The estimator needs the exact integer each weight becomes in firmware, because the hardware a
constant multiplication costs depends on that integer's bits, not on the float that trained it.

Example:
    >>> weight_type = parse_fixed_point("ap_fixed<8,1>")
    >>> weight_type.width, weight_type.fractional_bits
    (8, 7)
    >>> weight_type.to_integers([0.5, -0.25]).tolist()
    [64, -32]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["FixedPointType", "parse_fixed_point", "csd_digit_counts"]

_FIXED_PATTERN = re.compile(r"^\s*(?:ap_)?(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,[^>]*)?>\s*$")
_INTEGER_PATTERN = re.compile(r"^\s*(?:ap_)?(u?)int\s*<\s*(\d+)\s*>\s*$")


@dataclass(frozen=True)
class FixedPointType:
    """A fixed-point number format: total ``width`` bits, ``integer_bits`` of them above the point.

    Attributes:
        width: Total number of bits W.
        integer_bits: Bits left of the binary point I (including the sign bit when signed).
        signed: False for ``ap_ufixed`` / ``ap_uint``.
    """

    width: int
    integer_bits: int
    signed: bool = True

    @property
    def fractional_bits(self) -> int:
        """Bits right of the binary point: the scale is ``2**-fractional_bits``."""
        return self.width - self.integer_bits

    def to_integers(self, values) -> np.ndarray:
        """The integers the firmware stores for ``values`` (truncation toward minus infinity, wrap).

        hls4ml writes weights as decimals and the C++ constructor truncates them to the type
        (``AP_TRN``, ``AP_WRAP`` by default); we mirror that so zeros and powers of two are exact.
        """
        scaled = np.floor(np.asarray(values, dtype=np.float64) * 2.0**self.fractional_bits + 1e-9)
        modulus = 2**self.width
        wrapped = np.mod(scaled, modulus)
        if self.signed:
            wrapped = np.where(wrapped >= modulus // 2, wrapped - modulus, wrapped)
        return wrapped.astype(np.int64)

    def __str__(self) -> str:
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer_bits}>"


def parse_fixed_point(text: str) -> FixedPointType:
    """Parse an HLS or hls4ml precision string (``ap_fixed<16,6>``, ``fixed<6,1,TRN,WRAP>``, ``ap_uint<1>``).

    Raises:
        ConfigError: when the text is not a fixed-point or integer type.
    """
    match = _FIXED_PATTERN.match(text)
    if match:
        unsigned, width, integer_bits = match.groups()
        return FixedPointType(int(width), int(integer_bits), signed=not unsigned)
    match = _INTEGER_PATTERN.match(text)
    if match:
        unsigned, width = match.groups()
        return FixedPointType(int(width), int(width), signed=not unsigned)
    raise ConfigError(
        f"Cannot read the fixed-point type {text!r}: expected ap_fixed<W,I>, ap_ufixed<W,I>, "
        "ap_int<W> or ap_uint<W> (hls4ml precision strings like fixed<6,1> are accepted too)."
    )


def csd_digit_counts(integers: np.ndarray) -> np.ndarray:
    """Nonzero digits of each integer in canonical signed-digit form (0 for zero, 1 for ±2**k).

    A constant multiplication by ``c`` costs ``csd_digits(c) - 1`` adders of shifted copies of the
    input, which is how HLS tools implement small constants in LUTs.
    """
    remaining = np.abs(np.asarray(integers, dtype=np.int64))
    digits = np.zeros(remaining.shape, dtype=np.int64)
    while np.any(remaining):
        odd = (remaining & 1).astype(bool)
        # In CSD, a run of ones ending here is replaced by +2**(k+n) - 2**k: digit -1 when x % 4 == 3.
        step = np.where(odd, 2 - (remaining & 3), 0)
        digits += odd
        remaining = (remaining - step) >> 1
    return digits
