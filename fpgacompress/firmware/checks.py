"""Refusals that must happen before a single file is written.

A firmware build that hls4ml would silently "fix" (a reuse factor replaced by the closest valid one,
an unknown quantizer treated as float) or that cannot keep up with the LHC wastes a synthesis run
of hours. Each check raises one error naming what is wrong and what would work.

Example:
    >>> valid_reuse_factors(16, 64)[:6]
    [1, 2, 4, 8, 16, 32]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..boards import max_initiation_interval
from ..errors import BoardError, ConfigError, ModelError

__all__ = [
    "DenseShape",
    "check_supported_model",
    "dense_shapes",
    "valid_reuse_factors",
    "check_reuse_factor",
    "estimated_initiation_interval",
    "check_initiation_interval",
]


@dataclass(frozen=True)
class DenseShape:
    """Inputs and outputs of one Dense layer: what its valid reuse factors depend on."""

    name: str
    n_in: int
    n_out: int


# Layer families that compute something from weights; a model with none of them builds no firmware.
_COMPUTING_FAMILIES = frozenset({"dense", "convolution", "depthwise_convolution"})


def check_supported_model(model) -> None:
    """Refuse a model with a layer, activation or quantizer the firmware flow does not handle.

    Each layer's kind (:mod:`fpgacompress.layer_kinds`) decides; this function lists none.

    Raises:
        ModelError: naming the first offending layer and what to use instead.
    """
    from ..layer_kinds import kind_of

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"The firmware build needs a model with one input and one output. Received: "
            f"{len(model.inputs)} inputs and {len(model.outputs)} outputs."
        )
    for layer in model.layers:
        kind_of(layer).check(layer)
    if not any(kind_of(layer).family in _COMPUTING_FAMILIES for layer in model.layers):
        raise ModelError(
            "The model has no Dense or convolution layer, so the firmware would compute nothing; "
            "give it at least one Dense / QDense or Conv1D / Conv2D layer."
        )


def dense_shapes(model) -> list[DenseShape]:
    """``(name, n_in, n_out)`` of every Dense / QDense layer, in model order."""
    from ..layer_kinds import kind_of

    return [
        DenseShape(layer.name, int(layer.kernel.shape[0]), int(layer.kernel.shape[1]))
        for layer in model.layers
        if kind_of(layer).family == "dense"  # convolutions: firmware/convolution_checks.py
    ]


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """Reuse factors hls4ml accepts for a Dense layer with ``n_in`` inputs and ``n_out`` outputs.

    The rule is hls4ml's own (``FPGABackend._validate_reuse_factor``), restated here so the check
    runs before hls4ml is imported: the ``n_in x n_out`` multiplications must split evenly, and a
    reuse factor above ``n_in`` must be a multiple of it. hls4ml would otherwise replace an invalid
    value by the closest valid one with only a printed warning.

    Example:
        >>> valid_reuse_factors(32, 5)
        [1, 2, 4, 8, 16, 32, 160]
    """
    valid = []
    for reuse_factor in range(1, n_in * n_out + 1):
        multiplier_limit = math.ceil(n_in * n_out / min(n_in, reuse_factor))
        even_outputs = multiplier_limit % n_out == 0 or reuse_factor >= n_in
        multiple_of_inputs = reuse_factor % n_in == 0 or reuse_factor < n_in
        divides = (n_in * n_out) % reuse_factor == 0
        if even_outputs and multiple_of_inputs and divides:
            valid.append(reuse_factor)
    return valid


def check_reuse_factor(model, reuse_factor: int) -> None:
    """Refuse a reuse factor that some Dense layer of ``model`` cannot use.

    Raises:
        ConfigError: naming the layer, its shape and the reuse factors valid for every layer.
    """
    shapes = dense_shapes(model)
    for shape in shapes:
        valid = valid_reuse_factors(shape.n_in, shape.n_out)
        if reuse_factor not in valid:
            common = sorted(set.intersection(*(set(valid_reuse_factors(s.n_in, s.n_out)) for s in shapes)))
            raise ConfigError(
                f"Reuse factor {reuse_factor} is not valid for layer '{shape.name}' ({shape.n_in} inputs x "
                f"{shape.n_out} outputs); valid for it: {', '.join(map(str, valid))}. "
                f"Valid for every layer: {', '.join(map(str, common))}."
            )


def _estimated_report(reuse_factor, model, strategy, io_type, clock_mhz, backend):
    """The estimator's report of ``model`` at these settings, or None where it cannot model a layer."""
    from ..errors import ModelError
    from ..estimation import estimate

    try:
        return estimate(
            model,
            reuse_factor=reuse_factor,
            strategy=strategy,
            io_type=io_type,
            clock_period_ns=1000.0 / clock_mhz if clock_mhz else None,
            hls_tool=backend,
        )
    except ModelError:
        return None


