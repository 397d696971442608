"""``estimate``: per-layer DSP, LUT, FF, BRAM, latency and II of an hls4ml design, in milliseconds.

The estimator counts hardware from the firmware (see :mod:`.hardware_model`) and applies the
calibrated coefficients (see :mod:`.coefficients`). :func:`layer_features` is the one place that
defines the features, used both to predict and by ``scripts/calibrate_estimator.py`` to fit.

Example:
    >>> report = estimate("build/jet_tagger_hls", board="serenity-vu9p")
    >>> [(layer.name, layer.dsp) for layer in report.layers][:2]
    [('fc1', 212), ('relu1', 0)]
"""

from __future__ import annotations

import math
from pathlib import Path

from .coefficients import EstimatorCoefficients, load_coefficients
from .hardware_model import count_dense
from .layers import DenseSpec, DesignSpec, LayerSpec
from .report import LayerResources, ResourceReport

__all__ = ["estimate", "estimate_design", "layer_features", "TABLE_FUNCTIONS"]

TABLE_FUNCTIONS = ("softmax", "sigmoid", "tanh")
_BRAM_18K_BITS = 18 * 1024


def _predict(model: dict[str, float], features: dict[str, float]) -> float:
    return sum(coefficient * features.get(name, 0.0) for name, coefficient in model.items())


def layer_features(layer: LayerSpec, design: DesignSpec, coefficients: EstimatorCoefficients) -> dict:
    """Exact counts (dsp, bram_18k) and linear-model features (lut, ff, latency) of one layer.

    Returns:
        ``{"kind": ..., "dsp": int, "bram_18k": int, "reuse_factor": int, "lut": {...}, "ff": {...},
        "latency": {...}}`` where the three dicts map feature names to values.
    """
    per_ns = 1.0 / design.clock_period_ns
    if isinstance(layer, DenseSpec):
        counts = count_dense(layer, coefficients, design.multiplier_binding)
        reuse_steps = math.log2(layer.reuse_factor)
        return {
            "kind": "dense",
            "dsp": counts.dsp_products,
            "bram_18k": 0,
            "reuse_factor": layer.reuse_factor,
            "lut": {"shift_add_bits": counts.shift_add_bits, "accumulate_bits": counts.accumulate_bits},
            "ff": {"shift_add_bits": counts.shift_add_bits, "accumulate_bits": counts.accumulate_bits},
            "latency": {
                "adder_levels_per_ns": counts.adder_tree_levels * per_ns,
                "multiply_stage_per_ns": per_ns if counts.dsp_products else 0.0,
                "reuse_steps": reuse_steps,
            },
        }
    element_bits = layer.n_in * layer.input_type.width
    if layer.function in TABLE_FUNCTIONS:
        fabric = design.multiplier_binding == "fabric"
        tables = 2 if layer.function == "softmax" else 1
        blocks_per_table = math.ceil(layer.table_size * 18 / _BRAM_18K_BITS)
        # Vivado HLS reads each table through both BRAM ports; Vitis HLS gives each element its own port.
        copies = layer.n_in if design.hls_tool == "vitis" else math.ceil(layer.n_in / 2) + (tables - 1)
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
            "latency": {
                "table_stage_per_ns": per_ns,
                "table_levels_per_ns": math.log2(max(layer.n_in, 2)) * per_ns,
            },
        }
    return {
        "kind": "elementwise",
        "dsp": 0,
        "bram_18k": 0,
        "reuse_factor": 1,
        "lut": {"elementwise_bits": element_bits},
        "ff": {"elementwise_bits": element_bits},
        "latency": {"elementwise_stage_per_ns": per_ns},
    }


def estimate_design(
    design: DesignSpec,
    *,
    board=None,
    coefficients: EstimatorCoefficients | None = None,
) -> ResourceReport:
    """Estimate every layer of ``design`` and the totals; ``board`` (name or Board) adds utilization."""
    coefficients = coefficients or load_coefficients()
    tool = design.hls_tool
    rows = []
    for layer in design.layers:
        features = layer_features(layer, design, coefficients)
        kind = features["kind"]
        latency = max(0, round(_predict(coefficients.model(tool, f"{kind}_latency"), features["latency"])))
        reuse_factor = features["reuse_factor"]
        ii = 1 if reuse_factor == 1 else min(reuse_factor, latency + 1)
        rows.append(
            LayerResources(
                name=layer.name,
                dsp=int(features["dsp"]),
                lut=max(0, round(_predict(coefficients.model(tool, f"{kind}_lut"), features["lut"]))),
                ff=max(0, round(_predict(coefficients.model(tool, f"{kind}_ff"), features["ff"]))),
                bram_18k=int(features["bram_18k"]),
                latency_cycles=latency,
                ii=ii,
            )
        )
    design_model = coefficients.model(tool, "design_latency")
    total_latency = sum(row.latency_cycles for row in rows) + round(
        _predict(design_model, {"per_layer": len(rows), "constant": 1.0})
    )
    totals = LayerResources(
        name="total",
        dsp=sum(row.dsp for row in rows),
        lut=sum(row.lut for row in rows),
        ff=sum(row.ff for row in rows),
        bram_18k=sum(row.bram_18k for row in rows),
        latency_cycles=total_latency,
        ii=max((row.ii for row in rows), default=1),
    )
    board_name, available = _board_capacity(board)
    return ResourceReport(
        layers=tuple(rows),
        totals=totals,
        board=board_name or design.part,
        clock_period_ns=design.clock_period_ns,
        source="estimate",
        available=available,
    )


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
    clock_period_ns: float | None = None,
    hls_tool: str | None = None,
    multiplier_binding: str = "auto",
    default_precision: str = "ap_fixed<16,6>",
    coefficients: EstimatorCoefficients | None = None,
) -> ResourceReport:
    """Estimate resources of an hls4ml project folder, a saved model file, or an in-memory Keras model.

    Args:
        project_or_model: hls4ml project directory, ``.h5``/``.keras`` model path, or a Keras model.
        board: Board name or :class:`~fpgacompress.boards.Board` for utilization and the verdict;
            its default clock is used when no clock is given for a model.
        reuse_factor: Override every dense layer's reuse factor.
        clock_period_ns: Target clock (default: the project's, else the board's, else 5 ns).
        hls_tool: ``vivado`` or ``vitis`` (default: the project's backend, else ``vitis``).
        multiplier_binding: ``auto``, ``dsp`` or ``fabric``.
        default_precision: Types for float Keras layers (QKeras layers carry their own).
        coefficients: Calibrated coefficients (default: the shipped file).

    Raises:
        ModelError: for a path that is neither an hls4ml project nor a readable model.
    """
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
        from .keras_reader import read_keras_model

        design = read_keras_model(
            project_or_model,
            clock_period_ns=clock_period_ns or (board.clock_period_ns if board is not None else 5.0),
            hls_tool=hls_tool or "vitis",
            multiplier_binding=multiplier_binding,
            default_precision=default_precision,
            reuse_factor=reuse_factor or 1,
        )
    if reuse_factor is not None:
        design = design.with_reuse_factor(reuse_factor)
    return estimate_design(design, board=board, coefficients=coefficients)
