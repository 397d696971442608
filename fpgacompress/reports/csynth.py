"""Parse Vivado HLS / Vitis HLS C-synthesis XML reports (``*_csynth.xml``), safely.

The top report gives the totals; the per-module files HLS writes next to it (one per layer
function, named after its hls4ml ``configN`` struct) give the per-layer rows, mapped back to
layer names through the project's ``parameters.h``. Reports come from other people's machines, so
they are parsed with ``defusedxml``, which refuses any DTD (DOCTYPE), entity declaration or external
reference in whatever encoding the document uses (UTF-8, UTF-16, ...): no external entity is ever
resolved and no entity expansion bomb is ever expanded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from ..errors import ReportError
from ..estimation.report import LayerResources, ResourceReport

__all__ = ["CsynthModule", "parse_csynth_xml", "parse_csynth_rpt", "find_csynth_report", "read_csynth_report"]

_CONFIG_PATTERN = re.compile(r"config(\d+)(?:_s|(?:_\d+)*)$")
_LAYER_STRUCT_PATTERN = re.compile(r"//\s*(\S+)\s*\n\s*struct\s+\w*?config(\d+)\s*:")


@dataclass(frozen=True)
class CsynthModule:
    """The numbers of one ``*_csynth.xml`` file (a top function or one layer function)."""

    name: str
    part: str
    clock_period_ns: float
    resources: LayerResources
    available: dict


def _text(root: ElementTree.Element, path: str, source: Path, default: str | None = None) -> str:
    node = root.find(path)
    if node is None or node.text is None:
        if default is not None:
            return default
        raise ReportError(
            f"C-synthesis report {str(source)!r} has no <{path}>: not a Vivado/Vitis HLS csynth XML."
        )
    return node.text.strip()


def _integer(text: str) -> int:
    # HLS writes "undef" for latencies it cannot bound (data-dependent loops).
    return int(text) if text.lstrip("-").isdigit() else 0


def parse_csynth_xml(path) -> CsynthModule:
    """Read one csynth XML file: resources, worst-case latency, interval, part and clock.

    Raises:
        ReportError: when the file is missing, is not well-formed XML, declares a DOCTYPE or an
            entity (external entities are never resolved), or lacks the csynth sections.
    """
    path = Path(path)
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise ReportError(
            f"C-synthesis report {str(path)!r} does not exist; run C synthesis (hls4ml build(csim=False)) first."
        ) from None
    except IsADirectoryError:
        raise ReportError(
            f"C-synthesis report {str(path)!r} is a directory; expected a *_csynth.xml file."
        ) from None
    try:
        root = SafeElementTree.fromstring(payload, forbid_dtd=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise ReportError(
            f"C-synthesis report {str(path)!r} declares a DOCTYPE or ENTITY; refusing to parse it "
            "(real HLS reports have none, and entities can read local files)."
        ) from None
    except (ElementTree.ParseError, ValueError) as error:  # ValueError: an encoding expat cannot read
        raise ReportError(f"C-synthesis report {str(path)!r} is not well-formed XML ({error}).") from None
    name = _text(root, "UserAssignments/TopModelName", path)
    resources = root.find("AreaEstimates/Resources")
    if resources is None:
        raise ReportError(
            f"C-synthesis report {str(path)!r} has no <AreaEstimates><Resources>: not a csynth XML."
        )
    counts = {child.tag: _integer((child.text or "0").strip()) for child in resources}
    available_node = root.find("AreaEstimates/AvailableResources")
    available = {}
    if available_node is not None:
        names = {"LUT": "lut", "FF": "ff", "DSP": "dsp", "DSP48E": "dsp", "BRAM_18K": "bram_18k"}
        available = {
            names[child.tag]: _integer((child.text or "0").strip())
            for child in available_node
            if child.tag in names
        }
    latency = _integer(
        _text(root, "PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency", path, "0")
    )
    interval = _integer(_text(root, "PerformanceEstimates/SummaryOfOverallLatency/Interval-max", path, "1"))
    return CsynthModule(
        name=name,
        part=_text(root, "UserAssignments/Part", path, ""),
        clock_period_ns=float(_text(root, "UserAssignments/TargetClockPeriod", path, "0")),
        resources=LayerResources(
            name=name,
            dsp=counts.get("DSP", counts.get("DSP48E", 0)),
            lut=counts.get("LUT", 0),
            ff=counts.get("FF", 0),
            bram_18k=counts.get("BRAM_18K", 0),
            latency_cycles=latency,
            ii=interval,
        ),
        available=available,
    )


_RPT_CELLS = re.compile(r"^\s*\|(.*)\|\s*$")


def _rpt_rows(lines: list[str], start: int) -> list[list[str]]:
    rows = []
    for line in lines[start:]:
        match = _RPT_CELLS.match(line)
        if match:
            rows.append([cell.strip() for cell in match.group(1).split("|")])
        elif rows and not line.strip().startswith("+"):
            break
    return rows


def parse_csynth_rpt(path) -> CsynthModule:
    """Read the totals of a top ``*_csynth.rpt`` (text report), for projects that kept no XML.

    Raises:
        ReportError: when the file lacks the summary tables of a Vivado/Vitis HLS csynth report.
    """
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as error:
        raise ReportError(f"C-synthesis report {str(path)!r} cannot be read ({error.strerror}).") from None
    text = "\n".join(lines[:40])
    top = re.search(r"HLS Report for '([^']+)'", text)
    part = re.search(r"\* Target device:\s*(\S+)", text)
    try:
        clock_line = next(i for i, line in enumerate(lines) if re.match(r"\s*\|\s*Clock\s*\|", line))
        latency_line = next(i for i, line in enumerate(lines) if "Latency (cycles)" in line)
        area_line = next(i for i, line in enumerate(lines) if re.match(r"\s*\|\s*Name\s*\|\s*BRAM", line))
    except StopIteration:
        raise ReportError(
            f"C-synthesis report {str(path)!r} lacks the timing, latency or utilization summary: "
            "not a Vivado/Vitis HLS csynth report."
        ) from None
    clock = _rpt_rows(lines, clock_line)[1][1].split()[0]
    latency = _rpt_rows(lines, latency_line)[-1]
    header = _rpt_rows(lines, area_line)[0]
    total = next(row for row in _rpt_rows(lines, area_line) if row[0] == "Total")
    counts = {name.split("(")[0].strip(): _integer(value) for name, value in zip(header, total, strict=False)}
    name = top.group(1) if top else path.name.removesuffix("_csynth.rpt")
    return CsynthModule(
        name=name,
        part=part.group(1) if part else "",
        clock_period_ns=float(clock),
        resources=LayerResources(
            name=name,
            dsp=counts.get("DSP", counts.get("DSP48E", 0)),
            lut=counts.get("LUT", 0),
            ff=counts.get("FF", 0),
            bram_18k=counts.get("BRAM_18K", 0),
            latency_cycles=_integer(latency[1]),
            ii=_integer(latency[5]) if len(latency) > 5 else 1,
        ),
        available={},
    )


def find_csynth_report(project_dir, top_name: str = "myproject") -> Path | None:
    """The top ``{top_name}_csynth.xml`` under an hls4ml project (None when synthesis never ran)."""
    project_dir = Path(project_dir)
    if project_dir.is_file():
        return project_dir
    # The shallowest one: a project may hold copies of other builds in sub-folders.
    candidates = sorted(
        project_dir.glob(f"**/syn/report/{top_name}_csynth.xml"), key=lambda p: (len(p.parts), p)
    )
    if not candidates:
        # Another hls4ml ProjectName: <Name>_prj/solution1/syn/report/<Name>_csynth.xml.
        candidates = sorted(
            (
                path
                for path in project_dir.glob("*_prj/*/syn/report/*_csynth.xml")
                if path.name == f"{path.parents[3].name.removesuffix('_prj')}_csynth.xml"
            ),
            key=lambda p: (len(p.parts), p),
        )
    if not candidates:
        # Only the text report was kept (some repositories commit no XML).
        candidates = sorted(
            project_dir.glob("*_prj/*/syn/report/*_csynth.rpt"), key=lambda p: (len(p.parts), p)
        )
        candidates = [
            path
            for path in candidates
            if path.name == f"{path.parents[3].name.removesuffix('_prj')}_csynth.rpt"
        ]
    return candidates[0] if candidates else None


def _layer_names_by_config(project_dir: Path) -> dict[int, tuple[int, str]]:
    """``{config number: (dataflow position, layer name)}`` from the project's ``parameters.h``."""
    for parameters in (project_dir / "firmware" / "parameters.h", project_dir / "parameters.h"):
        if parameters.is_file():
            structs = _LAYER_STRUCT_PATTERN.findall(parameters.read_text())
            return {int(index): (position, name) for position, (name, index) in enumerate(structs)}
    return {}


