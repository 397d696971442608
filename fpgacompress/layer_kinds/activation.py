"""Activations: ``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax`` and QKeras ``QActivation``.

hls4ml computes ``relu``, ``linear`` and the QKeras quantizers exactly; ``softmax``, ``sigmoid``
and ``tanh`` go through lookup tables. As the model's output such a table is fine: the C-simulation
compares its input (the logits) bit for bit and reports how often the decision agrees. Anywhere
else it makes the firmware differ from Keras by construction, and the C-simulation says so.

Example:
    >>> ACTIVATION_FUNCTIONS["softmax"].table, ACTIVATION_FUNCTIONS["relu"].table
    (True, False)
    >>> softmax_table_types(5)["inv_inp_t"]
    'ufixed<10,3,RND,SAT>'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ModelError
from .base import LayerKind, Step, keras_activation_name, quantizer_name

__all__ = [
    "ActivationFunction",
    "ACTIVATION_FUNCTIONS",
    "ACTIVATION_QUANTIZERS",
    "ActivationKind",
    "activation_step",
    "check_activation_function",
    "softmax_table_types",
]


@dataclass(frozen=True)
class ActivationFunction:
    """A float activation as hls4ml implements it.

    Attributes:
        name: Keras' name (``softmax``).
        table: hls4ml computes it with a lookup table (approximate), not exactly.
    """

    name: str
    table: bool


ACTIVATION_FUNCTIONS: dict[str, ActivationFunction] = {
    "linear": ActivationFunction("linear", table=False),
    "relu": ActivationFunction("relu", table=False),
    "softmax": ActivationFunction("softmax", table=True),
    "sigmoid": ActivationFunction("sigmoid", table=True),
    "tanh": ActivationFunction("tanh", table=True),
}

# QKeras activation quantizers hls4ml builds bit-exactly (quantized_tanh / quantized_sigmoid as its
# hard_tanh / hard_sigmoid; measured: 0 differing samples in the C-simulation)
ACTIVATION_QUANTIZERS = ("quantized_bits", "quantized_relu", "quantized_tanh", "quantized_sigmoid")


def _quantizer_inexact_reason(quantizer) -> str | None:
    config = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    if config.get("use_real_tanh") or config.get("use_real_sigmoid"):
        return "use_real_tanh / use_real_sigmoid: hls4ml computes it with a lookup table"
    if float(config.get("negative_slope", 0.0) or 0.0) != 0.0:
        return "quantized_relu with negative_slope: hls4ml rounds the slope"
    return None


_ALTERNATIVE = "use relu, linear, or softmax/sigmoid/tanh as the output activation"


def check_activation_function(layer_name: str, function: str) -> None:
    """Refuse an activation hls4ml cannot build, in one line naming the layer."""
    if function not in ACTIVATION_FUNCTIONS:
        raise ModelError(
            f"Layer '{layer_name}' has activation '{function}', which the firmware build does not support. "
            f"Supported: {', '.join(ACTIVATION_FUNCTIONS)}; {_ALTERNATIVE}."
        )


def activation_step(name: str, function: str, n_outputs: int) -> Step:
    """The step of a float activation; a lookup-table function is marked inexact (unless it is the output)."""
    reason = (
        f"hls4ml computes {function} with a lookup table" if ACTIVATION_FUNCTIONS[function].table else None
    )
    return Step(name, function, reason, n_outputs)


def softmax_table_types(n_classes: int) -> dict[str, str]:
    """Types that index hls4ml's stable-softmax tables finely; the logits are not touched.

    The tables are addressed by the top 10 bits of ``max - x`` (``inp_norm_t``) and of the sum of
    exponentials (``inv_inp_t``). hls4ml derives both from the logits' type, e.g. ``ufixed<19,9>``:
    steps of 0.5 in ``x``, coarse enough to change the winning class on about one jet in ten. On
    ``[0, 8)`` with 7 fractional bits the steps are 1/128 (``exp(-8) < 4e-4``: saturating there is
    harmless); the sum of ``n_classes`` exponentials, each at most 1, gets just enough integer bits.
    """
    sum_integer_bits = max(1, math.ceil(math.log2(n_classes + 1)))
    return {
        "inp_norm_t": "ufixed<10,3,RND,SAT>",
        "inv_inp_t": f"ufixed<{7 + sum_integer_bits},{sum_integer_bits},RND,SAT>",
        "exp_table_t": "ufixed<18,1,RND,SAT>",  # exp(x - max) in (0, 1]
        "inv_table_t": "ufixed<18,1,RND,SAT>",  # 1 / sum in [1 / n_classes, 1]
    }


def tune_activation_step(step: Step, hls_config: dict) -> None:
    """hls4ml settings an activation step needs: the softmax tables, indexed finely."""
    layer_config = hls_config["LayerName"].get(step.name)
    stable = layer_config is not None and layer_config.get("Implementation", "stable") == "stable"
    if step.function == "softmax" and stable:
        layer_config.update(softmax_table_types(step.n_outputs))


def _n_outputs(layer) -> int:
    return int(math.prod(layer.output_shape[1:]))


def float_function(layer) -> str:
    """The function of a float activation layer: ``relu`` for a plain ``ReLU``, ``softmax`` for ``Softmax``."""
    kind = type(layer).__name__
    if kind == "ReLU":
        return "relu"
    if kind == "Softmax":
        return "softmax"
    if kind == "LeakyReLU":
        return "leaky_relu"
    return keras_activation_name(layer.activation)


class ActivationKind(LayerKind):
    """Element-wise activations, float (``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax``) or QKeras."""

    family = "activation"
    keras_classes = ("Activation", "ReLU", "LeakyReLU", "Softmax", "QActivation")
    supported = (
        "relu, linear; softmax / sigmoid / tanh (lookup tables); LeakyReLU; QActivation with "
        "quantized_bits, quantized_relu, quantized_tanh, quantized_sigmoid"
    )
    quantization = "relu -> QActivation(quantized_relu); others stay float"
    firmware = (
        "bit-exact: relu, linear, quantized_bits, quantized_relu, quantized_tanh, quantized_sigmoid (hls4ml's "
        "hard_tanh / hard_sigmoid); as the output, softmax / sigmoid / tanh are lookup tables: logits bit-exact, "
        "decision agreement reported; not bit-exact: those tables before the output, LeakyReLU (its output "
        "takes hls4ml's default fixed<16,6>), use_real_tanh / use_real_sigmoid"
    )

    def check(self, layer) -> None:
        kind = type(layer).__name__
        if kind == "QActivation":
            name = quantizer_name(layer.quantizer)
            if name not in ACTIVATION_QUANTIZERS:
                raise ModelError(
                    f"Layer '{layer.name}' is a QActivation with '{name}', which the firmware build does not support. "
                    f"Supported activation quantizers: {', '.join(ACTIVATION_QUANTIZERS)}."
                )
            return
        if kind == "ReLU" and (layer.max_value is not None or float(layer.threshold) != 0.0):
            raise ModelError(
                f"Layer '{layer.name}' is a ReLU with max_value/threshold, which hls4ml does not build; "
                "use a plain ReLU, or QActivation(quantized_relu(bits, integer)) to bound it."
            )
        if kind == "ReLU" and float(layer.negative_slope) != 0.0:
            return  # a leaky ReLU
        if kind in ("LeakyReLU", "Softmax"):
            return
        check_activation_function(layer.name, float_function(layer))

    def steps(self, layer) -> list[Step]:
        kind, n = type(layer).__name__, _n_outputs(layer)
        if kind == "QActivation":
            return [
                Step(
                    layer.name, quantizer_name(layer.quantizer), _quantizer_inexact_reason(layer.quantizer), n
                )
            ]
        if kind == "LeakyReLU" or (kind == "ReLU" and float(layer.negative_slope) != 0.0):
            return [
                Step(
                    layer.name,
                    "leaky_relu",
                    "hls4ml gives the leaky ReLU's output its default fixed<16,6>",
                    n,
                )
            ]
        return [activation_step(layer.name, float_function(layer), n)]

    def quantizable_parts(self, layer) -> list[tuple[str, str]]:
        if type(layer).__name__ in ("Activation", "ReLU") and self.steps(layer)[0].function == "relu":
            return [(layer.name, "Activation")]
        return []

    def quantize(self, layer, tensor, table):
        if self.quantizable_parts(layer):
            from qkeras import QActivation

            return QActivation(table.layers[layer.name].activation.build(), name=layer.name)(tensor), []
        return super().quantize(layer, tensor, table)

    def hls_settings(self, layer, hls_config: dict, previous_step: str | None) -> None:
        for step in self.steps(layer):
            tune_activation_step(step, hls_config)

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        from ..estimation.keras_reader import quantizer_type
        from ..estimation.layers import ActivationSpec

        step = self.steps(layer)[0]
        function, result_type = step.function, default_type
        quantizer = getattr(layer, "quantizer", None)
        if quantizer is not None:
            unsigned = "relu" in type(quantizer).__name__
            function = "relu" if unsigned else "linear"
            result_type = quantizer_type(quantizer, default_type, unsigned=unsigned)
        elif function == "leaky_relu":
            function = "relu"  # one comparison and a constant multiplier: costed like a ReLU
        return [ActivationSpec(layer.name, function, step.n_outputs, current_type, result_type)], result_type
