"""Shared fixtures: small standardized jet data, and the ../shared folder when it exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED_DIR = Path(
    os.environ.get("FPGACOMPRESS_SHARED", Path(__file__).resolve().parents[1].parent / "shared")
)
SHARED_JETS = SHARED_DIR / "data" / "jets_hlf.npz"
SYNTH_REPORTS = SHARED_DIR / "synth_reports"


@pytest.fixture(scope="session")
def shared_jets_path() -> Path:
    """The full regenerated jet benchmark; tests that need it skip in a user's clone."""
    if not SHARED_JETS.is_file():
        pytest.skip(f"needs the shared jet benchmark at {SHARED_JETS} (only in the project's CI)")
    return SHARED_JETS


@pytest.fixture(scope="session")
def synth_reports_dir() -> Path:
    """The 43 real HLS synthesis results; tests that need them skip in a user's clone."""
    if not (SYNTH_REPORTS / "ground_truth.yaml").is_file():
        pytest.skip(f"needs the shared synthesis reports at {SYNTH_REPORTS} (only in the project's CI)")
    return SYNTH_REPORTS


@pytest.fixture(scope="session")
def small_jets():
    """The bundled sample, subsampled to 4,000 training jets and standardized: (Dataset, Standardizer)."""
    from fpgacompress.data import load_jets

    return load_jets().subsample(max_train=4000, max_test=2000, seed=0).standardized()
