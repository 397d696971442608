"""The few calibrated numbers that turn counted hardware into LUTs, FFs and cycles.

They live in ``fpgacompress/resources/estimator_coefficients.json``, written by
``scripts/calibrate_estimator.py`` from real C-synthesis reports. Each quantity is a small
linear model ``sum(coefficient[feature] * feature)`` over physically meaningful features
(adder bits, element bits, adder-tree levels per ns...), one set per HLS tool because Vivado HLS
and Vitis HLS schedule and register differently.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..paths import RESOURCES_DIR

__all__ = ["EstimatorCoefficients", "load_coefficients", "save_coefficients", "DEFAULT_COEFFICIENTS_PATH"]

DEFAULT_COEFFICIENTS_PATH = RESOURCES_DIR / "estimator_coefficients.json"


@dataclass(frozen=True)
class EstimatorCoefficients:
    """Calibrated coefficients of the estimator.

    Attributes:
        dsp_min_csd_digits: A constant with at least this many CSD digits is a DSP candidate.
        auto_dsp_min_input_bits: With ``auto`` binding, products of narrower inputs stay in LUTs.
        tools: ``{era: {quantity: {feature: coefficient}}}`` for each HLS tool era
            (``vivado``, ``vitis-2021``, ``vitis-2024``; see :mod:`.hls_tools`).
        calibration: Provenance and cross-validated errors of the fit (for reports, not used to predict).
    """

    dsp_min_csd_digits: int = 3
    auto_dsp_min_input_bits: int = 10
    tools: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)

    def model(self, era: str, quantity: str) -> dict[str, float]:
        """The model of ``quantity`` for the HLS tool era ``era`` (``vivado``, ``vitis-2021``, ``vitis-2024``).

        When the calibration set had no example of that quantity for this era (a softmax under
        Vivado HLS once a network is left out, a whole era once its repository is left out), the
        nearest era's model stands in (:data:`~.hls_tools.ERA_FALLBACK`): same device physics,
        another scheduler, better than predicting zero. Empty when no era has it.
        """
        from .hls_tools import ERA_FALLBACK

        if era not in ERA_FALLBACK:
            raise ConfigError(
                f"No estimator coefficients for HLS tool era {era!r}. Known eras: {', '.join(sorted(ERA_FALLBACK))}."
            )
        for candidate in (era, *ERA_FALLBACK[era], "all"):
            if quantity in self.tools.get(candidate, {}):
                return self.tools[candidate][quantity]
        return {}

    def error_band(self, quantity: str, era: str | None = None) -> float | None:
        """The cross-validated relative error band of a total (``lut``, ``ff``, ``dsp``), or None if unknown.

        The median relative error of leave-one-repository-out predictions for ``era`` when it was
        measured there, else over all designs.
        """
        bands = self.calibration.get("error_bands", {})
        if era is not None and quantity in bands.get(era, {}):
            return bands[era][quantity]
        return bands.get("all", {}).get(quantity)


def load_coefficients(path=None) -> EstimatorCoefficients:
    """Load coefficients from ``path`` (default: the calibrated file shipped with fpgacompress)."""
    path = Path(path) if path is not None else DEFAULT_COEFFICIENTS_PATH
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"Estimator coefficients file {str(path)!r} does not exist; run scripts/calibrate_estimator.py."
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"Estimator coefficients file {str(path)!r} is not valid JSON: {error}.") from None
    known = {"dsp_min_csd_digits", "auto_dsp_min_input_bits", "tools", "calibration"}
    unknown = sorted(set(payload) - known)
    if unknown:
        raise ConfigError(f"Unknown keys {unknown} in {str(path)!r}; expected {sorted(known)}.")
    return EstimatorCoefficients(**payload)


def save_coefficients(coefficients: EstimatorCoefficients, path) -> Path:
    """Write ``coefficients`` as indented JSON (numbers only) and return the path."""
    path = Path(path)
    path.write_text(json.dumps(asdict(coefficients), indent=2, sort_keys=True) + "\n")
    return path
