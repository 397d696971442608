"""Fit the resource estimator's coefficients on real C-synthesis reports and cross-validate them.

Reads ../shared/synth_reports (ground_truth.yaml, summary_designs.csv and each design's firmware),
fits each linear model by non-negative least squares on relative errors (a coefficient is a cost
per counted bit or per ns: it cannot be negative), and writes only the fitted numbers to
fpgacompress/resources/estimator_coefficients.json.

Usage:
    .venv/bin/python scripts/calibrate_estimator.py [--reports ../shared/synth_reports] [--output PATH]
    .venv/bin/python scripts/calibrate_estimator.py --cross-validate   # leave-one-network-out table only
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import nnls

from fpgacompress.estimation.coefficients import (
    DEFAULT_COEFFICIENTS_PATH,
    EstimatorCoefficients,
    save_coefficients,
)
from fpgacompress.estimation.constness import fold_constants
from fpgacompress.estimation.estimator import (
    TABLE_FUNCTIONS,
    design_glue_features,
    design_register_features,
    estimate_design,
    layer_features,
)
from fpgacompress.estimation.fixed_point import parse_fixed_point
from fpgacompress.estimation.hardware_model import count_dense
from fpgacompress.estimation.layers import ActivationSpec, DenseSpec, DesignSpec
from fpgacompress.estimation.project_reader import read_hls_project
from fpgacompress.estimation.timing import dsp_port_bits, elementwise_latency_cycles, schedule_dense

ROOT = Path(__file__).resolve().parents[1]
LAYER_QUANTITIES = ("lut", "ff", "latency")
GLUE_FEATURES = ("layer_boundaries", "pipelined_dense", "constant")
REGISTER_FEATURES = ("layer_output_bits", "input_bits")
LUT_PER_BIT_PRIOR = {"dense_lut": 1.0}
PRIOR_WEIGHT = 3.0
MIN_NETWORKS_PER_MODEL = 2  # a linear model fitted on one network's layers is that network's fingerprint


def load_calibration_set(reports_dir: Path) -> list[dict]:
    """Designs with their firmware read into DesignSpecs and their per-layer / total csynth numbers."""
    truth = yaml.safe_load((reports_dir / "ground_truth.yaml").read_text())
    summary = {
        row["id"]: row
        for row in csv.DictReader((reports_dir / "summary_designs.csv").read_text().splitlines())
    }
    designs = []
    for entry in truth["designs"]:
        project = reports_dir / entry["dir"]
        if (
            entry.get("model", {}).get("family") == "cnn"
            or not (project / "firmware" / "parameters.h").is_file()
        ):
            continue  # CNNs: a later issue; no firmware: the weights, hence the physics, are unknown
        mul_impl = summary[entry["id"]]["mul_impl"]
        spec = read_hls_project(
            project,
            clock_period_ns=float(entry["clock_target_ns"]),
            hls_tool=f"{'vitis' if 'Vitis' in entry['tool']['name'] else 'vivado'}-{entry['tool']['version']}",
            multiplier_binding={"default": "auto"}.get(mul_impl, mul_impl),
            part=entry["part"],
        )
        spec = fold_constants(spec)
        designs.append(
            {
                "id": entry["id"],
                "network": summary[entry["id"]]["arch"],
                "repository": entry["source"]["repo"],
                "spec": spec,
                "layers": {layer["name"]: layer["csynth"] for layer in entry["layers"]},
                "total": entry["csynth_total"],
            }
        )
    return designs


# Search ranges of the dense-layer delays (ns on a Zynq-7000 -1) and cycle offsets: physical bounds.
TIMING_GRID = {
    "multiplier_dsp_ns": np.arange(0.5, 8.01, 0.125),
    "multiplier_lut_ns": np.arange(0.5, 8.01, 0.125),
    "adder_ns": np.arange(0.2, 4.01, 0.05),
    "chained_adder_ns": np.arange(0.2, 4.01, 0.02),
    "layer_overhead_cycles": np.arange(-2.0, 4.01, 1.0),
    "serial_tail_cycles": np.arange(0.0, 8.01, 1.0),
}
FIXED_TIMING = {"adder_per_bit_ns": 0.025}  # 7-series CARRY4: about 0.1 ns per 4 bits of carry chain


def dense_rows(designs: list[dict], base: EstimatorCoefficients) -> dict[str, list]:
    """(layer, counts, design spec, csynth latency) of every dense layer, per HLS tool."""
    rows: dict[str, list] = {}
    for design in designs:
        spec = design["spec"]
        for layer in spec.layers:
            if isinstance(layer, DenseSpec):
                counts = count_dense(layer, base, spec.multiplier_binding, dsp_port_bits(spec.part))
                truth = design["layers"][layer.name]["latency_cycles_max"]
                rows.setdefault(spec.tool.era, []).append((layer, counts, spec, truth))
    return rows


def _timing_error(rows: list, timing: dict) -> float:
    return sum(
        abs(schedule_dense(layer, counts, spec, timing).latency_cycles - truth)
        for layer, counts, spec, truth in rows
    )


def fit_dense_timing(rows: list, start: dict | None = None, sweeps: int = 6) -> dict[str, float]:
    """Delays and cycle offsets minimising the absolute cycle error of every dense layer.

    Coordinate descent over physically bounded grids (the error is a step function of each delay,
    so gradients are useless) from ``start`` (default: the middle of each range); ties go to the
    value nearest the start, so a delay the data does not constrain stays where it started. The
    tool with fewer examples starts from the other tool's delays: same devices, other scheduler.
    """
    start = start or {name: float(np.median(grid)) for name, grid in TIMING_GRID.items()}
    timing = dict(start) | FIXED_TIMING
    best = _timing_error(rows, timing)
    for _ in range(sweeps):
        improved = False
        for name, grid in TIMING_GRID.items():
            for value in sorted(grid, key=lambda v, name=name: abs(v - start[name])):
                candidate = timing | {name: float(value)}
                error = _timing_error(rows, candidate)
                if error < best:
                    best, timing, improved = error, candidate, True
        if not improved:
            break
    return {name: round(value, 4) for name, value in timing.items()}


def elementwise_rows(designs: list[dict]) -> dict[str, list]:
    """(design spec, csynth latency) of every element-wise layer (ReLU, batch-norm), per HLS tool."""
    rows: dict[str, list] = {}
    for design in designs:
        spec = design["spec"]
        for layer in spec.layers:
            if isinstance(layer, ActivationSpec) and layer.function not in TABLE_FUNCTIONS:
                truth = design["layers"][layer.name]["latency_cycles_max"]
                rows.setdefault(spec.tool.era, []).append((spec, truth))
    return rows


def fit_elementwise_delay(rows: list) -> float:
    """The element-wise delay (ns) minimising the absolute cycle error; the smallest among ties."""
    grid = TIMING_GRID["adder_ns"]
    errors = [
        sum(abs(elementwise_latency_cycles(spec, value) - truth) for spec, truth in rows) for value in grid
    ]
    return round(float(grid[int(np.argmin(errors))]), 4)


def fit(designs: list[dict], base: EstimatorCoefficients) -> EstimatorCoefficients:
    """Dense timing by grid search, then non-negative least squares per (tool, layer kind, quantity)."""
    tools: dict = {}
    by_tool = dense_rows(designs, base)
    start = None
    for tool in sorted(by_tool, key=lambda name: -len(by_tool[name])):
        tools[tool] = {"dense_timing": fit_dense_timing(by_tool[tool], start)}
        start = start or tools[tool]["dense_timing"]
    for tool, rows in elementwise_rows(designs).items():
        tools.setdefault(tool, {})["elementwise_timing"] = {"elementwise_ns": fit_elementwise_delay(rows)}
    with_timing = replace(base, tools=tools)
    rows: dict[tuple, list] = {}
    networks: dict[tuple, set] = {}
    for design in designs:
        spec = design["spec"]
        for layer in spec.layers:
            features = layer_features(layer, spec, with_timing)
            truth = design["layers"][layer.name]
            targets = {"lut": truth["LUT"], "ff": truth["FF"], "latency": truth["latency_cycles_max"]}
            for quantity in LAYER_QUANTITIES:
                if features[quantity]:
                    key = (spec.tool.era, f"{features['kind']}_{quantity}")
                    rows.setdefault(key, []).append((features[quantity], targets[quantity]))
                    networks.setdefault(key, set()).add(design["network"])
    for (tool, quantity), samples in sorted(rows.items()):
        if len(networks[(tool, quantity)]) < MIN_NETWORKS_PER_MODEL:
            continue  # the other tool's model stands in (EstimatorCoefficients.model)
        names = sorted({name for features, _ in samples for name in features})
        matrix = np.array(
            [[features.get(name, 0.0) for name in names] for features, _ in samples], dtype=float
        )
        target = np.array([value for _, value in samples], dtype=float)
        if quantity.endswith("latency"):
            solution = _least_absolute_deviations(matrix, target)
        else:
            weights = 1.0 / np.maximum(
                target, 50.0
            )  # relative errors: small layers count as much as big ones
            matrix, target = matrix * weights[:, None], target * weights
            if quantity in LUT_PER_BIT_PRIOR:
                # An adder bit is one LUT6 and its carry: pull each per-bit cost toward 1 LUT, as
                # strongly as PRIOR_WEIGHT designs would, so a tool era with few designs cannot
                # set a physical cost to zero (a fabric product would then cost no LUT).
                prior = np.sqrt(PRIOR_WEIGHT) * np.eye(len(names))
                matrix = np.vstack([matrix, prior])
                target = np.concatenate([target, prior @ np.full(len(names), LUT_PER_BIT_PRIOR[quantity])])
            solution, _ = nnls(matrix, target)
        tools.setdefault(tool, {})[quantity] = {
            name: float(value) for name, value in zip(names, solution, strict=False)
        }
    # Top-level registers: the report's total minus its layer rows.
    for tool in tools:
        matrix, target = [], []
        for design in (d for d in designs if d["spec"].tool.era == tool):
            layer_ff = sum(row["FF"] for row in design["layers"].values() if row)
            features = design_register_features(design["spec"])
            matrix.append([features[name] for name in REGISTER_FEATURES])
            target.append(max(0, design["total"]["FF"] - layer_ff))
        if matrix:
            solution, _ = nnls(np.array(matrix), np.array(target, dtype=float))
            tools[tool]["design_ff"] = dict(zip(REGISTER_FEATURES, solution.tolist(), strict=True))
    fitted = replace(base, tools=tools)
    # Top-level glue: cycles the top function adds around its layer calls (register stages).
    for tool in tools:
        samples = [d for d in designs if d["spec"].tool.era == tool]
        matrix, target = [], []
        for design in samples:
            partial = estimate_design(
                design["spec"], coefficients=replace(fitted, tools=_without_design(tools))
            )
            glue = design_glue_features(design["spec"], partial.layers)
            matrix.append([glue[name] for name in GLUE_FEATURES])
            target.append(design["total"]["latency_cycles_max"] - partial.totals.latency_cycles)
        solution = _least_absolute_deviations(np.array(matrix), np.array(target, dtype=float))
        tools[tool]["design_latency"] = {
            name: float(value) for name, value in zip(GLUE_FEATURES, solution, strict=True)
        }
    return replace(base, tools=tools)


def _least_absolute_deviations(matrix: np.ndarray, target: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Non-negative L1 regression by iteratively reweighted NNLS: latency is judged in absolute cycles,
    and a few layers the tool serializes (a 561-input dense at 192 cycles) must not set the cost of
    every adder level."""
    weights = np.ones_like(target)
    solution = np.zeros(matrix.shape[1])
    for _ in range(iterations):
        solution, _ = nnls(matrix * weights[:, None], target * weights)
        weights = 1.0 / np.sqrt(np.maximum(np.abs(matrix @ solution - target), 0.5))
    return solution


