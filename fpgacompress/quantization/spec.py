"""The quantization spec: per-layer fixed point, ternary or binary precision, hls4ml precedence.

A spec says, for every ``Dense``, ``Conv1D`` and ``Conv2D`` layer, how its kernel (``weight``) and
``bias`` are quantized, and for every ReLU how its output (``activation``) is quantized, plus the
precision of the input. Settings come from ``default``, are overridden by ``layer_type`` (``Dense``,
``Conv1D``, ``Conv2D`` or ``Activation``, hls4ml's type names: ``Dense`` does not set convolutions), which is overridden by ``layer_name`` — the precedence hls4ml uses — each
quantizer (weight, bias, activation) taken whole from the most specific place that sets it.

``integer`` counts the bits left of the binary point *excluding* the sign bit, as in QKeras
``quantized_bits(bits, integer)``; hls4ml writes the same number as ``fixed<bits, integer+1>``.
``alpha`` is always 1: ``alpha='auto'`` learns per-channel float scales the firmware cannot
represent exactly, so the firmware would no longer be bit-exact with the Keras model.

A spec file (YAML):

    input: {bits: 16, integer: 5}
    default:
      weight: {bits: 6, integer: 0}
      bias: {bits: 6, integer: 0}
      activation: {bits: 6, integer: 2}
    layer_type:
      Dense: {weight: {kind: ternary}}
    layer_name:
      output: {weight: {bits: 8, integer: 1}}

``load_spec("spec.yaml").resolve(model)`` gives each layer its quantizers (``fc1``'s weights: ternary);
a layer name the model does not have is an error there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from ..config import StrictConfig, parse_section
from ..errors import ConfigError

__all__ = [
    "FixedPoint",
    "WeightQuantizer",
    "ActivationQuantizer",
    "LayerQuantization",
    "DefaultQuantization",
    "QuantizationSpec",
    "LayerPrecision",
    "QuantizationTable",
    "load_spec",
    "save_spec",
    "LAYER_TYPES",
    "WEIGHT_LAYER_TYPES",
    "max_integer_bits",
]

LAYER_TYPES = ("Dense", "Conv1D", "Conv2D", "Activation")
WEIGHT_LAYER_TYPES = ("Dense", "Conv1D", "Conv2D")
"""Layer types with a kernel and a bias (``weight`` / ``bias`` quantizers); hls4ml's per-type names."""
_SATURATION_NOTE = "one fractional bit is kept, else hls4ml wraps instead of saturating"
_AUTO_ALPHA_MESSAGE = (
    "alpha={value!r} is refused: its per-channel float scales are not representable in the firmware, "
    "so hls4ml would not be bit-exact with the Keras model; use alpha: 1 (the default)"
)


_DEFAULT_ACTIVATION_INTEGER = 3
"""ReLU integer bits when not given: outputs up to 8, as the default 8-bit activation has."""


def max_integer_bits(bits: int, signed: bool, saturating: bool) -> int:
    """The most integer bits a quantizer may have and stay bit-exact in hls4ml.

    A signed quantizer spends one bit on the sign. A *saturating* one (the input quantizer, a ReLU)
    also keeps one fractional bit: hls4ml turns a type with no fractional bit into ``int<bits>`` /
    ``uint<bits>``, which wraps on overflow where QKeras saturates.
    """
    return bits - (1 if signed else 0) - (1 if saturating else 0)


def _check_integer(bits: int, integer: int, signed: bool, saturating: bool = False) -> None:
    limit = max_integer_bits(bits, signed, saturating)
    if integer > limit:
        notes = [
            note
            for note, applies in (("one is the sign bit", signed), (_SATURATION_NOTE, saturating))
            if applies
        ]
        raise ValueError(
            f"integer bits must be <= {limit} for {bits} total bits ({'; '.join(notes) or 'unsigned'}); "
            f"received integer={integer}, bits={bits}"
        )


