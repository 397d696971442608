"""``run_synthesis()``: run Vitis HLS / Vivado HLS on a project when the tool is installed.

Synthesis needs the vendor tool; this machine-independent package never pretends otherwise: without
the tool on PATH the error says so and how to run it elsewhere. The log is kept in the project.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError
from .project import HlsProject, load_project

__all__ = ["SynthesisResult", "synthesis_tool", "run_synthesis", "SYNTH_LOG"]

SYNTH_LOG = "synth.log"
SYNTH_TIMEOUT_S = 6 * 3600


@dataclass(frozen=True)
class SynthesisResult:
    """A finished synthesis run: the tool used, its log, and where the reports are."""

    tool: str
    log: Path
    report_dir: Path
    seconds: float


def synthesis_tool(project: HlsProject) -> str | None:
    """The HLS executable for the project's backend if it is on PATH (``vitis_hls`` / ``vivado_hls``)."""
    tool = "vitis_hls" if project.settings.backend == "vitis" else "vivado_hls"
    return tool if shutil.which(tool) else None


def run_synthesis(project: HlsProject | str | Path) -> SynthesisResult:
    """Run ``synth.tcl`` (C-simulation + C-synthesis) with the backend's HLS tool.

    Raises:
        BuildError: the tool is not on PATH, or it exits non-zero (log kept in ``synth.log``).
    """
    if not isinstance(project, HlsProject):
        project = load_project(project)
    tool = synthesis_tool(project)
    if tool is None:
        wanted = "vitis_hls" if project.settings.backend == "vitis" else "vivado_hls"
        raise BuildError(
            f"{wanted} is not on PATH, so synthesis is not available on this machine. The project in "
            f"{project.path} is complete: run '{wanted} -f synth.tcl' there on a machine with the tool."
        )
    log = project.path / SYNTH_LOG
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            [tool, "-f", "synth.tcl"],
            cwd=project.path,
            capture_output=True,
            text=True,
            timeout=SYNTH_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"{tool} did not finish within {SYNTH_TIMEOUT_S} s in {project.path}.") from None
    log.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise BuildError(f"{tool} failed with exit code {completed.returncode}; log: {log}.")
    report_dir = project.path / f"{project.project_name}_prj" / "solution1" / "syn" / "report"
    return SynthesisResult(tool, log, report_dir, time.perf_counter() - start)