def _without_design(tools: dict) -> dict:
    return {
        tool: {key: value for key, value in models.items() if key != "design_latency"}
        for tool, models in tools.items()
    }


def hls4ml_dsp_rule(spec) -> int:
    """hls4ml's rule of thumb: DSP = weights / reuse factor when weights are 9 bits or wider, else 0."""
    total = 0
    for layer in spec.layers:
        if hasattr(layer, "weight_type") and layer.weight_type.width >= 9:
            total += math.ceil(layer.n_in * layer.n_out / layer.reuse_factor)
    return total


def _relative(predicted: float, truth: float) -> float:
    return abs(predicted - truth) / max(truth, 1)


def summarize(rows: list[dict], dense_rows_: list[dict]) -> dict:
    """Medians and hit rates of per-design and per-dense-layer errors (the acceptance quantities)."""
    if not rows:
        return {}
    summary = {"n_designs": len(rows)}
    for quantity in ("lut", "ff", "dsp"):
        summary[f"median_relative_error_{quantity}"] = round(
            statistics.median(_relative(*row[quantity]) for row in rows), 4
        )
    summary["fraction_bram_exact"] = round(
        float(np.mean([row["bram"][0] == row["bram"][1] for row in rows])), 4
    )
    summary["fraction_ii_exact"] = round(float(np.mean([row["ii"][0] == row["ii"][1] for row in rows])), 4)
    latency_errors = [abs(row["latency"][0] - row["latency"][1]) for row in rows]
    summary["median_absolute_error_latency_cycles"] = statistics.median(latency_errors)
    summary["fraction_latency_within_2_cycles"] = round(float(np.mean(np.array(latency_errors) <= 2)), 4)
    if dense_rows_:
        layer_errors = np.array([abs(row["latency"][0] - row["latency"][1]) for row in dense_rows_])
        summary["n_dense_layers"] = len(dense_rows_)
        summary["fraction_dense_layer_latency_within_2_cycles"] = round(float(np.mean(layer_errors <= 2)), 4)
        summary["median_relative_error_dense_layer_ff"] = round(
            statistics.median(_relative(*row["ff"]) for row in dense_rows_), 4
        )
    return summary


