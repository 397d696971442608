"""Per-layer resources and the whole-design report, shared by the estimator and the csynth parser.

Estimate and real synthesis produce the same objects, so a user compares them cell by cell and
every renderer (terminal, JSON, Markdown, PNG) serves both.

Example:
    >>> report = estimate("build/jet_tagger_hls", board="serenity-vu9p")
    >>> report.fits, report.utilization["dsp"]
    (True, 12.3)
    >>> print(report.verdict)
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
    """

    layers: tuple[LayerResources, ...]
    totals: LayerResources
    board: str
    clock_period_ns: float
    source: Literal["estimate", "csynth"]
    available: dict | None = None

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
    def fits(self) -> bool | None:
        """True when every resource is within the device, None when the device is unknown."""
        utilization = self.utilization
        return None if not utilization else all(percent <= 100.0 for percent in utilization.values())

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
    def verdict(self) -> str:
        """One sentence: fits or not, the largest consumer, and what would reduce it."""
        utilization = self.utilization
        if not utilization:
            return "No device given: utilization unknown (pass a board to get a fits / does-not-fit verdict)."
        resource, layer = self.largest_consumer
        percent = utilization[resource]
        where = (
            f"{resource.upper()} at {percent:.1f}% of {self.board or 'the device'}, mostly layer {layer!r}"
        )
        if self.fits:
            return f"Fits: the largest consumer is {where}."
        return f"Does not fit: {where}; to reduce it, {_REMEDIES[resource]}."

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
        }
