"""Readers of real synthesis reports into the estimator's :class:`~fpgacompress.estimation.ResourceReport`."""

from .csynth import find_csynth_report, parse_csynth_xml, read_csynth_report

__all__ = ["find_csynth_report", "parse_csynth_xml", "read_csynth_report"]