def cross_validate(designs: list[dict], base: EstimatorCoefficients, group: str = "repository") -> dict:
    """Leave one ``group`` out (``repository`` or ``network``): refit without its designs, predict them.

    Designs from one repository share their author's habits (types, pruning, tool, board), so
    leaving a whole repository out is the honest test of a design nobody calibrated on.
    """
    per_design, per_layer = [], []
    for held_out in sorted({d[group] for d in designs}):
        coefficients = fit([d for d in designs if d[group] != held_out], base)
        for design in (d for d in designs if d[group] == held_out):
            spec = design["spec"]
            report = estimate_design(spec, coefficients=coefficients)
            truth = design["total"]
            for layer, row in zip(spec.layers, report.layers, strict=False):
                if isinstance(layer, DenseSpec) and design["layers"].get(layer.name):
                    layer_truth = design["layers"][layer.name]
                    per_layer.append(
                        {
                            "id": design["id"],
                            "era": spec.tool.era,
                            "latency": (row.latency_cycles, layer_truth["latency_cycles_max"]),
                            "ff": (row.ff, layer_truth["FF"]),
                        }
                    )
            predicted = report.totals
            per_design.append(
                {
                    "id": design["id"],
                    "repository": design["repository"],
                    "era": spec.tool.era,
                    "tool": spec.hls_tool,
                    "lut": (predicted.lut, truth["LUT"]),
                    "ff": (predicted.ff, truth["FF"]),
                    "dsp": (predicted.dsp, truth["DSP"]),
                    "bram": (predicted.bram_18k, truth["BRAM_18K"]),
                    "latency": (predicted.latency_cycles, truth["latency_cycles_max"]),
                    "ii": (predicted.ii, truth["ii_max"]),
                    "hls4ml_dsp": hls4ml_dsp_rule(spec),
                }
            )
    result = {"summary": {"all": summarize(per_design, per_layer)}, "designs": per_design}
    for era in sorted({row["era"] for row in per_design}):
        result["summary"][era] = summarize(
            [row for row in per_design if row["era"] == era], [row for row in per_layer if row["era"] == era]
        )
    return result