class FixedPoint(StrictConfig):
    """Signed fixed point ``quantized_bits(bits, integer, alpha=1)`` = hls4ml ``fixed<bits, integer+1>``."""

    bits: int = Field(ge=2, le=32)
    integer: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _integer_fits(self) -> FixedPoint:
        _check_integer(self.bits, self.integer, signed=True, saturating=True)
        return self

    @property
    def total_bits(self) -> int:
        return self.bits

    def describe(self) -> str:
        return f"fixed<{self.bits},{self.integer + 1}>"

    def build(self):
        from qkeras import quantized_bits

        return quantized_bits(self.bits, self.integer, alpha=1)


class WeightQuantizer(StrictConfig):
    """A kernel or bias quantizer: ``fixed`` (needs ``bits``), ``ternary`` (-1, 0, +1) or ``binary`` (-1, +1).

    Ternary and binary weights take no ``bits``/``integer``: they are 2 and 1 bits wide and need
    no multiplier in the firmware. ``binary`` has no zero, so it cannot hold pruned weights.
    ``threshold`` (ternary only, QKeras default 0.33) is the magnitude from which a weight becomes
    +-1; float weights are often all below 0.33, so :func:`suggest_precision` sets it per layer.
    Caution: hls4ml 1.3's binary (xnor) dense on fixed-point inputs did not reproduce the QKeras
    logits in ``tests/test_quantization_hls4ml.py`` (fixed and ternary do, bit for bit).
    """

    kind: Literal["fixed", "ternary", "binary"] = "fixed"
    bits: int | None = Field(None, ge=2, le=32)
    integer: int | None = Field(None, ge=0)
    threshold: float | None = Field(None, gt=0, description="ternary only: |w| >= threshold becomes +-1")
    alpha: Any = 1

    @field_validator("alpha")
    @classmethod
    def _alpha_is_one(cls, value: Any) -> int:
        if isinstance(value, str) or value is None or float(value) != 1.0:
            raise ValueError(_AUTO_ALPHA_MESSAGE.format(value=value))
        return 1

    @model_validator(mode="after")
    def _bits_match_kind(self) -> WeightQuantizer:
        if self.kind == "fixed":
            if self.bits is None:
                raise ValueError("kind 'fixed' needs bits (total bits, e.g. bits: 6, integer: 0)")
            _check_integer(self.bits, self.integer or 0, signed=True)
        elif self.bits is not None or self.integer is not None:
            raise ValueError(
                f"kind '{self.kind}' has a fixed width of {self.total_bits} bit(s); remove bits/integer"
            )
        if self.threshold is not None and self.kind != "ternary":
            raise ValueError(f"threshold applies to kind 'ternary' only; received kind={self.kind!r}")
        return self

    @property
    def total_bits(self) -> int:
        return {"ternary": 2, "binary": 1}.get(self.kind, self.bits or 0)

    def describe(self) -> str:
        return self.kind if self.kind != "fixed" else f"fixed<{self.bits},{(self.integer or 0) + 1}>"

    def build(self):
        """The QKeras quantizer; alpha is passed explicitly (QDense would otherwise set 'auto_po2')."""
        from qkeras import binary, quantized_bits, ternary

        if self.kind == "ternary":  # hls4ml applies this same QKeras quantizer to the weights: bit-exact
            return ternary(alpha=1, threshold=self.threshold)
        if self.kind == "binary":
            return binary(alpha=1)
        return quantized_bits(self.bits, self.integer or 0, alpha=1)


