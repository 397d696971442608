"""``estimate``: per-layer DSP, LUT, FF, BRAM, latency and II of an hls4ml design, in milliseconds.

The estimator counts hardware from the firmware (see :mod:`.hardware_model`) and applies the
calibrated coefficients (see :mod:`.coefficients`). :func:`layer_features` is the one place that
defines the features, used both to predict and by ``scripts/calibrate_estimator.py`` to fit.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from .coefficients import EstimatorCoefficients, load_coefficients
from .constness import fold_constants
from .conv_model import conv_uncertainty, is_spatial, spatial_design_latency, spatial_row
from .fixed_point import csd_digit_counts
from .hardware_model import count_dense
from .hls_tools import DEFAULT_HLS_TOOL
from .layers import DenseSpec, DesignSpec, LayerSpec
from .report import LayerResources, ResourceReport
from .streams import stream_fifos
from .timing import (
    dsp_port_bits,
    elementwise_latency_cycles,
    schedule_dense,
    schedule_register_bits,
    table_schedule_cycles,
)

__all__ = [
    "estimate",
    "estimate_design",
    "layer_features",
    "design_glue_features",
    "design_register_features",
    "with_budgets",
    "TABLE_FUNCTIONS",
    "LUT_PER_MULTIPLIER_BIT",
]

TABLE_FUNCTIONS = ("softmax", "sigmoid", "tanh")
LUT_PER_MULTIPLIER_BIT = 0.55
"""LUTs per ``input bit x weight bit`` of a general (non-constant) multiplier built in fabric: a
W1 x W2 array multiplier needs about W1*W2/2 LUT6 with their carry chains. Not calibrated (only the
resource strategy builds general multipliers; the calibration set has none)."""
_BRAM_18K_BITS = 18 * 1024


def _predict(model: dict[str, float], features: dict[str, float]) -> float:
    return sum(coefficient * features.get(name, 0.0) for name, coefficient in model.items())


def layer_features(layer: LayerSpec, design: DesignSpec, coefficients: EstimatorCoefficients) -> dict:
    """Exact counts (dsp, bram_18k), the dense schedule, and linear-model features (lut, ff, latency).

    Returns:
        ``{"kind": ..., "dsp": int, "bram_18k": int, "reuse_factor": int, "lut": {...}, "ff": {...},
        "latency": {...}, "timing": DenseTiming | None, "fixed_lut": int}`` where the three dicts map
        feature names to values, ``timing`` is the scheduled dense layer (``latency`` is then empty)
        and ``fixed_lut`` is LUT cost from uncalibrated physics (resource-strategy LUT multipliers).
        Table layers add ``fixed_latency``: the cycles of their trees and product, scheduled with the
        calibrated delays (:func:`~.timing.table_schedule_cycles`); the fit covers the rest.
    """
    if isinstance(layer, DenseSpec):
        counts = count_dense(layer, coefficients, design.multiplier_binding, dsp_port_bits(design.part))
        timing = schedule_dense(layer, counts, design, coefficients.model(design.tool.era, "dense_timing"))
        return {
            "kind": "dense",
            "dsp": counts.dsp_products,
            "bram_18k": counts.weight_bram_18k,
            "reuse_factor": layer.reuse_factor,
            "lut": {"shift_add_bits": counts.shift_add_bits, "accumulate_bits": counts.accumulate_bits},
            # Registers = the bits the schedule holds at each cycle boundary (timing.schedule_register_bits).
            # A reuse factor's II > 1 lets a register hold its value for II cycles: the tool shares
            # some registers between the cycles of one initiation (fitted as its own cost per bit).
            "ff": {
                "schedule_bits" if timing.ii == 1 else "shared_schedule_bits": schedule_register_bits(
                    layer, counts, timing
                )
            },
            "latency": {},
            "timing": timing,
            "fixed_lut": round(LUT_PER_MULTIPLIER_BIT * counts.general_multiplier_bits),
        }
    element_bits = layer.n_in * layer.input_type.width
    stream_cycles = 2 if layer.io_type == "io_stream" else 0
    elementwise_ns = coefficients.model(design.tool.era, "elementwise_timing").get("elementwise_ns", 0.0)
    if layer.function in TABLE_FUNCTIONS:
        fabric = design.multiplier_binding == "fabric"
        tables = 2 if layer.function == "softmax" else 1
        blocks_per_table = math.ceil(layer.table_size * 18 / _BRAM_18K_BITS)
        # Vivado HLS reads each table through both BRAM ports; Vitis HLS gives each element its own port.
        copies = layer.n_in if design.tool.family == "vitis" else math.ceil(layer.n_in / 2) + (tables - 1)
        return {
            "kind": "table",
            "dsp": 0 if fabric or layer.function != "softmax" else layer.n_in,
            "bram_18k": copies * blocks_per_table,
            "reuse_factor": 1,
            "lut": {
                "table_element_bits": element_bits,
                "fabric_multiplier_bits": element_bits if fabric else 0,
            },
            "ff": {"table_element_bits": element_bits},
            # The trees and the product are scheduled with the calibrated delays; each table read
            # (two for softmax: exponentials and inverse) costs a fitted number of cycles.
            "latency": {"table_reads": float(tables)},
            "fixed_latency": table_schedule_cycles(
                layer.function,
                layer.n_in,
                design,
                coefficients.model(design.tool.era, "dense_timing"),
                elementwise_ns,
                dsp=not fabric,
            ),
            "timing": None,
            "fixed_lut": 0,
            "stream_cycles": stream_cycles,
        }
    # A batch-norm scale is a constant multiplication per element: a DSP where the constant is
    # wide and the binding allows (the dense rule), a shift or shift-add otherwise.
    allowed_on_dsp = design.multiplier_binding == "dsp" or (
        design.multiplier_binding == "auto" and layer.input_type.width >= coefficients.auto_dsp_min_input_bits
    )
    scale_dsp = 0
    if layer.function == "normalize" and layer.scale_integers and allowed_on_dsp:
        digits = csd_digit_counts(np.asarray(layer.scale_integers, dtype=np.int64))
        scale_dsp = int((digits >= coefficients.dsp_min_csd_digits).sum())
    return {
        "kind": "elementwise",
        "dsp": scale_dsp,
        "bram_18k": 0,
        "reuse_factor": 1,
        # A ReLU is a mux per output bit; the dropped high bits of a narrower (saturating) result
        # add a comparison per bit: the cost follows the result's width, not the input's.
        "lut": {
            "result_bits": layer.n_in * layer.result_type.width,
            "saturate_bits": layer.n_in
            * max(0, layer.input_type.integer_bits - layer.result_type.integer_bits),
        },
        # A combinational element-wise layer (it chains into its neighbours' cycle) holds no register.
        "ff": {"elementwise_bits": element_bits * elementwise_latency_cycles(design, elementwise_ns)},
        "latency": {},
        "timing": None,
        "fixed_lut": 0,
        "stream_cycles": stream_cycles,
    }


def _layer_row(layer: LayerSpec, design: DesignSpec, coefficients: EstimatorCoefficients) -> LayerResources:
    if is_spatial(layer):  # convolutions, pooling, padding, activations on feature maps: .conv_model
        return spatial_row(layer, design, coefficients)
    tool = design.tool.era
    features = layer_features(layer, design, coefficients)
    kind = features["kind"]
    timing = features["timing"]
    if timing is not None:
        latency, ii = timing.latency_cycles, timing.ii
    elif kind == "elementwise":
        elementwise_ns = coefficients.model(tool, "elementwise_timing").get("elementwise_ns", 0.0)
        latency, ii = elementwise_latency_cycles(design, elementwise_ns) + features["stream_cycles"], 1
    else:
        latency = max(0, round(_predict(coefficients.model(tool, f"{kind}_latency"), features["latency"])))
        latency += features.get("fixed_latency", 0) + features["stream_cycles"]
        ii = 1
    if kind != "dense" and layer.io_type == "io_stream":
        ii = max(ii, latency)  # a dataflow process starts again only when it is done (as dense layers)
    lut = max(0, round(_predict(coefficients.model(tool, f"{kind}_lut"), features["lut"])))
    return LayerResources(
        name=layer.name,
        dsp=int(features["dsp"]),
        lut=lut + features["fixed_lut"],
        ff=max(0, round(_predict(coefficients.model(tool, f"{kind}_ff"), features["ff"]))),
        bram_18k=int(features["bram_18k"]),
        latency_cycles=latency,
        ii=ii,
    )


def _registered_boundary(rows, index: int) -> bool:
    """Whether the top function registers the output of layer ``index``: unless both it and the
    next layer are combinational (0 cycles), which the scheduler chains into one cycle."""
    return rows[index].latency_cycles > 0 or rows[index + 1].latency_cycles > 0


def design_glue_features(design: DesignSpec, rows) -> dict[str, float]:
    """Features of the cycles the top function adds around its layer calls.

    Each boundary between two layer calls may be registered (``layer_boundaries``) -- not where
    both layers are combinational, which chain into one cycle (a Vitis HLS 2021.1 design at 5 ns:
    batch-norm then ReLU, 0 cycles each, add no glue cycle between them); a dense layer
    pipelined at II=1 inside the pipelined top gets an extra input register (``pipelined_dense``).
    In the Vitis HLS reports the glue is exactly one cycle per boundary plus one per such layer
    (8 layers, 4 dense at reuse factor 1: 11 cycles; at reuse factor 2: 7).
    """
    pipelined_dense = sum(
        1
        for layer, row in zip(design.layers, rows, strict=False)
        if isinstance(layer, DenseSpec) and row.ii == 1
    )
    # Two combinational layers in a row chain into one cycle: no register between them.
    boundaries = sum(1 for index in range(len(rows) - 1) if _registered_boundary(rows, index))
    # A design whose every layer is combinational (a slow clock) has no pipeline to register.
    registered = 1.0 if any(row.latency_cycles > 0 for row in rows) else 0.0
    return {
        "layer_boundaries": float(boundaries) * registered,
        "pipelined_dense": float(pipelined_dense) * registered,
        # One register per boundary and one per II=1 dense layer, as a single count: designs of
        # one reuse factor cannot tell the two apart, and the Vitis reports show them equal.
        "glue_registers": float(boundaries + pipelined_dense) * registered,
        "constant": registered,
    }


def design_register_features(design: DesignSpec, rows=None) -> dict[str, float]:
    """Features of the flip-flops the top function adds: each layer's output held between calls.

    The csynth per-layer rows exclude the top function's own registers; in every report they are
    close to one register per bit of each layer's output (``layer_output_bits``) plus the input.
    Given the layers' scheduled ``rows``, an output chained combinationally into the next layer
    (both 0 cycles, as at a 25 ns clock) is not counted: no register holds it.
    """
    output_bits = 0
    for index, layer in enumerate(design.layers[:-1]):
        if rows is not None and not _registered_boundary(rows, index):
            continue  # chained into the next layer's cycle: no register holds it
        if is_spatial(layer):  # a feature map streams through FIFOs: one word is held, not the map
            output_bits += layer.stream_width_bits
        elif isinstance(layer, DenseSpec):
            output_bits += layer.n_out * layer.result_type.width
        else:
            output_bits += layer.n_in * layer.result_type.width
    first = design.layers[0]
    input_bits = first.n_in * first.input_type.width
    if is_spatial(first):
        input_bits = int(first.in_shape[-1]) * first.input_type.width if hasattr(first, "in_shape") else 0
    return {"layer_output_bits": float(output_bits), "input_bits": float(input_bits)}


def estimate_design(
    design: DesignSpec,
    *,
    board=None,
    coefficients: EstimatorCoefficients | None = None,
) -> ResourceReport:
    """Estimate every layer of ``design`` and the totals; ``board`` (name or Board) adds utilization.

    With io_stream, each layer's output stream is a FIFO (see :func:`~.streams.stream_fifos`), listed
    as a row of its own, and the dataflow design accepts a new input every ``max(layer II) + 1`` cycles.
    """
    coefficients = coefficients or load_coefficients()
    design = fold_constants(design)
    rows = [_layer_row(layer, design, coefficients) for layer in design.layers]
    fifos = stream_fifos(design)
    design_model = coefficients.model(design.tool.era, "design_latency")
    total_latency = sum(row.latency_cycles for row in rows) + round(
        _predict(design_model, design_glue_features(design, rows))
    )
    streaming = any(layer.io_type == "io_stream" for layer in design.layers)
    if streaming and any(is_spatial(layer) for layer in design.layers):
        total_latency = spatial_design_latency(design, rows)  # a dataflow CNN: layers overlap
    registers = design_register_features(design, rows)
    rows += list(fifos)
    top_ff = round(_predict(coefficients.model(design.tool.era, "design_ff"), registers))
    if top_ff > 0:
        rows.append(LayerResources(name="top", dsp=0, lut=0, ff=top_ff, bram_18k=0, latency_cycles=0, ii=1))
    totals = LayerResources(
        name="total",
        dsp=sum(row.dsp for row in rows),
        lut=sum(row.lut for row in rows),
        ff=sum(row.ff for row in rows),
        bram_18k=sum(row.bram_18k for row in rows),
        latency_cycles=total_latency,
        ii=max((row.ii for row in rows), default=1) + (1 if streaming else 0),
    )
    board_name, available = _board_capacity(board)
    return ResourceReport(
        layers=tuple(rows),
        totals=totals,
        board=board_name or design.part,
        clock_period_ns=design.clock_period_ns,
        source="estimate",
        available=available,
        uncertainty=conv_uncertainty(total_latency)
        if any(is_spatial(layer) for layer in design.layers)
        else _uncertainty(coefficients, design.tool.era),
        hls_tool=design.hls_tool,
    )


def _uncertainty(coefficients: EstimatorCoefficients, era: str) -> dict | None:
    """The cross-validated error bands of this era's estimates (all designs' when the era has none)."""
    summary = coefficients.calibration.get("summary", {})
    scope = summary.get(era) or summary.get("all")
    if not scope:
        return None
    bands = {name: scope[f"median_relative_error_{name}"] for name in ("lut", "ff", "dsp")}
    bands["latency_cycles"] = scope["median_absolute_error_latency_cycles"]
    return bands


def with_budgets(report: ResourceReport, *, tmux: int | None = None, latency_budget_ns: float | None = None):
    """``report`` with the LHC timing budgets its verdict checks: II <= clock x TMUX x 25 ns, latency <= budget."""
    from ..boards import max_initiation_interval

    changes = {}
    if tmux is not None and report.clock_period_ns > 0:
        changes["max_initiation_interval"] = max_initiation_interval(1000.0 / report.clock_period_ns, tmux)
    if latency_budget_ns is not None and report.clock_period_ns > 0:
        changes["latency_budget_cycles"] = math.floor(latency_budget_ns / report.clock_period_ns + 1e-9)
    return dataclasses.replace(report, **changes) if changes else report


def _board_capacity(board) -> tuple[str, dict | None]:
    if board is None:
        return "", None
    from ..boards import load_board

    board = load_board(board)
    return board.name, {key: value for key, value in board.totals().items() if key != "uram"}


def estimate(
    project_or_model,
    board=None,
    *,
    reuse_factor: int | None = None,
    strategy: str | None = None,
    io_type: str | None = None,
    clock_period_ns: float | None = None,
    hls_tool: str | None = None,
    multiplier_binding: str = "auto",
    default_precision: str = "ap_fixed<16,6>",
    coefficients: EstimatorCoefficients | None = None,
    tmux: int | None = None,
    latency_budget_ns: float | None = None,
    clock_mhz: float | None = None,
) -> ResourceReport:
    """Estimate resources of an hls4ml project folder, a saved model file, or an in-memory Keras model.

    Args:
        project_or_model: hls4ml project directory, ``.h5``/``.keras`` model path, or a Keras model.
        board: Board name or :class:`~fpgacompress.boards.Board` for utilization and the verdict;
            its default clock is used when no clock is given for a model.
        reuse_factor: Override every dense layer's reuse factor.
        strategy: Override every dense layer's strategy (``latency`` or ``resource``).
        io_type: Override the design's io_type (``io_parallel`` or ``io_stream``).
        clock_period_ns: Target clock (default: the project's, else the board's, else 5 ns).
        clock_mhz: The same target as a frequency, the name ``BuildConfig`` uses; give one of the two.
        hls_tool: HLS tool and version, ``vitis-2024.1`` or ``vivado-2019.2`` (default: the version in
            the project's C-synthesis report, else its backend's family, else
            :data:`~fpgacompress.estimation.hls_tools.DEFAULT_HLS_TOOL`).
        multiplier_binding: ``auto``, ``dsp`` or ``fabric``.
        default_precision: Types for float Keras layers (QKeras layers carry their own).
        coefficients: Calibrated coefficients (default: the shipped file).
        tmux: Time-multiplexing period: the verdict checks II <= clock x TMUX x 25 ns.
        latency_budget_ns: The verdict checks the latency against it.

    Raises:
        ModelError: for a path that is neither an hls4ml project nor a readable model.
        ConfigError: both ``clock_mhz`` and ``clock_period_ns``, or a clock that is not positive.
    """
    if clock_mhz is not None:
        from ..errors import ConfigError

        if clock_period_ns is not None or not clock_mhz > 0:
            raise ConfigError(
                "estimate() takes one clock: clock_mhz (> 0, as in BuildConfig) or clock_period_ns. "
                f"Received: clock_mhz={clock_mhz}, clock_period_ns={clock_period_ns}."
            )
        clock_period_ns = 1000.0 / clock_mhz
    if clock_period_ns is None and board is not None:
        from ..boards import load_board

        board = load_board(board)
    if isinstance(project_or_model, (str, Path)) and Path(project_or_model).is_dir():
        from .project_reader import read_hls_project

        design = read_hls_project(
            project_or_model,
            clock_period_ns=clock_period_ns,
            hls_tool=hls_tool,
            multiplier_binding=multiplier_binding,
        )
    else:
        from .model_reader import _ConversionFailed, read_model_as_built

        try:
            # One description of the design: the project `build` would write, read like any project.
            design = read_model_as_built(
                project_or_model,
                board=board,
                reuse_factor=reuse_factor,
                strategy=strategy,
                io_type=io_type,
                clock_period_ns=clock_period_ns,
                hls_tool=hls_tool,
                multiplier_binding=multiplier_binding,
            )
        except _ConversionFailed:
            from .keras_reader import read_keras_model

            design = read_keras_model(
                project_or_model,
                clock_period_ns=clock_period_ns or (board.clock_period_ns if board is not None else 5.0),
                hls_tool=hls_tool or DEFAULT_HLS_TOOL,
                multiplier_binding=multiplier_binding,
                default_precision=default_precision,
                reuse_factor=reuse_factor or 1,
            )
    design = design.with_settings(reuse_factor=reuse_factor, strategy=strategy, io_type=io_type)
    if not design.part and board is not None:
        from ..boards import load_board

        # The board's device sets the speed of every delay (an UltraScale+ is faster than a Zynq-7000).
        design = dataclasses.replace(design, part=load_board(board).part)
    report = estimate_design(design, board=board, coefficients=coefficients)
    return with_budgets(report, tmux=tmux, latency_budget_ns=latency_budget_ns)
