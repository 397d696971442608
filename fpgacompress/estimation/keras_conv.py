"""Convolutional Keras / QKeras layers as the estimator's objects, without running hls4ml.

The layer kinds (:mod:`fpgacompress.layer_kinds`) delegate here: :func:`convolution_specs` for
``Conv1D`` / ``Conv2D`` / ``QConv*``, :func:`pooling_specs`, :func:`reshape_specs` for Flatten,
Reshape and ZeroPadding. A ``same``-padded convolution is costed on its padded input (hls4ml inserts
the zero padding before it in io_stream). Types follow :func:`~.keras_reader.quantizer_type`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .convolution import SPATIAL_SPECS, ConvolutionSpec, PixelLoopSpec, PoolingSpec, ReshapeSpec
from .layers import ActivationSpec

__all__ = ["convolution_specs", "pooling_specs", "reshape_specs", "per_pixel"]


def _shape(shape) -> tuple[int, ...]:
    return tuple(int(size) for size in shape[1:])


def convolution_specs(kind, layer, current_type, default_type, reuse_factor: int):
    """``([ConvolutionSpec, (activation)], output type)`` of a Conv1D / Conv2D / QConv layer."""
    from .keras_reader import quantizer_type

    kernel = np.asarray(layer.get_weights()[0])
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    if quantizer is not None:
        kernel = np.asarray(quantizer(kernel))
    window = tuple(int(size) for size in kernel.shape[:-2])
    in_shape, out_shape = _shape(layer.input_shape), _shape(layer.output_shape)
    if str(getattr(layer, "padding", "valid")) == "same":
        in_shape = tuple(size + k - 1 for size, k in zip(in_shape[:-1], window, strict=True)) + in_shape[-1:]
    spec = ConvolutionSpec(
        name=layer.name,
        weights=kernel.reshape(-1, kernel.shape[-1]),
        in_shape=in_shape,
        out_shape=out_shape,
        kernel=window,
        input_type=current_type,
        weight_type=quantizer_type(quantizer, default_type),
        accum_type=default_type,
        result_type=default_type,
        reuse_factor=reuse_factor,
    )
    specs: list = [spec]
    function = kind.fused_activation(layer)
    if function is not None:
        activation = ActivationSpec(
            f"{layer.name}_{function}",
            function,
            out_shape[-1],
            default_type,
            default_type,
            io_type="io_stream",
        )
        specs.append(PixelLoopSpec(activation, spec.out_pixels))
    return specs, default_type


def pooling_specs(layer, current_type):
    """``([PoolingSpec], output type)``: pooling keeps its input's type."""
    in_shape, out_shape = _shape(layer.input_shape), _shape(layer.output_shape)
    global_pool = type(layer).__name__.startswith("Global")
    if global_pool:
        pool = in_shape[:-1]
        out_shape = (1,) * (len(in_shape) - 1) + out_shape[-1:]
    else:
        pool = tuple(int(size) for size in np.atleast_1d(layer.pool_size))
    operation = "average" if "Average" in type(layer).__name__ else "max"
    return [
        PoolingSpec(layer.name, in_shape, out_shape, pool, operation, current_type, current_type)
    ], current_type


def reshape_specs(layer, current_type):
    """``([ReshapeSpec], output type)`` of Flatten / Reshape / ZeroPadding (no arithmetic)."""
    in_shape, out_shape = _shape(layer.input_shape), _shape(layer.output_shape)
    if len(out_shape) == 1:  # a Flatten feeds a Dense head: one word of the last channels per pixel
        out_shape = in_shape
    operation = type(layer).__name__.lower()
    return [ReshapeSpec(layer.name, in_shape, out_shape, operation, current_type, current_type)], current_type


def per_pixel(specs: list, previous) -> list:
    """Activations right after a spatial layer, as one pixel's hardware looped over the feature map."""
    if not isinstance(previous, SPATIAL_SPECS) or isinstance(previous, PixelLoopSpec):
        return specs
    channels = int(previous.out_shape[-1]) if hasattr(previous, "out_shape") else 0
    wrapped = []
    for spec in specs:
        if (
            isinstance(spec, ActivationSpec)
            and channels
            and spec.n_in % channels == 0
            and spec.n_in > channels
        ):
            one_pixel = replace(
                spec, n_in=channels, io_type="io_stream", scale_integers=spec.scale_integers[:channels]
            )
            wrapped.append(PixelLoopSpec(one_pixel, spec.n_in // channels))
        else:
            wrapped.append(spec)
    return wrapped
