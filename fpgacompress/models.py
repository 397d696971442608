"""Multilayer perceptrons from a topology string, with the layer names hls4ml users expect.

``"16-64-32-32-5"`` gives ``fc1 -> relu1 -> fc2 -> relu2 -> fc3 -> relu3 -> output -> softmax``:
Dense and activation are separate layers, so later stages can quantize each on its own
(``QDense`` / ``QActivation``) and hls4ml sees the logits before the softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["Topology", "parse_topology", "build_mlp"]


@dataclass(frozen=True)
class Topology:
    """Layer widths: ``n_inputs``, the hidden widths, and ``n_outputs``."""

    n_inputs: int
    hidden: tuple[int, ...]
    n_outputs: int

    def __str__(self) -> str:
        return "-".join(str(width) for width in (self.n_inputs, *self.hidden, self.n_outputs))


def parse_topology(topology: str | Topology) -> Topology:
    """Parse ``"16-64-32-32-5"`` (input, hidden..., output widths)."""
    if isinstance(topology, Topology):
        return topology
    try:
        widths = [int(part) for part in str(topology).split("-")]
    except ValueError:
        raise ConfigError(
            f"Topology must be layer widths joined by '-', like '16-64-32-32-5'. Received: {topology!r}."
        ) from None
    if len(widths) < 2 or min(widths) < 1:
        raise ConfigError(
            f"Topology needs an input and an output width, all >= 1, like '16-64-32-32-5'. Received: {topology!r}."
        )
    return Topology(widths[0], tuple(widths[1:-1]), widths[-1])


def build_mlp(
    topology: str | Topology,
    *,
    activation: str = "relu",
    regularizer=None,
    seed: int | None = None,
    name: str = "mlp",
):
    """A Keras MLP; ``regularizer`` goes on every Dense kernel (L1 or Lp from ``regularizers``)."""
    import tensorflow as tf

    shape = parse_topology(topology)
    initializer = tf.keras.initializers.LecunUniform(seed=seed)
    inputs = tf.keras.Input(shape=(shape.n_inputs,), name="input")
    x = inputs
    for index, width in enumerate(shape.hidden, start=1):
        x = tf.keras.layers.Dense(
            width, kernel_initializer=initializer, kernel_regularizer=regularizer, name=f"fc{index}"
        )(x)
        x = tf.keras.layers.Activation(activation, name=f"{activation}{index}")(x)
    x = tf.keras.layers.Dense(
        shape.n_outputs, kernel_initializer=initializer, kernel_regularizer=regularizer, name="output"
    )(x)
    outputs = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inputs, outputs, name=name)
