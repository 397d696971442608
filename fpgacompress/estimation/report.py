"""Per-layer resources and the whole-design report, shared by the estimator and the csynth parser.

Estimate and real synthesis produce the same objects, so a user compares them cell by cell and
every renderer (terminal, JSON, Markdown, PNG) serves both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["LayerResources", "ResourceReport", "RESOURCE_NAMES"]

RESOURCE_NAMES = ("lut", "ff", "dsp", "bram_18k")

_REMEDIES = {
    "dsp": "raise the reuse factor, quantize weights below the DSP threshold (fewer CSD digits), or prune more",
    "lut": "prune more (zero weights vanish), use fewer weight / accumulator bits, or move products to DSPs",
    "ff": "raise the clock period (fewer pipeline stages), use narrower accumulators, or prune more",
    "bram_18k": "shrink activation tables (table_size) or use io_parallel instead of io_stream FIFOs",
}


def _short(value: int) -> str:
    """``28512`` -> ``28.5k``: the precision an error band of tens of percent allows."""
    return f"{value / 1000:.1f}k" if value >= 10000 else str(value)


@dataclass(frozen=True)
class LayerResources:
    """Resources and timing of one layer (or of the whole design for ``ResourceReport.totals``).

    Attributes:
        name: Layer name, or ``total``.
        dsp, lut, ff, bram_18k: Resource counts (BRAM in 18 Kb halves, as HLS reports them).
        latency_cycles: Clock cycles from input to output.
        ii: Initiation interval in cycles.
    """

    name: str
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    latency_cycles: int
    ii: int

    def get(self, resource: str) -> int:
        return int(getattr(self, resource))


@dataclass(frozen=True)
class ResourceReport:
    """Resources per layer and in total, with utilization of a device and a fits / does-not-fit verdict.

    Attributes:
        layers: One row per layer, in dataflow order.
        totals: The whole design (from the top report for csynth; layers plus glue for estimates).
        board: Board or part the utilization refers to (empty when unknown).
        clock_period_ns: Target clock period.
        source: ``estimate`` or ``csynth``.
        available: Device totals per resource (``lut``, ``ff``, ``dsp``, ``bram_18k``), when known.
        uncertainty: Cross-validated error band of each estimated total (``lut``/``ff``/``dsp`` as a
            fraction, ``latency_cycles`` in cycles); None for a synthesis report.
        hls_tool: The HLS tool and version modelled (``vitis-2024.1``), empty for a synthesis report.
        max_initiation_interval: II budget in cycles (LHC: clock x TMUX x 25 ns), when given.
        latency_budget_cycles: Latency budget in cycles, when given.
    """

    layers: tuple[LayerResources, ...]
    totals: LayerResources
    board: str
    clock_period_ns: float
    source: Literal["estimate", "csynth"]
    available: dict | None = None
    uncertainty: dict | None = None
    hls_tool: str = ""
    max_initiation_interval: int | None = None
    latency_budget_cycles: int | None = None

    @property
    def latency_ns(self) -> float:
        return self.totals.latency_cycles * self.clock_period_ns

    @property
    def utilization(self) -> dict[str, float]:
        """Percent of the device each resource uses (empty when the device is unknown)."""
        if not self.available:
            return {}
        return {
            name: 100.0 * self.totals.get(name) / self.available[name]
            for name in RESOURCE_NAMES
            if self.available.get(name)
        }

    @property
    def timing_violations(self) -> list[str]:
        """Why the design is too slow for its budgets (empty when it meets them or none is given)."""
        problems = []
        if self.max_initiation_interval is not None and self.totals.ii > self.max_initiation_interval:
            problems.append(
                f"II {self.totals.ii} cycles exceeds the budget of {self.max_initiation_interval} "
                "(raise the clock or TMUX, or lower the reuse factor)"
            )
        if self.latency_budget_cycles is not None and self.totals.latency_cycles > self.latency_budget_cycles:
            problems.append(
                f"latency {self.totals.latency_cycles} cycles exceeds the budget of {self.latency_budget_cycles} "
                "(lower the reuse factor, use the latency strategy, or lengthen the clock period)"
            )
        return problems

    @property
    def fits(self) -> bool | None:
        """True when every resource is within the device and the II / latency budgets (when given)
        are met; None when neither a device nor a budget is known."""
        utilization = self.utilization
        budgets = self.max_initiation_interval is not None or self.latency_budget_cycles is not None
        if not utilization and not budgets:
            return None
        return all(percent <= 100.0 for percent in utilization.values()) and not self.timing_violations

    @property
    def largest_consumer(self) -> tuple[str, str] | None:
        """(resource, layer) of the most used resource and the layer using most of it."""
        utilization = self.utilization
        if not utilization:
            return None
        resource = max(utilization, key=utilization.get)
        layer = max(self.layers or (self.totals,), key=lambda row: row.get(resource))
        return resource, layer.name

    @property
    def uncertainty_line(self) -> str:
        """Each estimated total with its cross-validated error band, e.g. ``LUT 28.5k +- 19 %``.

        The bands are the leave-one-repository-out median errors of the calibration (relative for
        resources, absolute cycles for latency): half of the designs nobody calibrated on landed
        closer than that. Empty for a synthesis report.
        """
        if not self.uncertainty:
            return ""
        parts = []
        for name in ("lut", "ff", "dsp"):
            if name in self.uncertainty:
                parts.append(
                    f"{name.upper()} {_short(self.totals.get(name))} +- {100 * self.uncertainty[name]:.0f} %"
                )
        if "latency_cycles" in self.uncertainty:
            parts.append(
                f"latency {self.totals.latency_cycles} +- {self.uncertainty['latency_cycles']:g} cycles"
            )
        tool = f", {self.hls_tool}" if self.hls_tool else ""
        return ", ".join(parts) + f" (leave-one-repository-out median errors{tool})"

    @property
    def verdict(self) -> str:
        """One sentence: fits or not (resources, II, latency), the largest consumer, and what would reduce it."""
        utilization = self.utilization
        violations = self.timing_violations
        if not utilization:
            if violations:
                return "Too slow: " + "; ".join(violations) + "."
            if self.fits:
                return "Meets the II / latency budget; no device given: utilization unknown."
            return "No device given: utilization unknown (pass a board to get a fits / does-not-fit verdict)."
        resource, layer = self.largest_consumer
        percent = utilization[resource]
        where = (
            f"{resource.upper()} at {percent:.1f}% of {self.board or 'the device'}, mostly layer {layer!r}"
        )
        if percent > 100.0:
            verdict = f"Does not fit: {where}; to reduce it, {_REMEDIES[resource]}"
            return verdict + ("; also " + "; ".join(violations) if violations else "") + "."
        if violations:
            return (
                "Does not fit the timing: "
                + "; ".join(violations)
                + f". Resources fit: the largest consumer is {where}."
            )
        return f"Fits: the largest consumer is {where}."

    def to_dict(self) -> dict:
        """Plain numbers for JSON: layers, totals, utilization and verdict."""
        return {
            "source": self.source,
            "board": self.board,
            "clock_period_ns": self.clock_period_ns,
            "latency_ns": self.latency_ns,
            "layers": [asdict(layer) for layer in self.layers],
            "totals": asdict(self.totals),
            "available": self.available,
            "utilization_percent": self.utilization,
            "fits": self.fits,
            "verdict": self.verdict,
            "uncertainty": self.uncertainty,
            "hls_tool": self.hls_tool,
            "max_initiation_interval": self.max_initiation_interval,
            "latency_budget_cycles": self.latency_budget_cycles,
        }