class ActivationQuantizer(StrictConfig):
    """A ReLU output quantizer: ``quantized_relu(bits, integer)`` = hls4ml ``ufixed<bits, integer>``."""

    kind: str = "fixed"
    bits: int = Field(ge=2, le=32)
    integer: int = Field(0, ge=0)

    @field_validator("kind")
    @classmethod
    def _only_fixed(cls, value: str) -> str:
        if value != "fixed":
            raise ValueError(
                f"activations can only be kind 'fixed' (quantized_relu(bits, integer)); received kind={value!r}. "
                "Ternary and binary are for weights and biases"
            )
        return value

    @model_validator(mode="after")
    def _integer_fits(self) -> ActivationQuantizer:
        _check_integer(self.bits, self.integer, signed=False, saturating=True)
        return self

    @property
    def total_bits(self) -> int:
        return self.bits

    def describe(self) -> str:
        return f"ufixed<{self.bits},{self.integer}>"

    def build(self):
        from qkeras import quantized_relu

        return quantized_relu(self.bits, self.integer)


class LayerQuantization(StrictConfig):
    """Overrides for one layer type or layer name; a missing quantizer falls back to the next level."""

    weight: WeightQuantizer | None = None
    bias: WeightQuantizer | None = None
    activation: ActivationQuantizer | None = None


class DefaultQuantization(StrictConfig):
    """What every layer gets unless its type or name says otherwise."""

    weight: WeightQuantizer = WeightQuantizer(bits=8, integer=0)
    bias: WeightQuantizer = WeightQuantizer(bits=8, integer=0)
    activation: ActivationQuantizer = ActivationQuantizer(bits=8, integer=3)


@dataclass(frozen=True)
class LayerPrecision:
    """The resolved quantizers of one layer (``Dense``: weight + bias; ``Activation``: activation)."""

    name: str
    layer_type: str
    weight: WeightQuantizer | None = None
    bias: WeightQuantizer | None = None
    activation: ActivationQuantizer | None = None

    def describe(self) -> str:
        if self.layer_type in WEIGHT_LAYER_TYPES:
            return f"weight {self.weight.describe()}, bias {self.bias.describe()}"
        return f"activation {self.activation.describe()}"


@dataclass(frozen=True)
class QuantizationTable:
    """The per-layer quantization of one model: the spec resolved against its layers."""

    input: FixedPoint | None
    layers: dict[str, LayerPrecision]

    def to_dict(self) -> dict:
        table = {"input": self.input.describe() if self.input else "float"}
        table.update({name: precision.describe() for name, precision in self.layers.items()})
        return table


