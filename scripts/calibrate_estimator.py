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
GLUE_FEATURES = ("glue_registers",)
REGISTER_FEATURES = ("layer_output_bits", "input_bits")
PER_BIT_PRIOR = {
    "dense_lut": {"shift_add_bits": 1.0, "accumulate_bits": 1.0},
    "dense_ff": {"schedule_bits": 1.0, "input_bits": 0.0, "output_bits_cycles": 0.0},
}
"""Physical costs the fits are pulled toward: one LUT per adder bit, one FF per bit the schedule holds."""
PRIOR_WEIGHT = 3.0
POOLED_QUANTITIES = ("dense_ff",)
"""Fitted once on every design ("all" scope): the FF per scheduled bit is the device's, and each
tool's scheduling is already in the counted bits; per-tool ratios differ more between repositories
than between tools."""
MIN_REPOSITORIES_PER_MODEL = 2  # a model fitted on one repository's designs is its author's fingerprint


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
    "ultrascale_logic_factor": np.arange(0.2, 1.001, 0.05),
}
DEVICE_DELAYS = ("ultrascale_logic_factor", "multiplier_lut_ns")
"""Delays of the silicon, not of the scheduler: how much faster UltraScale(+) fabric is than
7-series, and a constant product built from LUTs and carry chains. Fitted once on the dense
layers of every tool (then held fixed in each tool's fit), so a tool seen only on 7-series parts
or only with DSP products still times an UltraScale+ layer or a fabric product from the others."""
POOLED_SCHEDULE = ("serial_tail_cycles",)
"""Cycles a reuse-factor layer adds after its last shared product, beyond its sum's levels and its
DSP's stages: fitted once on every tool's layers (then held in each tool's fit) because a tool
era seen without reuse-factor layers (Vitis HLS 2024+ in the calibration set) cannot set it."""
FIXED_TIMING = {"adder_per_bit_ns": 0.025}  # 7-series CARRY4: about 0.1 ns per 4 bits of carry chain


def scopes(spec) -> tuple[str, ...]:
    """The model scopes a design calibrates: its tool family and, when it differs, its era."""
    tool = spec.tool
    return (tool.family,) if tool.era == tool.family else (tool.family, tool.era)


def dense_rows(designs: list[dict], base: EstimatorCoefficients) -> dict[str, list]:
    """(layer, counts, design spec, csynth latency, repository) of every dense layer, per scope."""
    rows: dict[str, list] = {}
    for design in designs:
        spec = design["spec"]
        for layer in spec.layers:
            if isinstance(layer, DenseSpec):
                counts = count_dense(layer, base, spec.multiplier_binding, dsp_port_bits(spec.part))
                truth = design["layers"][layer.name]["latency_cycles_max"]
                for scope in scopes(spec):
                    rows.setdefault(scope, []).append((layer, counts, spec, truth, design["repository"]))
    return rows


def _timing_error(rows: list, timing: dict) -> float:
    return sum(
        abs(schedule_dense(layer, counts, spec, timing).latency_cycles - truth)
        for layer, counts, spec, truth, _ in rows
    )


def fit_dense_timing(
    rows: list, start: dict | None = None, sweeps: int = 6, fixed: dict | None = None
) -> dict[str, float]:
    """Delays and cycle offsets minimising the absolute cycle error of every dense layer.

    Coordinate descent over physically bounded grids (the error is a step function of each delay,
    so gradients are useless) from ``start`` (default: the middle of each range); ties go to the
    value nearest the start, so a delay the data does not constrain stays where it started. The
    scope with fewer examples starts from the larger one's delays: same devices, other scheduler.
    """
    start = start or {name: float(np.median(grid)) for name, grid in TIMING_GRID.items()}
    fixed = fixed or {}
    timing = dict(start) | FIXED_TIMING | fixed
    best = _timing_error(rows, timing)
    for _ in range(sweeps):
        improved = False
        for name, grid in TIMING_GRID.items():
            if name in fixed:
                continue
            for value in sorted(grid, key=lambda v, name=name: abs(v - start[name])):
                candidate = timing | {name: float(value)}
                error = _timing_error(rows, candidate)
                if error < best:
                    best, timing, improved = error, candidate, True
        if not improved:
            break
    return {name: round(value, 4) for name, value in timing.items()}