def read_csynth_report(project_or_report, top_name: str = "myproject", board: str = "") -> ResourceReport:
    """Read the totals and, where per-module files exist, the per-layer rows of a C-synthesis run.

    Args:
        project_or_report: hls4ml project directory, or the top ``*_csynth.xml`` itself.
        top_name: hls4ml ``ProjectName`` (the top function).
        board: Board name for utilization; without it, the device totals the report itself lists.

    Raises:
        ReportError: when no report exists or a report file is malformed or unsafe.
    """
    path = Path(project_or_report)
    top_path = find_csynth_report(path, top_name)
    if top_path is None:
        raise ReportError(
            f"No {top_name}_csynth.xml under {str(path)!r}: run C synthesis first (hls4ml "
            "hls_model.build(csim=False, synth=True)), or pass the report file itself."
        )
    top = parse_csynth_rpt(top_path) if top_path.suffix == ".rpt" else parse_csynth_xml(top_path)
    project_dir = (
        path if path.is_dir() else top_path.parents[4] if len(top_path.parents) > 4 else top_path.parent
    )
    layer_names = _layer_names_by_config(project_dir)
    rows = []
    for module_path in sorted(top_path.parent.glob("*_csynth.xml")):
        if module_path == top_path:
            continue
        match = _CONFIG_PATTERN.search(module_path.name.removesuffix("_csynth.xml"))
        if match is None:
            continue  # Vivado HLS 2019 names some modules without their config: cannot map to a layer
        module = parse_csynth_xml(module_path)
        index = int(match.group(1))
        position, name = layer_names.get(index, (index, module.name))
        rows.append((position, LayerResources(name=name, **_numbers(module.resources))))
    rows.sort(key=lambda item: item[0])
    available = top.available or None
    if board:
        from ..boards import load_board

        device = load_board(board)
        available = {key: value for key, value in device.totals().items() if key != "uram"}
        board = device.name
    return ResourceReport(
        layers=tuple(row for _, row in rows),
        totals=LayerResources(name="total", **_numbers(top.resources)),
        board=board or top.part,
        clock_period_ns=top.clock_period_ns,
        source="csynth",
        available=available,
    )


def _numbers(resources: LayerResources) -> dict:
    return {
        "dsp": resources.dsp,
        "lut": resources.lut,
        "ff": resources.ff,
        "bram_18k": resources.bram_18k,
        "latency_cycles": resources.latency_cycles,
        "ii": resources.ii,
    }