def estimated_initiation_interval(
    reuse_factor: int,
    model=None,
    *,
    strategy: str = "latency",
    io_type: str = "io_parallel",
    clock_mhz: float | None = None,
    backend: str = "vitis",
) -> int:
    """Initiation interval (cycles) of the network: the estimator's II model, one for build and report.

    With the model, the estimator (:func:`fpgacompress.estimation.estimate`) schedules every layer at
    this reuse factor, strategy, io_type and clock: a pipelined io_parallel network accepts an input
    every ``max(layer II)`` cycles (``reuse_factor``, or a layer's latency + 1 when shorter), an
    io_stream dataflow network every ``max(layer II) + 1``, where a dense layer is not pipelined across
    calls and a streaming convolution takes one input pixel per II cycles, so its II is the image's
    pixels times the cycles per pixel (:mod:`fpgacompress.estimation.convolution`). Without the model
    (a recipe checked before training), the io_parallel bound ``reuse_factor`` is all that is known.
    """
    if model is None:
        return reuse_factor
    report = _estimated_report(reuse_factor, model, strategy, io_type, clock_mhz, backend)
    return reuse_factor if report is None else report.totals.ii


def _image_bottleneck(model, report) -> str:
    """For a convolutional model, the layer that sets the II: its pixels and cycles per pixel ("" for an MLP)."""
    import math

    from ..layer_kinds import kind_of

    if report is None:
        return ""
    spatial = {
        layer.name: layer
        for layer in model.layers
        if kind_of(layer).family in ("convolution", "pooling", "padding")
    }
    rows = [row for row in report.layers if row.name in spatial]
    if not rows:
        return ""
    slowest = max(rows, key=lambda row: row.ii)
    shape = spatial[slowest.name].input_shape[1:-1]
    pixels = int(math.prod(shape))
    size = "x".join(str(int(side)) for side in shape)
    return (
        f" A streaming convolution reads one pixel per II cycles: layer '{slowest.name}' takes {slowest.ii} "
        f"cycles for its {size} = {pixels} pixels ({slowest.ii / max(pixels, 1):.3g} cycles per pixel)."
    )


def check_initiation_interval(
    reuse_factor: int,
    clock_mhz: float,
    tmux: int,
    model=None,
    *,
    strategy: str = "latency",
    io_type: str = "io_parallel",
    backend: str = "vitis",
) -> int:
    """Refuse a design too slow for the bunch-crossing rate; return the budget in cycles.

    The II is :func:`estimated_initiation_interval`'s (the estimator's model when ``model`` is given).
    For a convolutional network the image size drives it; the message names the layer, its pixels and
    its cycles per pixel, and what to change.

    Raises:
        BoardError: the estimated II exceeds ``clock_mhz x tmux x 25 ns``.
    """
    budget = max_initiation_interval(clock_mhz, tmux)
    report = None
    if model is None:
        initiation_interval = reuse_factor
    else:
        report = _estimated_report(reuse_factor, model, strategy, io_type, clock_mhz, backend)
        initiation_interval = reuse_factor if report is None else report.totals.ii
    if initiation_interval > budget:
        image = _image_bottleneck(model, report) if model is not None else ""
        if budget < 1:
            fix = "That is less than one clock cycle per input, so no reuse factor fits: raise the clock or TMUX."
        elif image:
            fix = (
                "Use a smaller image (fewer pixels: a smaller input, a stride or pooling earlier), a larger TMUX, "
                "or a smaller reuse factor (fewer cycles per pixel)."
            )
        else:
            fix = "Use a smaller reuse factor, io_parallel, a higher clock, or a larger TMUX."
        raise BoardError(
            f"Initiation interval {initiation_interval} cycles (reuse factor {reuse_factor}) exceeds the LHC budget "
            f"of {budget} cycles at {clock_mhz:g} MHz with TMUX {tmux} (one input every {tmux} x 25 ns; estimated "
            f"for {strategy}, {io_type}).{image} {fix}"
        )
    return budget
