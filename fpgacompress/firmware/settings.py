"""What a firmware build is asked to do: :class:`BuildConfig`, the ``build:`` section of a recipe.

Every field has the name hls4ml users know (``reuse_factor``, ``strategy``, ``io_type``) and a
default that builds a bit-exact, latency-oriented project for the board's default clock.

Example:
    >>> config = BuildConfig(board="serenity-vu13p", reuse_factor=4, strategy="resource")
    >>> config.hls4ml_backend, config.hls4ml_strategy
    ('Vitis', 'Resource')
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..config import StrictConfig

__all__ = ["BuildConfig", "DEFAULT_INPUT_PRECISION"]

# hls4ml's own default; used only for models without an input quantizer.
DEFAULT_INPUT_PRECISION = "fixed<16,6>"
MAX_INPUT_WIDTH = 24  # float32's significand: wider test-bench inputs would not reach Keras exactly


class BuildConfig(StrictConfig):
    """Settings of one HLS project build.

    Attributes:
        board: a board name from ``boards/`` (``fpgacompress boards`` lists them) or a board ``.yaml`` path.
        backend: ``vitis`` (Vitis HLS, the maintained tool) or ``vivado`` (Vivado HLS, older flows).
        reuse_factor: multiplications shared by one multiplier; also the initiation interval of each layer.
        strategy: ``latency`` (fully unrolled) or ``resource`` (multipliers reused, weights in BRAM).
        io_type: ``io_parallel`` (arrays, lowest latency) or ``io_stream`` (AXI-stream FIFOs between layers;
            the usual choice for convolutions: one pixel per stream word).
        conv_implementation: how a streaming convolution gathers its window: ``line_buffer`` (hls4ml's
            ``LineBuffer``, shift registers of kernel-height rows: the default) or ``encoded`` (``Encoded``,
            precomputed pixel instructions; stride equal in both axes). Ignored without convolutions.
        clock_mhz: algorithm clock; ``None`` uses the board's default.
        tmux: time-multiplexing period; the design must accept a new input every ``tmux x 25 ns``.
        n_testbench_samples: real jets written to the testbench and used by the C-simulation.
        input_precision: ``fixed<W,I>`` of the firmware input when the model has no input quantizer
            (with one, its precision is used and this must stay ``None``).
        project_name: name of the HLS top function and project.
    """

    board: str = "serenity-vu13p"
    backend: Literal["vivado", "vitis"] = "vitis"
    reuse_factor: int = Field(1, ge=1)
    strategy: Literal["latency", "resource"] = "latency"
    io_type: Literal["io_parallel", "io_stream"] = "io_parallel"
    conv_implementation: Literal["line_buffer", "encoded"] = "line_buffer"
    clock_mhz: float | None = Field(None, gt=0, le=1000)
    tmux: int = Field(1, ge=1)
    n_testbench_samples: int = Field(1000, ge=1, le=100_000)
    input_precision: str | None = Field(None, pattern=r"^u?fixed<\d+,-?\d+>$")
    project_name: str = Field("myproject", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("input_precision")
    @classmethod
    def _sensible_input_precision(cls, value: str | None) -> str | None:
        if value is None:
            return value
        unsigned = value.startswith("u")
        width, integer = (int(part) for part in value[value.index("<") + 1 : -1].split(","))
        smallest = 1 if unsigned else 2  # a signed type needs its sign bit and one more
        if (
            not smallest <= width <= MAX_INPUT_WIDTH
            or not -MAX_INPUT_WIDTH <= integer <= width + MAX_INPUT_WIDTH
        ):
            raise ValueError(
                f"input_precision {value} is not a usable input type: the width must be {smallest}.."
                f"{MAX_INPUT_WIDTH} bits (the test-bench feeds Keras float32 values, exact up to 24 bits) and the "
                f"integer bits within +-{MAX_INPUT_WIDTH} of it, e.g. fixed<16,6>"
            )
        return value

    @field_validator("board")
    @classmethod
    def _board_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("board must name a board, e.g. serenity-vu13p")
        return value

    @property
    def hls4ml_backend(self) -> str:
        """The backend name hls4ml expects (``Vitis`` / ``Vivado``)."""
        return {"vitis": "Vitis", "vivado": "Vivado"}[self.backend]

    @property
    def hls4ml_strategy(self) -> str:
        """The strategy name hls4ml expects (``Latency`` / ``Resource``)."""
        return self.strategy.capitalize()

    @property
    def hls4ml_conv_implementation(self) -> str:
        """The ``ConvImplementation`` name hls4ml expects (``LineBuffer`` / ``Encoded``)."""
        return {"line_buffer": "LineBuffer", "encoded": "Encoded"}[self.conv_implementation]

    def clock_for(self, default_clock_mhz: float) -> float:
        """The clock this build runs at: ``clock_mhz`` if set, else the board's default."""
        return self.clock_mhz if self.clock_mhz is not None else default_clock_mhz
