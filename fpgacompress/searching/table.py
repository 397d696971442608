"""The study as rows: one per trial with its parameters, metrics, estimates, state and duration.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

__all__ = ["trial_rows", "write_csv", "pareto_rows", "feasible", "resource_cost"]

_LEADING = ("number", "state", "value", "cost", "topology", "trained", "feasible", "infeasible")
_TRAILING = (
    "accuracy",
    "mean_auc",
    "background_rejection",
    "lut",
    "ff",
    "dsp",
    "bram_18k",
    "latency_ns",
    "ii",
    "architecture_lut",
    "architecture_ff",
    "architecture_dsp",
    "architecture_bram_18k",
    "architecture_latency_ns",
    "architecture_ii",
    "epochs_run",
    "train_seconds",
    "sample_seconds",
    "estimate_seconds",
    "overhead_seconds",
    "duration_seconds",
    "retry_of",
    "worker_host",
    "worker_pid",
)


def feasible(trial) -> bool:
    return bool(trial.constraints) and all(value <= 0 for value in trial.constraints.values())


def resource_cost(row: dict) -> float | None:
    """LUT + 55 x DSP of the trained model (a DSP slice is worth about 55 LUTs of fabric)."""
    if row.get("lut") in (None, ""):
        return None
    return float(row["lut"]) + 55.0 * float(row["dsp"])


def trial_rows(study) -> list[dict]:
    from optuna.trial import TrialState

    from .trial import trial_outcome

    rows = []
    for trial in study.get_trials(deepcopy=False):
        attributes = {**trial_outcome(trial), "worker_pid": trial.user_attrs.get("worker_pid")}
        values = trial.values or []
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        row = {
            "number": trial.number,
            "state": trial.state.name,
            "value": values[0] if values else None,
            "cost": values[1] if len(values) > 1 else None,
            "topology": attributes.get("topology"),
            "trained": attributes.get("trained", False),
            "feasible": feasible(trial) if trial.state == TrialState.COMPLETE else None,
            "infeasible": attributes.get("infeasible", ""),
            **{f"param_{name}": value for name, value in trial.params.items()},
            **{key: attributes.get(key) for key in _TRAILING if key in attributes},
            "duration_seconds": duration,
            "retry_of": trial.system_attrs.get("failed_trial"),
        }
        rows.append(row)
    return rows


def pareto_rows(rows: list[dict]) -> list[dict]:
    """Trained, feasible trials no other beats on both the metric and LUT + 55 x DSP."""
    candidates = [row for row in rows if row["state"] == "COMPLETE" and row["trained"] and row["feasible"]]
    front = []
    for row in candidates:
        value, cost = row["value"], resource_cost(row)
        dominated = any(
            other is not row
            and other["value"] >= value
            and resource_cost(other) <= cost
            and (other["value"] > value or resource_cost(other) < cost)
            for other in candidates
        )
        if not dominated:
            front.append({**row, "lut_plus_55_dsp": cost})
    return sorted(front, key=lambda row: row["lut_plus_55_dsp"])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def write_csv(rows: list[dict], path: Path) -> Path:
    """Write ``rows`` whole (a temporary file renamed), with a stable column order."""
    columns: list[str] = []
    for key in (*_LEADING, *(key for row in rows for key in row if key.startswith("param_")), *_TRAILING):
        if key not in columns and (key in _LEADING or any(key in row for row in rows)):
            columns.append(key)
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(key)) for key in columns])
    partial.replace(path)
    return path
