"""Every Keras layer the firmware flow handles, one home per kind.

The trunk (build checks, hls4ml configuration, the C-simulation reference, pruning, quantization,
the estimator) asks a layer's kind; it never lists layer classes itself. A kind is a small
:class:`~.base.LayerKind` subclass in its own module, registered below in :data:`KINDS`, an explicit
dict from Keras class name to kind. Adding a family (convolutions, pooling) means one new module
and one line in ``_FAMILIES``; ``fpgacompress layers`` and the README table then list it.

Modules:

* ``base``       — :class:`Step` and :class:`LayerKind`: the questions every kind answers
* ``input``      — ``InputLayer``
* ``dense``      — ``Dense`` / ``QDense`` (fused activations split like hls4ml splits them)
* ``activation`` — ``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax``, ``QActivation``
* ``batch_norm`` — ``BatchNormalization`` / ``QBatchNormalization``
* ``dropout``    — ``Dropout`` (dropped)
* ``convolution`` — ``Conv1D`` / ``Conv2D`` / ``QConv1D`` / ``QConv2D``
* ``pooling``    — max / average / global pooling
* ``reshape``    — ``Flatten`` / ``Reshape``

Example:
    >>> KINDS["QDense"].family, KINDS["Dropout"].firmware
    ('dense', 'dropped by hls4ml (identity at inference)')
"""

from __future__ import annotations

from ..errors import ModelError
from .activation import ACTIVATION_FUNCTIONS, ActivationKind, softmax_table_types
from .base import LayerKind, Step
from .batch_norm import BatchNormKind
from .convolution import ConvolutionKind
from .dense import DenseKind
from .dropout import DropoutKind
from .input import InputKind
from .pooling import PoolingKind
from .reshape import ReshapeKind

__all__ = [
    "KINDS",
    "LayerKind",
    "Step",
    "kind_of",
    "model_steps",
    "kinds_table",
    "kinds_markdown",
    "ACTIVATION_FUNCTIONS",
    "softmax_table_types",
]

_FAMILIES: tuple[LayerKind, ...] = (
    InputKind(),
    DenseKind(),
    ActivationKind(),
    BatchNormKind(),
    DropoutKind(),
    ConvolutionKind(),
    PoolingKind(),
    ReshapeKind(),
)

KINDS: dict[str, LayerKind] = {name: kind for kind in _FAMILIES for name in kind.keras_classes}

# What to use instead of a layer class users bring that the flow does not build.
ALTERNATIVES: dict[str, str] = {
    "PruneLowMagnitude": "call tfmot.sparsity.keras.strip_pruning(model) (or fpgacompress.strip) before building",
    "Lambda": "a Lambda holds Python code that cannot become firmware; use standard Keras layers",
    "LayerNormalization": "use BatchNormalization",
    "GaussianNoise": "remove it before building (it is the identity at inference)",
    "ELU": "use relu, or LeakyReLU",
}


def kind_of(layer) -> LayerKind:
    """The kind of ``layer``; an unsupported class is refused in one line saying what to use instead.

    Raises:
        ModelError: the layer's class has no kind.
    """
    class_name = type(layer).__name__
    kind = KINDS.get(class_name)
    if kind is None:
        instead = ALTERNATIVES.get(class_name, "see 'fpgacompress layers' for the supported layers")
        raise ModelError(
            f"Layer '{layer.name}' of type {class_name} is not supported by the firmware flow: {instead}. "
            f"Supported layers: {', '.join(KINDS)}."
        )
    return kind


def model_steps(model) -> list[Step]:
    """The layers hls4ml will build for ``model`` (fused activations split, dropout dropped), in order."""
    return [step for layer in model.layers for step in kind_of(layer).steps(layer)]


def kinds_table() -> list[dict[str, str]]:
    """One row per kind: Keras classes, what is supported, pruning, quantization, firmware."""
    return [
        {
            "kind": kind.family,
            "keras": ", ".join(kind.keras_classes),
            "supported": kind.supported,
            "pruning": kind.pruning,
            "quantization": kind.quantization,
            "firmware": kind.firmware,
        }
        for kind in _FAMILIES
    ]


def kinds_markdown() -> str:
    """:func:`kinds_table` as a Markdown table (the README's layer table is this text)."""
    rows = kinds_table()
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[column] for column in header) + " |" for row in rows]
    return "\n".join(lines)
