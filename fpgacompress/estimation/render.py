"""Render a :class:`ResourceReport`: terminal table (rich), JSON, Markdown and a PNG bar chart.

Renderers return text or write files; only the CLI prints.
"""

from __future__ import annotations

import json
from pathlib import Path

from .report import RESOURCE_NAMES, ResourceReport

__all__ = ["rich_table", "to_markdown", "write_json", "write_markdown", "write_png"]

_COLUMNS = ("dsp", "lut", "ff", "bram_18k", "latency_cycles", "ii")


def _rows(report: ResourceReport):
    return [*report.layers, report.totals]


def rich_table(report: ResourceReport, comparison: ResourceReport | None = None):
    """A ``rich.table.Table``; with ``comparison``, each cell shows ``report (comparison)``."""
    from rich.table import Table

    title = f"{report.source} — {report.board or 'no board'} @ {report.clock_period_ns:g} ns"
    if comparison is not None:
        title += f"  (in brackets: {comparison.source})"
    table = Table(title=title)
    table.add_column("layer")
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    others = {row.name: row for row in _rows(comparison)} if comparison is not None else {}
    for row in _rows(report):
        other = others.get(row.name)
        cells = [
            f"{getattr(row, column)}" + (f" ({getattr(other, column)})" if other is not None else "")
            for column in _COLUMNS
        ]
        table.add_row(row.name, *cells)
    return table


def to_markdown(report: ResourceReport, comparison: ResourceReport | None = None) -> str:
    """A Markdown table per layer, the utilization line and the verdict."""
    others = {row.name: row for row in _rows(comparison)} if comparison is not None else {}
    header = "| layer | " + " | ".join(_COLUMNS) + " |"
    lines = [
        f"### Resources ({report.source}, {report.board or 'no board'}, {report.clock_period_ns:g} ns clock)",
        "",
        header,
        "|" + "---|" * (len(_COLUMNS) + 1),
    ]
    for row in _rows(report):
        other = others.get(row.name)
        cells = [
            f"{getattr(row, column)}" + (f" ({getattr(other, column)})" if other is not None else "")
            for column in _COLUMNS
        ]
        lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
    if comparison is not None:
        lines += ["", f"In brackets: {comparison.source}."]
    utilization = report.utilization
    if utilization:
        lines += [
            "",
            "Utilization: " + ", ".join(f"{name} {percent:.1f}%" for name, percent in utilization.items()),
        ]
    bands = (comparison if comparison is not None and comparison.uncertainty else report).uncertainty_line
    if bands:
        lines += ["", f"Estimate: {bands}."]
    lines += ["", report.verdict, ""]
    return "\n".join(lines)


def write_markdown(report: ResourceReport, path, comparison: ResourceReport | None = None) -> Path:
    path = Path(path)
    path.write_text(to_markdown(report, comparison))
    return path


def write_json(report: ResourceReport, path, comparison: ResourceReport | None = None) -> Path:
    path = Path(path)
    payload = {"report": report.to_dict()}
    if comparison is not None:
        payload["comparison"] = comparison.to_dict()
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def write_png(report: ResourceReport, path, comparison: ResourceReport | None = None) -> Path:
    """One bar chart per resource, a bar per layer (side by side with ``comparison`` when given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [row.name for row in report.layers]
    others = {row.name: row for row in comparison.layers} if comparison is not None else {}
    figure, axes = plt.subplots(1, len(RESOURCE_NAMES), figsize=(4 * len(RESOURCE_NAMES), 3.5))
    positions = np.arange(len(names))
    width = 0.4 if comparison is not None else 0.8
    for axis, resource in zip(axes, RESOURCE_NAMES, strict=False):
        axis.bar(positions, [row.get(resource) for row in report.layers], width, label=report.source)
        if comparison is not None:
            values = [others[name].get(resource) if name in others else 0 for name in names]
            axis.bar(positions + width, values, width, label=comparison.source)
        axis.set_xticks(
            positions + (width / 2 if comparison is not None else 0), names, rotation=45, ha="right"
        )
        axis.set_title(resource.upper())
    axes[0].legend()
    figure.suptitle(report.verdict, fontsize=8)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
