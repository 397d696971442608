"""Refusals specific to convolutional networks, before a file is written.

hls4ml validates a convolution's reuse factor like a Dense layer's, with ``n_in = kernel x
channels`` and ``n_out = filters`` (``FPGABackend.get_layer_mult_size``), and silently replaces an
invalid one by the closest valid value. Refused here instead, naming the layer and what is valid.

Example:
    >>> from fpgacompress.firmware.checks import valid_reuse_factors
    >>> valid_reuse_factors(3 * 3 * 1, 4)    # a 3x3 kernel on one channel, 4 filters: 2 is not valid
    [1, 3, 9, 18, 36]
"""

from __future__ import annotations

from ..errors import ConfigError
from .checks import DenseShape, valid_reuse_factors

__all__ = ["convolution_shapes", "check_convolution_reuse_factor", "check_testbench_inputs"]


def convolution_shapes(model) -> list[DenseShape]:
    """``(name, kernel x channels, filters)`` of every convolution: the shape its reuse factor splits."""
    from ..layer_kinds import kind_of

    shapes = []
    for layer in model.layers:
        kind = kind_of(layer)
        if hasattr(kind, "multiplier_shape"):  # the convolution kinds (plain and depthwise)
            shapes.append(DenseShape(layer.name, *kind.multiplier_shape(layer)))
    return shapes


def check_convolution_reuse_factor(model, reuse_factor: int) -> None:
    """Refuse a reuse factor some convolution of ``model`` cannot use.

    Raises:
        ConfigError: naming the layer, its multiplier shape and the reuse factors valid for it.
    """
    for shape in convolution_shapes(model):
        valid = valid_reuse_factors(shape.n_in, shape.n_out)
        if reuse_factor not in valid:
            raise ConfigError(
                f"Reuse factor {reuse_factor} is not valid for convolution '{shape.name}' ({shape.n_in} = kernel x "
                f"input channels, {shape.n_out} filters); valid for it: {', '.join(map(str, valid))}."
            )


def check_testbench_inputs(x, model) -> None:
    """Refuse test-bench inputs whose shape is not ``(n, *model input shape)``.

    Raises:
        ConfigError: what shape was expected and what was received.
    """
    expected = tuple(int(size) for size in model.inputs[0].shape[1:])
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected or x.shape[0] == 0:
        shape = ", ".join(map(str, expected))
        raise ConfigError(
            f"x_test must be a non-empty (n, {shape}) array of the model's inputs. Received shape {x.shape}."
        )
