"""Where the project's data files live: the bundled sample, board files and HLS templates.

The top-level ``boards/`` and ``hls_templates/`` folders are the source. A wheel (``pip install .``)
carries copies under ``fpgacompress/_data/`` (``setup.py`` puts them there), used when present;
an editable install or a checkout reads the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
PACKAGED_DATA_DIR = PACKAGE_DIR / "_data"
RESOURCES_DIR = PACKAGE_DIR / "resources"


def _data_folder(name: str) -> Path:
    packaged = PACKAGED_DATA_DIR / name
    return packaged if packaged.is_dir() else PROJECT_DIR / name


BOARDS_DIR = _data_folder("boards")
HLS_TEMPLATES_DIR = _data_folder("hls_templates")
BUNDLED_JETS = RESOURCES_DIR / "jets_hlf_sample.npz"