class QuantizationSpec(StrictConfig):
    """Per-layer precision with hls4ml precedence: ``layer_name`` > ``layer_type`` > ``default``.

    ``input: null`` leaves the input unquantized (hls4ml then uses its default ``fixed<16,6>``).
    """

    input: FixedPoint | None = FixedPoint(bits=16, integer=5)
    default: DefaultQuantization = DefaultQuantization()
    layer_type: dict[str, LayerQuantization] = Field(default_factory=dict)
    layer_name: dict[str, LayerQuantization] = Field(default_factory=dict)

    @field_validator("layer_type")
    @classmethod
    def _known_types(cls, value: dict[str, LayerQuantization]) -> dict[str, LayerQuantization]:
        for layer_type, overrides in value.items():
            if layer_type not in LAYER_TYPES:
                raise ValueError(
                    f"unknown layer type {layer_type!r}; expected one of {', '.join(LAYER_TYPES)}"
                )
            _check_fields_fit(layer_type, overrides, f"layer type {layer_type!r}")
        return value

    @classmethod
    def parse(cls, payload: dict, source: str = "quantization spec") -> QuantizationSpec:
        """Validate a dict (from YAML or JSON); errors are :class:`ConfigError` naming dotted paths."""
        return parse_section(cls, payload, source)

    @classmethod
    def uniform(
        cls,
        bits: int,
        integer: int = 0,
        *,
        weight_kind: Literal["fixed", "ternary", "binary"] = "fixed",
        activation_bits: int | None = None,
        activation_integer: int | None = None,
        input_bits: int | None = 16,
        input_integer: int = 5,
    ) -> QuantizationSpec:
        """The same precision everywhere, as in ``fpgacompress quantize --bits 6 --integer 0``.

        ``integer`` is for weights and biases. ReLU outputs default to ``activation_integer=3``
        (capped by the width): ReLUs of standardized jets reach several units, and the weights'
        ``integer=0`` would cap them below 1.0 (a silent 0.36-point loss on the jet tagger).
        """
        weight = {"kind": weight_kind} if weight_kind != "fixed" else {"bits": bits, "integer": integer}
        payload = {
            "input": None if input_bits is None else {"bits": input_bits, "integer": input_integer},
            "default": {
                "weight": weight,
                "bias": {"bits": bits, "integer": integer},
                "activation": {
                    "bits": activation_bits or bits,
                    "integer": (
                        min(
                            _DEFAULT_ACTIVATION_INTEGER,
                            max_integer_bits(activation_bits or bits, False, True),
                        )
                        if activation_integer is None
                        else activation_integer
                    ),
                },
            },
        }
        return cls.parse(payload, "quantization options")

    def resolve(self, model) -> QuantizationTable:
        """Every quantizable layer of ``model`` with its quantizers; unknown names are a ConfigError."""
        from ..layer_kinds import kind_of

        # each layer's kind says what is quantizable in it: (name, "Dense" | "Activation") parts
        quantizable = {
            name: role for layer in model.layers for name, role in kind_of(layer).quantizable_parts(layer)
        }
        unknown = sorted(set(self.layer_name) - set(quantizable))
        if unknown:
            raise ConfigError(
                f"Quantization spec names layer(s) {unknown} that the model does not have or does not quantize "
                f"(the input, softmax and linear layers are not set by name). "
                f"Quantizable layers: {', '.join(quantizable)}."
            )
        for name, overrides in self.layer_name.items():
            try:
                _check_fields_fit(quantizable[name], overrides, f"layer {name!r} ({quantizable[name]})")
            except ValueError as error:
                raise ConfigError(f"Invalid quantization spec: layer_name.{name}: {error}.") from None
        layers = {}
        for name, kind in quantizable.items():
            levels = [self.layer_name.get(name), self.layer_type.get(kind), self.default]

            def pick(field: str, levels=levels):
                return next(getattr(level, field) for level in levels if level and getattr(level, field))

            if kind in WEIGHT_LAYER_TYPES:
                layers[name] = LayerPrecision(name, kind, weight=pick("weight"), bias=pick("bias"))
            else:
                layers[name] = LayerPrecision(name, kind, activation=pick("activation"))
        return QuantizationTable(input=self.input, layers=layers)


def _check_fields_fit(layer_type: str, overrides: LayerQuantization, where: str) -> None:
    if layer_type in WEIGHT_LAYER_TYPES and overrides.activation is not None:
        raise ValueError(f"{where} has weights and a bias, not an activation; move 'activation' to its ReLU")
    if layer_type == "Activation" and (overrides.weight is not None or overrides.bias is not None):
        raise ValueError(f"{where} has no weights; set only 'activation' there")


def load_spec(path: str | Path) -> QuantizationSpec:
    """Read and validate a YAML quantization spec."""
    from ..config import read_yaml

    path = Path(path)
    payload = read_yaml(path, "quantization spec") or {}
    if not isinstance(payload, dict):
        raise ConfigError(
            f"Quantization spec {path} must be a mapping (input, default, layer_type, layer_name)."
        )
    return QuantizationSpec.parse(payload, f"quantization spec {path}")


def save_spec(spec: QuantizationSpec, path: str | Path) -> Path:
    """Write ``spec`` as YAML that :func:`load_spec` reads back to an equal spec."""
    path = Path(path)
    payload = spec.model_dump(mode="json", exclude_none=True)
    payload["input"] = spec.input.model_dump() if spec.input is not None else None  # null is meaningful here
    path.write_text(yaml.safe_dump(payload, sort_keys=False))
    return path
