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

from fpgacompress.estimate.coefficients import (
    DEFAULT_COEFFICIENTS_PATH,
    EstimatorCoefficients,
    save_coefficients,
)
from fpgacompress.estimate.estimator import estimate_design, layer_features
from fpgacompress.estimate.project_reader import read_hls_project

ROOT = Path(__file__).resolve().parents[1]
LAYER_QUANTITIES = ("lut", "ff", "latency")


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
        if not (project / "firmware" / "parameters.h").is_file():
            continue  # no firmware committed: the weights, hence the physics, are unknown
        mul_impl = summary[entry["id"]]["mul_impl"]
        spec = read_hls_project(
            project,
            clock_period_ns=float(entry["clock_target_ns"]),
            hls_tool="vitis" if "Vitis" in entry["tool"]["name"] else "vivado",
            multiplier_binding={"default": "auto"}.get(mul_impl, mul_impl),
            part=entry["part"],
        )
        designs.append(
            {
                "id": entry["id"],
                "network": summary[entry["id"]]["arch"],
                "spec": spec,
                "layers": {layer["name"]: layer["csynth"] for layer in entry["layers"]},
                "total": entry["csynth_total"],
            }
        )
    return designs


def fit(designs: list[dict], base: EstimatorCoefficients) -> EstimatorCoefficients:
    """Non-negative least squares per (tool, layer kind, quantity), weighted to minimise relative error."""
    rows: dict[tuple, list] = {}
    for design in designs:
        spec = design["spec"]
        for layer in spec.layers:
            features = layer_features(layer, spec, base)
            truth = design["layers"][layer.name]
            targets = {"lut": truth["LUT"], "ff": truth["FF"], "latency": truth["latency_cycles_max"]}
            for quantity in LAYER_QUANTITIES:
                key = (spec.hls_tool, f"{features['kind']}_{quantity}")
                rows.setdefault(key, []).append((features[quantity], targets[quantity]))
    tools: dict = {}
    for (tool, quantity), samples in sorted(rows.items()):
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
            solution, _ = nnls(matrix * weights[:, None], target * weights)
        tools.setdefault(tool, {})[quantity] = {
            name: float(value) for name, value in zip(names, solution, strict=False)
        }
    fitted = replace(base, tools=tools)
    # Top-level glue: cycles the top function adds around its layer calls (register stages).
    for tool in tools:
        samples = [d for d in designs if d["spec"].hls_tool == tool]
        matrix, target = [], []
        for design in samples:
            partial = estimate_design(
                design["spec"], coefficients=replace(fitted, tools=_without_design(tools))
            )
            matrix.append([len(design["spec"].layers), 1.0])
            target.append(design["total"]["latency_cycles_max"] - partial.totals.latency_cycles)
        solution = _least_absolute_deviations(np.array(matrix), np.array(target, dtype=float))
        tools[tool]["design_latency"] = {"per_layer": float(solution[0]), "constant": float(solution[1])}
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


def cross_validate(designs: list[dict], base: EstimatorCoefficients) -> dict:
    """Leave-one-network-out: refit without every design of a network, predict that network's designs."""
    errors = {"lut": [], "ff": [], "dsp": [], "latency": [], "hls4ml_dsp": []}
    per_design = []
    for network in sorted({d["network"] for d in designs}):
        training = [d for d in designs if d["network"] != network]
        coefficients = fit(training, base)
        for design in (d for d in designs if d["network"] == network):
            tool = design["spec"].hls_tool
            if tool not in coefficients.tools:
                continue
            predicted = estimate_design(design["spec"], coefficients=coefficients).totals
            truth = design["total"]
            row = {"id": design["id"], "network": network}
            for quantity, key in (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP")):
                relative = abs(getattr(predicted, quantity) - truth[key]) / max(truth[key], 1)
                errors[quantity].append(relative)
                row[quantity] = (getattr(predicted, quantity), truth[key])
            errors["latency"].append(abs(predicted.latency_cycles - truth["latency_cycles_max"]))
            row["latency"] = (predicted.latency_cycles, truth["latency_cycles_max"])
            rule = hls4ml_dsp_rule(design["spec"])
            errors["hls4ml_dsp"].append(abs(rule - truth["DSP"]) / max(truth["DSP"], 1))
            row["hls4ml_dsp"] = rule
            per_design.append(row)
    summary = {
        "median_relative_error_lut": statistics.median(errors["lut"]),
        "median_relative_error_ff": statistics.median(errors["ff"]),
        "median_relative_error_dsp": statistics.median(errors["dsp"]),
        "median_relative_error_dsp_hls4ml_rule": statistics.median(errors["hls4ml_dsp"]),
        "median_absolute_error_latency_cycles": statistics.median(errors["latency"]),
        "fraction_latency_within_2_cycles": float(np.mean(np.array(errors["latency"]) <= 2)),
        "n_designs": len(per_design),
    }
    return {"summary": summary, "designs": per_design}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT.parent / "shared" / "synth_reports")
    parser.add_argument("--output", type=Path, default=DEFAULT_COEFFICIENTS_PATH)
    parser.add_argument("--cross-validate", action="store_true", help="print the CV table, write nothing")
    arguments = parser.parse_args()
    designs = load_calibration_set(arguments.reports)
    base = EstimatorCoefficients()
    validation = cross_validate(designs, base)
    for row in validation["designs"]:
        print(row)
    for key, value in validation["summary"].items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    if arguments.cross_validate:
        return
    coefficients = fit(designs, base)
    coefficients = replace(
        coefficients,
        calibration={
            "designs": len(designs),
            "source": "shared/synth_reports (Vivado HLS 2019.2/2020.1, Vitis HLS 2021.1 C-synthesis)",
            "cross_validation": "leave-one-network-out",
            **{key: round(value, 4) for key, value in validation["summary"].items()},
        },
    )
    print("wrote", save_coefficients(coefficients, arguments.output))


if __name__ == "__main__":
    main()
