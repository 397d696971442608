"""Exceptions a user can act on.

Every error raised on bad user input is a :class:`FpgacompressError`; the CLI turns it into one
line on stderr and exit code 2. Each subclass also derives from the builtin that fits, so
``except ValueError`` keeps working in user scripts.
"""

from __future__ import annotations

__all__ = [
    "FpgacompressError",
    "ConfigError",
    "DataError",
    "ModelError",
    "BoardError",
    "BuildError",
    "ReportError",
]


class FpgacompressError(Exception):
    """Base class: a problem with what the user asked for, described in one line."""


class ConfigError(FpgacompressError, ValueError):
    """A recipe, spec or option has a wrong key, type or value."""


class DataError(FpgacompressError, ValueError):
    """A dataset file is missing, unreadable, or has the wrong columns or values."""


class ModelError(FpgacompressError, ValueError):
    """A model file is missing or corrupt, or a model has a layer this stage cannot handle."""


class BoardError(FpgacompressError, ValueError):
    """An unknown board, or a design that breaks the board's or the LHC's timing budget."""


class BuildError(FpgacompressError, RuntimeError):
    """Firmware generation, compilation or C-simulation failed."""


class ReportError(FpgacompressError, ValueError):
    """A synthesis report is missing, malformed or unsafe to parse."""