def stream_sanity_check(reports_dir: Path, coefficients: EstimatorCoefficients) -> dict:
    """Design 60 (Dense 16->5 + ReLU, io_stream, Vivado HLS 2020.1, xc7z020 at 5 ns) has a report but no
    firmware: estimate it with Keras's default (Glorot-uniform, seed 0) weights and compare the totals."""
    truth = next(
        entry
        for entry in yaml.safe_load((reports_dir / "ground_truth.yaml").read_text())["designs"]
        if entry["id"] == "60"
    )
    fixed = parse_fixed_point("ap_fixed<16,6>")
    limit = math.sqrt(6.0 / (16 + 5))
    weights = np.random.default_rng(0).uniform(-limit, limit, size=(16, 5))
    spec = DesignSpec(
        layers=(
            DenseSpec("fc1", weights, fixed, fixed, fixed, io_type="io_stream"),
            ActivationSpec("fc1_relu", "relu", 5, fixed, fixed, io_type="io_stream"),
        ),
        clock_period_ns=5.0,
        hls_tool="vivado",
        part=truth["part"],
    )
    report = estimate_design(spec, coefficients=coefficients)
    total = truth["csynth_total"]
    return {
        "estimate": {
            key: getattr(report.totals, key)
            for key in ("lut", "ff", "dsp", "bram_18k", "latency_cycles", "ii")
        },
        "csynth": {
            "lut": total["LUT"],
            "ff": total["FF"],
            "dsp": total["DSP"],
            "bram_18k": total["BRAM_18K"],
            "latency_cycles": total["latency_cycles_max"],
            "ii": total["ii_max"],
        },
    }


