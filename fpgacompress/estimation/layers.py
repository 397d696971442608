"""What the firmware will contain, layer by layer: the estimator's input objects.

Both readers (an hls4ml project on disk, a Keras/QKeras model) produce a :class:`DesignSpec`,
so the hardware model never needs to know where the numbers came from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import numpy as np

from ..errors import ConfigError
from .fixed_point import FixedPointType
from .hls_tools import DEFAULT_HLS_TOOL, HlsTool, parse_hls_tool

__all__ = ["DenseSpec", "ActivationSpec", "DesignSpec", "LayerSpec"]

Strategy = Literal["latency", "resource"]
IoType = Literal["io_parallel", "io_stream"]
MultiplierBinding = Literal["auto", "dsp", "fabric"]


@dataclass(frozen=True, eq=False)
class DenseSpec:
    """One fully connected layer as synthesized: its exact weights, types and parallelism.

    Attributes:
        name: Layer name (``fc1``).
        weights: Kernel of shape (n_in, n_out), values as the firmware stores them.
        input_type: Type of the layer's input vector.
        weight_type: Type of the kernel.
        accum_type: Type of the sums in the adder trees.
        reuse_factor: Multiplications per multiplier (hls4ml ``ReuseFactor``).
        strategy: hls4ml ``Strategy``, lowercase.
        io_type: hls4ml ``IOType``.
        result_type: Type of the layer's output (the accumulator's when not given).
        declared_zeros: ``n_zeros`` as the project's layer config declares it: the constant the
            ``ALLOCATION`` limit on multipliers is computed from. hls4ml counts it on the weights
            it was given, which need not be the zeros of the written fixed-point weights (a
            project written from float weights declares 0). None: counted from ``weights``.
    """

    name: str
    weights: np.ndarray
    input_type: FixedPointType
    weight_type: FixedPointType
    accum_type: FixedPointType
    reuse_factor: int = 1
    strategy: Strategy = "latency"
    io_type: IoType = "io_parallel"
    result_type: FixedPointType | None = None
    declared_zeros: int | None = None

    def __post_init__(self) -> None:
        if self.result_type is None:
            object.__setattr__(self, "result_type", self.accum_type)
        if np.ndim(self.weights) != 2:
            raise ConfigError(
                f"Layer {self.name!r}: weights must be a 2-D (n_in, n_out) kernel. "
                f"Received shape {np.shape(self.weights)}."
            )
        if int(self.reuse_factor) < 1:
            raise ConfigError(
                f"Layer {self.name!r}: reuse_factor must be an integer >= 1. Received reuse_factor={self.reuse_factor}."
            )

    @property
    def n_in(self) -> int:
        return int(np.shape(self.weights)[0])

    @property
    def n_out(self) -> int:
        return int(np.shape(self.weights)[1])

    @cached_property
    def weight_integers(self) -> np.ndarray:
        """The kernel as the integers the firmware multiplies by (zeros are exact zeros)."""
        return self.weight_type.to_integers(self.weights)

    @property
    def n_nonzero(self) -> int:
        return int(np.count_nonzero(self.weight_integers))


@dataclass(frozen=True)
class ActivationSpec:
    """An element-wise or table-based activation (ReLU, softmax, sigmoid, tanh, linear, batch-norm scale).

    Attributes:
        name: Layer name (``relu1``).
        function: hls4ml function name, lowercase (``relu``, ``softmax``, ``sigmoid``, ``normalize``...).
        n_in: Number of elements.
        input_type: Type of the input elements.
        result_type: Type of the output elements.
        table_size: Lookup-table entries for table-based functions (softmax, sigmoid, tanh).
        io_type: hls4ml ``IOType``.
        scale_integers: Batch-norm only: each element's scale as the integer the firmware multiplies by
            (empty when unknown); a scale with few CSD digits is a shift, a wide one a multiplier.
    """

    name: str
    function: str
    n_in: int
    input_type: FixedPointType
    result_type: FixedPointType
    table_size: int = 1024
    io_type: IoType = "io_parallel"
    scale_integers: tuple[int, ...] = ()


LayerSpec = DenseSpec | ActivationSpec


@dataclass(frozen=True)
class DesignSpec:
    """A whole network as it will be synthesized, plus the synthesis settings that change the hardware.

    Attributes:
        layers: Layers in dataflow order.
        clock_period_ns: Target clock period.
        hls_tool: The HLS tool and version, ``family-version`` (``vitis-2024.1``, ``vivado-2019.2``);
            a bare family takes its default version. Tools and eras schedule differently.
        multiplier_binding: ``auto`` (the tool decides), ``dsp`` or ``fabric`` (``config_op mul -impl``).
        part: FPGA part number when known.
    """

    layers: tuple[LayerSpec, ...]
    clock_period_ns: float = 5.0
    hls_tool: str = DEFAULT_HLS_TOOL
    multiplier_binding: MultiplierBinding = "auto"
    part: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hls_tool", str(parse_hls_tool(self.hls_tool)))

    @property
    def tool(self) -> HlsTool:
        """The HLS tool as an object (family, version, era)."""
        return parse_hls_tool(self.hls_tool)

    def with_reuse_factor(self, reuse_factor: int) -> DesignSpec:
        """The same design with every dense layer at ``reuse_factor`` (the CLI's ``--reuse-factor``)."""
        return self.with_settings(reuse_factor=reuse_factor)

    def with_settings(
        self, *, reuse_factor: int | None = None, strategy: str | None = None, io_type: str | None = None
    ) -> DesignSpec:
        """The same design with every layer's reuse factor, strategy or io_type overridden (None keeps it).

        Raises:
            ConfigError: for a strategy other than ``latency``/``resource`` or an io_type other than
                ``io_parallel``/``io_stream``.
        """
        if strategy is not None and strategy.lower() not in ("latency", "resource"):
            raise ConfigError(f"strategy must be 'latency' or 'resource'. Received strategy={strategy!r}.")
        if io_type is not None and io_type not in ("io_parallel", "io_stream"):
            raise ConfigError(f"io_type must be 'io_parallel' or 'io_stream'. Received io_type={io_type!r}.")
        layers = []
        for layer in self.layers:
            changes = {} if io_type is None else {"io_type": io_type}
            if isinstance(layer, DenseSpec) or getattr(layer, "has_reuse_factor", False):  # dense, conv
                if reuse_factor is not None:
                    changes["reuse_factor"] = int(reuse_factor)
                if strategy is not None:
                    changes["strategy"] = strategy.lower()
            layers.append(replace(layer, **changes) if changes else layer)
        return replace(self, layers=tuple(layers))
