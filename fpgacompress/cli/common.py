"""Helpers shared by the sub-commands: output directories and printing results."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ConfigError


def prepare_output_dir(path: Path, force: bool) -> Path:
    """Refuse to overwrite an existing directory unless ``--force`` was given."""
    if path.exists():
        if not force:
            raise ConfigError(
                f"Output directory {path} already exists. Choose another --out or pass --force."
            )
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return path
