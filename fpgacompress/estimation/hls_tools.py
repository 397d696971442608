"""The HLS tool and its version: which scheduler and which binding rules the estimator models.

Vivado HLS (up to 2020.1) and Vitis HLS (2020.2 on) are one code line with two schedulers that
register very differently; Vitis HLS changed again after 2021 (a latency-strategy dense layer in
0-1 cycles where 2021.1 spent 3-4). So the estimator keys its calibrated models by *era*, the
stretch of versions that schedule alike:

- ``vivado``: Vivado HLS 2017.1-2020.1;
- ``vitis-2021``: Vitis HLS 2020.2-2022.2 (the calibration set holds 2021.1);
- ``vitis-2024``: Vitis HLS 2023.1 and later (the calibration set holds 2024.1-2025.2).

A tool is written ``family-version`` (``vitis-2024.1``, ``vivado-2019.2``); a bare family takes
that family's default version. The default, when neither the user nor the project says, is
:data:`DEFAULT_HLS_TOOL`, what hls4ml's Vitis backend runs today.

Example:
    >>> tool = parse_hls_tool("vitis-2024.1")
    >>> tool.family, tool.version, tool.era
    ('vitis', '2024.1', 'vitis-2024')
    >>> parse_hls_tool("vivado").era
    'vivado'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = [
    "HlsTool",
    "parse_hls_tool",
    "tool_from_version",
    "read_tool_from_report",
    "DEFAULT_HLS_TOOL",
    "ERAS",
    "ERA_FALLBACK",
]

DEFAULT_HLS_TOOL = "vitis-2024.1"
"""Tool assumed when neither ``--hls-tool`` nor the project names one (hls4ml's Vitis backend today)."""

_DEFAULT_VERSION = {"vivado": "2020.1", "vitis": "2024.1"}
ERAS = ("vivado", "vitis-2021", "vitis-2024")
ERA_FALLBACK = {
    "vivado": ("vitis",),
    "vitis-2021": ("vitis", "vivado"),
    "vitis-2024": ("vitis", "vivado"),
}
"""Where an era has no calibrated model of a quantity (fewer than two repositories showed it), its
family's model (fitted on all its eras) stands in, then the other family's: same devices."""

_TOOL_PATTERN = re.compile(r"^\s*(vivado|vitis)(?:[-_ ]?(?:hls)?[-_ ]?(\d{4}(?:\.\d+){0,2}))?\s*$", re.I)


@dataclass(frozen=True)
class HlsTool:
    """An HLS tool release.

    Attributes:
        family: ``vivado`` (Vivado HLS) or ``vitis`` (Vitis HLS).
        version: Release, ``YYYY.N`` (``2024.1``).
    """

    family: str
    version: str

    @property
    def year(self) -> float:
        """The release as a number (``2024.1`` -> 2024.1) for era comparisons."""
        major, _, minor = self.version.partition(".")
        return int(major) + int((minor or "0").split(".")[0]) / 10.0

    @property
    def era(self) -> str:
        """The calibration era (see the module docstring)."""
        if self.family == "vivado":
            return "vivado"
        return "vitis-2021" if self.year < 2023.0 else "vitis-2024"

    def __str__(self) -> str:
        return f"{self.family}-{self.version}"


def tool_from_version(version: str) -> HlsTool:
    """The tool a bare release number names: Vivado HLS ended with 2020.1, Vitis HLS began with 2020.2."""
    tool = HlsTool("vitis", version)
    return HlsTool("vivado", version) if tool.year <= 2020.1 else tool


def parse_hls_tool(text) -> HlsTool:
    """Read ``vitis-2024.1``, ``vivado-2019.2``, ``Vitis HLS 2025.2``, ``vitis`` or ``vivado``.

    Raises:
        ConfigError: for any other text, saying the accepted form.
    """
    if isinstance(text, HlsTool):
        return text
    match = _TOOL_PATTERN.match(str(text))
    if match is None:
        raise ConfigError(
            f"Cannot read the HLS tool {text!r}: expected FAMILY[-VERSION] with FAMILY vivado or vitis, "
            f"e.g. vitis-2024.1, vitis-2021.1 or vivado-2019.2 (default {DEFAULT_HLS_TOOL})."
        )
    family = match.group(1).lower()
    version = match.group(2) or _DEFAULT_VERSION[family]
    return HlsTool(family, version)


_RPT_VERSION = re.compile(r"^\*\s*Version:\s*(\d{4}\.\d+(?:\.\d+)?)", re.M)
_RPT_FAMILY = re.compile(r"(Vivado|Vitis) HLS Report", re.I)
_XML_VERSION = re.compile(r"<ReportVersion>\s*<Version>\s*(\d{4}\.\d+(?:\.\d+)?)\s*</Version>")


def read_tool_from_report(project_dir) -> HlsTool | None:
    """The tool that wrote the project's C-synthesis report, or None when it has none.

    Reads the ``* Version:`` line of ``*_csynth.rpt`` (or ``<ReportVersion>`` of the XML) under
    ``*/solution*/syn/report/``; only the first kilobytes are read.
    """
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        return None
    for pattern in ("*_prj/solution*/syn/report/*_csynth.rpt", "*_prj/solution*/syn/report/*_csynth.xml"):
        for path in sorted(project_dir.glob(pattern)):
            try:
                with path.open("r", encoding="utf-8", errors="replace") as handle:
                    head = handle.read(4096)
            except OSError:
                continue
            match = _RPT_VERSION.search(head) or _XML_VERSION.search(head)
            if match:
                tool = tool_from_version(match.group(1))
                family = _RPT_FAMILY.search(head)
                return HlsTool(family.group(1).lower(), tool.version) if family else tool
    return None
