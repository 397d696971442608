"""Resource and latency estimation of hls4ml designs, calibrated on real C-synthesis reports.

Modules: :mod:`.fixed_point` (ap_fixed types, CSD digits), :mod:`.layers` (input objects),
:mod:`.hls_tools` (the HLS tool, version and era), :mod:`.project_reader` (any hls4ml project),
:mod:`.model_reader` / :mod:`.keras_reader` (a model, as ``build`` would write it), :mod:`.constness`
(products on constant inputs fold), :mod:`.hardware_model` (count DSPs and adder bits), :mod:`.timing`
(schedule delays into cycles and registers, device speed), :mod:`.streams` (io_stream FIFOs),
:mod:`.coefficients` (calibrated numbers), :mod:`.estimator` (``estimate``), :mod:`.report`
(``LayerResources``, ``ResourceReport`` with error bands and II / latency verdict), :mod:`.render`
(table, JSON, Markdown, PNG).
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
