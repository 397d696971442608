"""Read the convolutional layers of an hls4ml project: conv / pooling / padding / resize config structs.

hls4ml writes a convolution as its dense kernel's ``configN_mult`` (after the layer's ``// name``
comment) followed by ``configN : nnet::conv2d_config``; padding structs often carry no comment, and
hls4ml before 0.5 wrote no comments at all. :func:`layer_structs` finds every layer struct in call
order with its name; :func:`spatial_spec` turns one spatial struct into the estimator's object
(:mod:`.convolution`).
"""

from __future__ import annotations

import math
import re

from ..errors import ModelError
from .convolution import ConvolutionSpec, PoolingSpec, ReshapeSpec

__all__ = ["SPATIAL_BASES", "layer_structs", "spatial_spec"]

SPATIAL_BASES = (
    "conv1d_config",
    "conv2d_config",
    "pooling1d_config",
    "pooling2d_config",
    "padding1d_config",
    "padding2d_config",
    "resize_config",
)
_LAYER_BASES = ("dense_config", "activ_config", "batchnorm_config", *SPATIAL_BASES)
_STRUCT = re.compile(
    r"struct\s+(?P<struct>(?P<kind>\w*?)_?config(?P<index>\d+)(?P<mult>_mult)?)\s*:\s*nnet::(?P<base>\w+)\s*\{"
    r"(?P<body>.*?)\n\};",
    re.DOTALL,
)
_COMMENT_BEFORE = re.compile(r"//\s*(\S+)\s*$")


def layer_structs(parameters: str) -> list[dict]:
    """Every layer's config struct in file (call) order: ``name, struct, kind, index, base, body``.

    A convolution's ``_mult`` dense config is not a layer; its comment names the convolution after it.
    A struct without a comment is named ``layer{index}`` (hls4ml's own output variable stem).
    """
    entries = []
    previous_end = 0
    pending_name = None
    for match in _STRUCT.finditer(parameters):
        between = parameters[previous_end : match.start()].rstrip()
        comment = _COMMENT_BEFORE.search(between)
        previous_end = match.end()
        name = comment.group(1) if comment else None
        if match["mult"]:
            pending_name = name
            continue
        if name is None and pending_name is not None:
            name = pending_name
        pending_name = None
        if match["base"] not in _LAYER_BASES:
            continue
        entries.append(
            {
                "name": name or f"layer{match['index']}",
                "struct": match["struct"],
                "kind": match["kind"],
                "index": match["index"],
                "base": match["base"],
                "body": match["body"],
                "commented": name is not None,
            }
        )
    return entries


def _shape(*sizes: int) -> tuple[int, ...]:
    return tuple(int(size) for size in sizes)


def spatial_spec(entry: dict, number, types: dict, weights, io_type: str):
    """The estimator object of one spatial struct.

    Args:
        entry: One :func:`layer_structs` item.
        number: ``number(key, default=None)`` reads a size constant of the struct (``#define`` names resolved).
        types: ``{"input", "result", "weight", "accum"}`` fixed-point types of the layer.
        weights: ``weights(n_values)`` returns the layer's weights file as a flat array (convolutions only).
        io_type: ``io_stream`` or ``io_parallel``.
    """
    base, name = entry["base"], entry["name"]
    if base in ("conv1d_config", "conv2d_config"):
        two_d = base == "conv2d_config"
        channels, filters = number("n_chan"), number("n_filt")
        if two_d:
            kernel = _shape(number("filt_height"), number("filt_width"))
            in_shape = _shape(number("in_height"), number("in_width"), channels)
            out_shape = _shape(number("out_height"), number("out_width"), filters)
        else:
            kernel = _shape(number("filt_width"))
            in_shape = _shape(number("in_width"), channels)
            out_shape = _shape(number("out_width"), filters)
        n_inputs = int(math.prod(kernel)) * channels
        values = weights(n_inputs * filters).reshape(n_inputs, filters)
        partitions = number("n_partitions", 0)
        out_pixels = int(math.prod(out_shape[:-1]))
        body = entry["body"]
        return ConvolutionSpec(
            name=name,
            weights=values,
            in_shape=in_shape,
            out_shape=out_shape,
            kernel=kernel,
            input_type=types["input"],
            weight_type=types["weight"],
            accum_type=types["accum"],
            result_type=types["result"],
            reuse_factor=number("reuse_factor", 1),
            strategy="resource" if re.search(r"strategy\s*=\s*nnet::resource", body) else "latency",
            io_type=io_type,
            implementation="encoded" if "conv_implementation::encoded" in body else "linebuffer",
            parallel_pixels=max(1, out_pixels // partitions)
            if io_type == "io_parallel" and partitions
            else 1,
        )
    if base in ("pooling1d_config", "pooling2d_config"):
        channels = number("n_filt")
        operation = "average" if "nnet::Average" in entry["body"] else "max"
        if base == "pooling2d_config":
            pool = _shape(number("pool_height"), number("pool_width"))
            in_shape = _shape(number("in_height"), number("in_width"), channels)
            out_shape = _shape(number("out_height"), number("out_width"), channels)
        else:
            width = number("n_in")
            pool = _shape(number("pool_width", width))
            in_shape = _shape(width, channels)
            out_shape = _shape(number("n_out", 1), channels)
        return PoolingSpec(
            name=name,
            in_shape=in_shape,
            out_shape=out_shape,
            pool=pool,
            operation=operation,
            input_type=types["input"],
            result_type=types["result"],
            io_type=io_type,
        )
    channels = number("n_chan")
    if base == "padding1d_config":
        in_shape, out_shape = _shape(number("in_width"), channels), _shape(number("out_width"), channels)
    elif base == "padding2d_config":
        in_shape = _shape(number("in_height"), number("in_width"), channels)
        out_shape = _shape(number("out_height"), number("out_width"), channels)
    elif base == "resize_config":
        in_shape = _shape(
            number("height", 0) or number("in_height"), number("width", 0) or number("in_width"), channels
        )
        out_shape = _shape(number("new_height"), number("new_width"), channels)
    else:
        raise ModelError(f"Layer {name!r}: nnet::{base} is not a layer kind the estimator reads.")
    return ReshapeSpec(
        name=name,
        in_shape=in_shape,
        out_shape=out_shape,
        operation=base.split("_")[0],
        input_type=types["input"],
        result_type=types["result"],
        io_type=io_type,
    )
