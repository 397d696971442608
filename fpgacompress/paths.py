"""Where the project's data files live: the bundled sample, board files and HLS templates."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
RESOURCES_DIR = PACKAGE_DIR / "resources"
BOARDS_DIR = PROJECT_DIR / "boards"
HLS_TEMPLATES_DIR = PROJECT_DIR / "hls_templates"
BUNDLED_JETS = RESOURCES_DIR / "jets_hlf_sample.npz"