def elementwise_rows(designs: list[dict]) -> dict[str, list]:
    """(design spec, csynth latency, repository) of every element-wise layer (ReLU, batch-norm), per scope."""
    rows: dict[str, list] = {}
    for design in designs:
        spec = design["spec"]
        for layer in spec.layers:
            if isinstance(layer, ActivationSpec) and layer.function not in TABLE_FUNCTIONS:
                truth = design["layers"][layer.name]["latency_cycles_max"]
                for scope in scopes(spec):
                    rows.setdefault(scope, []).append((spec, truth, design["repository"]))
    return rows


ELEMENTWISE_PRIOR_NS = 4.0
"""A ReLU is a comparison, a select and the result's rounding / saturation: the HLS tools time a
combinational 16-bit ReLU module at 3.5-4.1 ns on a 7-series -1 device (the ``EstimatedClockPeriod``
of its own csynth XML: 4.14 ns on an xc7z020-1 under Vivado HLS, 3.55 ns on an xc7z007s-2 under
Vitis HLS). Where the layer latencies allow a range of delays (every ReLU at 5 ns fits in a cycle),
the fit keeps the value nearest this, so a tool era seen only at slow clocks still times a 3.33 ns
design."""


def fit_elementwise_delay(rows: list) -> float:
    """The element-wise delay (ns) minimising the absolute cycle error; nearest the prior among ties."""
    grid = TIMING_GRID["adder_ns"]
    errors = np.array(
        [
            sum(abs(elementwise_latency_cycles(spec, value) - truth) for spec, truth, _ in rows)
            for value in grid
        ]
    )
    best = grid[np.flatnonzero(errors == errors.min())]
    return round(float(best[np.argmin(np.abs(best - ELEMENTWISE_PRIOR_NS))]), 4)


def _enough(rows: list, repository_index: int = -1) -> bool:
    """A model needs examples from MIN_REPOSITORIES_PER_MODEL repositories, or it fits one author's habits."""
    return len({row[repository_index] for row in rows}) >= MIN_REPOSITORIES_PER_MODEL


