"""Resource and latency estimation of hls4ml designs, calibrated on real C-synthesis reports.

Modules: :mod:`.fixed_point` (ap_fixed types, CSD digits), :mod:`.layers` (input objects),
:mod:`.project_reader` / :mod:`.keras_reader` (build them), :mod:`.hardware_model` (count DSPs and
adder bits), :mod:`.timing` (schedule delays into cycles, device speed), :mod:`.streams` (io_stream
FIFOs), :mod:`.coefficients` (calibrated numbers), :mod:`.estimator` (``estimate``),
:mod:`.report` (``LayerResources``, ``ResourceReport``), :mod:`.render` (table, JSON, Markdown, PNG).

Example:
    >>> from fpgacompress.estimation import estimate
    >>> print(estimate("build/jet_tagger_hls", board="serenity-vu9p").verdict)
"""

from .estimator import estimate, estimate_design
from .layers import ActivationSpec, DenseSpec, DesignSpec
from .project_reader import read_hls_project
from .report import LayerResources, ResourceReport

__all__ = [
    "estimate",
    "estimate_design",
    "read_hls_project",
    "DenseSpec",
    "ActivationSpec",
    "DesignSpec",
    "LayerResources",
    "ResourceReport",
]
