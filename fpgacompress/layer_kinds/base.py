"""What every layer kind answers: the questions the trunk asks instead of listing layer classes.

A Keras layer becomes one or more *steps* in hls4ml: ``Dense(5, activation='softmax')`` is split
into the Dense ``out`` and the Softmax ``out_softmax``. Each step has a name (the one hls4ml traces
in C-simulation), the activation function it computes (if it is one), and, when the firmware cannot
reproduce Keras bit for bit, the reason why.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Step", "LayerKind", "keras_activation_name", "quantizer_name"]


@dataclass(frozen=True)
class Step:
    """One layer as hls4ml builds it.

    Attributes:
        name: hls4ml's layer name (the Keras name, or ``NAME_ACTIVATION`` for a fused activation).
        function: the activation function of an activation step (``softmax``, ``relu``...), else ``None``.
        inexact_reason: why the firmware differs from Keras here by construction, or ``None`` when exact.
        n_outputs: values the step produces per sample.
    """

    name: str
    function: str | None
    inexact_reason: str | None
    n_outputs: int


class LayerKind:
    """One family of Keras layers; subclasses override what differs.

    Class attributes are the kind's row in ``fpgacompress layers``; the methods are what the trunk
    asks (build checks, hls4ml settings, the C-simulation reference, pruning, quantization and the
    estimator). Methods get the live Keras layer; TensorFlow is imported only inside them.
    """

    family: str = ""
    keras_classes: tuple[str, ...] = ()
    supported: str = ""
    pruning: str = "not pruned"
    quantization: str = "kept as is"
    firmware: str = ""

    def check(self, layer) -> None:
        """Raise :class:`~fpgacompress.errors.ModelError` when this layer's settings are unsupported."""

    def steps(self, layer) -> list[Step]:
        """The hls4ml layers this Keras layer becomes, in order (empty: hls4ml drops it)."""
        raise NotImplementedError

    def reference(self, layer, tensor) -> list[tuple[str, object]]:
        """Keras' output of every step on ``tensor`` (a batch), like for like with the firmware's trace."""
        return [(layer.name, layer(tensor, training=False))]

    def prunable(self, layer) -> bool:
        """Whether magnitude pruning removes weights of this layer."""
        return False

    def quantizable_parts(self, layer) -> list[tuple[str, str]]:
        """``(name, role)`` of what a quantization spec sets here; role ``Dense`` or ``Activation``."""
        return []

    def quantize(self, layer, tensor, table):
        """Apply the QKeras counterpart of ``layer`` to ``tensor``; default: a copy of the layer.

        Returns ``(tensor, copies)`` where ``copies`` pairs each new layer with the float layer whose
        weights it takes.
        """
        copy = type(layer).from_config(layer.get_config())
        return copy(tensor), [(copy, layer)] if layer.get_weights() else []

    def hls_settings(self, layer, hls_config: dict, previous_step: str | None) -> None:
        """Adjust hls4ml's per-layer configuration (``hls_config['LayerName']``) for this layer."""

    def estimator_specs(self, layer, current_type, default_type, reuse_factor: int):
        """``(specs, output_type)``: the estimator's layer objects for this layer."""
        return [], current_type


def keras_activation_name(activation) -> str:
    """``'relu'`` for ``tf.keras.activations.relu``, the serialized name for anything else."""
    import tensorflow as tf

    serialized = tf.keras.activations.serialize(activation)
    if isinstance(serialized, str):
        return serialized
    if isinstance(serialized, dict):
        config = serialized.get("config", {})
        return str(config.get("name", serialized.get("class_name", serialized)))
    return str(serialized)


def quantizer_name(quantizer) -> str | None:
    """``quantized_bits`` for a live QKeras quantizer, its serialized form, or a ``'quantized_bits(6)'`` string."""
    if quantizer is None:
        return None
    if isinstance(quantizer, str):
        return quantizer.split("(", 1)[0]
    if hasattr(quantizer, "get") and "class_name" in quantizer:
        return str(quantizer["class_name"])
    return type(quantizer).__name__