def fit(designs: list[dict], base: EstimatorCoefficients) -> EstimatorCoefficients:
    """Per scope (tool family, and era where >= 2 repositories show it): dense timing by grid
    search (the DEVICE_DELAYS fitted once on every tool's layers and held), element-wise delay,
    then non-negative least squares per (layer kind, quantity); the top function's cycles per
    scope and its registers (``design_ff``) once on every design."""
    tools: dict = {}
    by_scope = dense_rows(designs, base)
    # Device delays no scheduler changes are fitted once on every tool's layers (see DEVICE_DELAYS).
    pooled = [row for scope in ("vivado", "vitis") for row in by_scope.get(scope, [])]
    fixed = None
    if _enough(pooled):
        pooled_timing = fit_dense_timing(pooled)
        fixed = {name: pooled_timing[name] for name in DEVICE_DELAYS + POOLED_SCHEDULE}
    start = None
    for scope in sorted(by_scope, key=lambda name: -len(by_scope[name])):
        if _enough(by_scope[scope]):
            tools[scope] = {"dense_timing": fit_dense_timing(by_scope[scope], start, fixed=fixed)}
            start = start or tools[scope]["dense_timing"]
    for scope, rows in elementwise_rows(designs).items():
        if _enough(rows):
            tools.setdefault(scope, {})["elementwise_timing"] = {
                "elementwise_ns": fit_elementwise_delay(rows)
            }
    rows: dict[tuple, list] = {}
    repositories: dict[tuple, set] = {}
    for design in designs:
        spec = design["spec"]
        with_timing = replace(base, tools=tools)
        for layer in spec.layers:
            features = layer_features(layer, spec, with_timing)
            truth = design["layers"][layer.name]
            # Latency fits the cycles the counted schedule leaves (table reads around the trees).
            targets = {
                "lut": truth["LUT"],
                "ff": truth["FF"],
                "latency": truth["latency_cycles_max"]
                - features.get("fixed_latency", 0)
                - features.get("stream_cycles", 0),
            }
            for quantity in LAYER_QUANTITIES:
                if quantity == "ff" and features["kind"] == "dense" and truth["latency_cycles_max"] == 0:
                    continue  # a combinational layer holds no register: the latency model decides that
                if features[quantity]:
                    name = f"{features['kind']}_{quantity}"
                    for scope in ("all",) if name in POOLED_QUANTITIES else scopes(spec):
                        key = (scope, name)
                        rows.setdefault(key, []).append((features[quantity], targets[quantity]))
                        repositories.setdefault(key, set()).add(design["repository"])
    for (scope, quantity), samples in sorted(rows.items()):
        if len(repositories[(scope, quantity)]) < MIN_REPOSITORIES_PER_MODEL:
            continue  # the family's or the other family's model stands in (EstimatorCoefficients.model)
        names = sorted({name for features, _ in samples for name in features})
        matrix = np.array(
            [[features.get(name, 0.0) for name in names] for features, _ in samples], dtype=float
        )
        target = np.array([value for _, value in samples], dtype=float)
        if quantity.endswith("latency"):
            solution = _least_absolute_deviations(matrix, target)
        elif all(np.count_nonzero(row) <= 1 for row in matrix):
            # One physical count times one cost per sample (flip-flops per scheduled bit, at II=1
            # or shared at II>1): the median ratio per count, symmetric in over- and
            # under-estimates, robust to a layer the tool scheduled oddly.
            solution = np.zeros(len(names))
            for column in range(len(names)):
                ratios = [
                    t / m[column] for m, t in zip(matrix, target, strict=True) if m[column] > 0 and t > 0
                ]
                solution[column] = statistics.median(ratios) if ratios else 0.0
        else:
            weights = 1.0 / np.maximum(
                target, 50.0
            )  # relative errors: small layers count as much as big ones
            matrix, target = matrix * weights[:, None], target * weights
            if quantity in PER_BIT_PRIOR:
                # An adder bit is one LUT6 and its carry, a registered bit one FF: pull each cost
                # toward that, as strongly as PRIOR_WEIGHT layers would, so a scope with few
                # designs cannot set a physical cost to zero (a fabric product costing no LUT).
                prior = np.sqrt(PRIOR_WEIGHT) * np.eye(len(names))
                expected = np.array([PER_BIT_PRIOR[quantity].get(name, 0.0) for name in names])
                matrix = np.vstack([matrix, prior])
                target = np.concatenate([target, prior @ expected])
            solution, _ = nnls(matrix, target)
        tools.setdefault(scope, {})[quantity] = {
            name: float(value) for name, value in zip(names, solution, strict=False)
        }
    fitted = replace(base, tools=tools)
    # The top function's own registers and cycles: the report's totals minus its layer rows.
    top_rows: dict[str, list] = {}
    for design in designs:
        layer_rows = [row for row in design["layers"].values() if row]
        partial = estimate_design(design["spec"], coefficients=replace(fitted, tools=_without_design(tools)))
        glue = design_glue_features(design["spec"], partial.layers)
        registers = design_register_features(design["spec"], partial.layers)
        cycles = design["total"]["latency_cycles_max"] - sum(row["latency_cycles_max"] for row in layer_rows)
        flip_flops = max(0, design["total"]["FF"] - sum(row["FF"] for row in layer_rows))
        streaming = any(layer.io_type == "io_stream" for layer in design["spec"].layers)
        for scope in scopes(design["spec"]):
            # A dataflow (io_stream) design overlaps its layers: its latency is no sum plus glue.
            glue_cycles = None if streaming else cycles
            top_rows.setdefault(scope, []).append(
                (glue, registers, glue_cycles, flip_flops, design["repository"])
            )
    for scope, samples in top_rows.items():
        if not _enough(samples):
            continue
        timed = [row for row in samples if row[2] is not None]
        matrix = np.array([[glue[name] for name in GLUE_FEATURES] for glue, *_ in timed])
        solution = _least_absolute_deviations(matrix, np.array([row[2] for row in timed], dtype=float))
        tools.setdefault(scope, {})["design_latency"] = dict(
            zip(GLUE_FEATURES, solution.tolist(), strict=True)
        )
    # The top function's registers hold the layer outputs it passes on: one cost per held bit,
    # the device's, fitted on every design (a tool era seen in few designs cannot set it alone).
    samples = [row for scope in ("vivado", "vitis") for row in top_rows.get(scope, [])]
    if _enough(samples):
        matrix = np.array([[registers[name] for name in REGISTER_FEATURES] for _, registers, *_ in samples])
        solution, _ = nnls(matrix, np.array([row[3] for row in samples], dtype=float))
        tools.setdefault("all", {})["design_ff"] = dict(
            zip(REGISTER_FEATURES, solution.tolist(), strict=True)
        )
    return replace(base, tools=tools)