def error_bands(validation: dict) -> dict:
    """``{era or 'all': {quantity: median relative error}}``: the +- band printed beside each total."""
    return {
        scope: {quantity: values[f"median_relative_error_{quantity}"] for quantity in ("lut", "ff", "dsp")}
        for scope, values in validation["summary"].items()
        if values
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "synth_reports")
    parser.add_argument("--output", type=Path, default=DEFAULT_COEFFICIENTS_PATH)
    parser.add_argument("--cross-validate", action="store_true", help="print the CV table, write nothing")
    parser.add_argument("--group", choices=("repository", "network"), default="repository")
    arguments = parser.parse_args()
    designs = load_calibration_set(arguments.reports)
    base = EstimatorCoefficients()
    validation = cross_validate(designs, base, arguments.group)
    for row in validation["designs"]:
        print(row)
    for scope, values in validation["summary"].items():
        print(scope, values)
    if arguments.cross_validate:
        return
    coefficients = fit(designs, base)
    coefficients = replace(
        coefficients,
        calibration={
            "designs": len(designs),
            "source": "shared/synth_reports: 56 dense designs, Vivado HLS 2019.2/2020.1, Vitis HLS 2021.1-2025.2",
            "cross_validation": f"leave-one-{arguments.group}-out",
            "summary": validation["summary"],
            "error_bands": error_bands(validation),
        },
    )
    print("wrote", save_coefficients(coefficients, arguments.output))


if __name__ == "__main__":
    main()