def _least_absolute_deviations(
    matrix: np.ndarray, target: np.ndarray, iterations: int = 30, floor: float = 0.5
) -> np.ndarray:
    """Non-negative L1 regression by iteratively reweighted NNLS: latency is judged in absolute cycles,
    and a few layers the tool serializes (a 561-input dense at 192 cycles) must not set the cost of
    every adder level."""
    weights = np.ones_like(target)
    solution = np.zeros(matrix.shape[1])
    for _ in range(iterations):
        solution, _ = nnls(matrix * weights[:, None], target * weights)
        weights = 1.0 / np.sqrt(np.maximum(np.abs(matrix @ solution - target), floor))
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


def component_cycles(design: dict, report) -> dict[str, tuple[int, int]]:
    """(predicted, reported) cycles of each part of a design's latency: its dense, element-wise and
    table (softmax) layers summed, and the rest -- the top function's glue, or in a dataflow
    (io_stream) design the difference between its latency and the sum of its layers."""
    sums = {"dense": [0, 0], "elementwise": [0, 0], "table": [0, 0]}
    for layer, row in zip(design["spec"].layers, report.layers, strict=False):
        truth = design["layers"].get(layer.name)
        if not truth:
            continue
        if isinstance(layer, DenseSpec):
            kind = "dense"
        else:
            kind = "table" if layer.function in TABLE_FUNCTIONS else "elementwise"
        sums[kind][0] += row.latency_cycles
        sums[kind][1] += truth["latency_cycles_max"]
    total = (report.totals.latency_cycles, design["total"]["latency_cycles_max"])
    glue = tuple(total[i] - sum(values[i] for values in sums.values()) for i in range(2))
    return {kind: tuple(values) for kind, values in sums.items()} | {"glue": glue}


def print_residuals(validation: dict) -> None:
    """Predicted minus reported cycles per design and component, then per component how many
    designs it puts off by more than 2 cycles (the latency target's tolerance)."""
    print("id  tool           repository                design  dense  elem  table  glue")
    off = dict.fromkeys(("dense", "elementwise", "table", "glue"), 0)
    for row in validation["designs"]:
        parts = {kind: p - t for kind, (p, t) in row["cycles"].items()}
        for kind, error in parts.items():
            off[kind] += abs(error) > 2
        print(
            f"{row['id']:>3} {row['tool']:14} {row['repository'][:25]:25} "
            f"{row['latency'][0] - row['latency'][1]:+6d} {parts['dense']:+6d} {parts['elementwise']:+5d} "
            f"{parts['table']:+6d} {parts['glue']:+5d}"
        )
    print("designs with a component off by more than 2 cycles:", off)


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
                    "cycles": component_cycles(design, report),
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
    parser.add_argument(
        "--residuals",
        action="store_true",
        help="print predicted minus reported cycles per design and component",
    )
    arguments = parser.parse_args()
    designs = load_calibration_set(arguments.reports)
    base = EstimatorCoefficients()
    validation = cross_validate(designs, base, arguments.group)
    for row in validation["designs"]:
        print({key: value for key, value in row.items() if key != "cycles"})
    if arguments.residuals:
        print_residuals(validation)
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
