"""``fpgacompress`` command line: one module per sub-command, errors as one line and exit code 2."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import warnings

import click

from ..errors import FpgacompressError
from . import autoprune as _autoprune  # noqa: F401
from . import boards as _boards  # noqa: F401
from . import build as _build  # noqa: F401
from . import csim as _csim  # noqa: F401
from . import factorize as _factorize  # noqa: F401
from . import layers as _layers  # noqa: F401
from . import prune as _prune  # noqa: F401
from . import quantize as _quantize  # noqa: F401
from . import report as _report  # noqa: F401
from . import run as _run  # noqa: F401
from . import search as _search  # noqa: F401
from . import sparsify as _sparsify  # noqa: F401
from . import train as _train  # noqa: F401  (each import registers its sub-command)
from .app import app

__all__ = ["app", "main"]

USAGE_ERROR_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130


def _interrupt_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # batch time limits and `timeout` send SIGTERM: clean up exactly as for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence TensorFlow's start-up chatter (CUDA probing)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices are not the user's business
    # Keras warns on every save of a QKeras layer that a quantizer is "not a Constraint"; it reloads fine.
    warnings.filterwarnings(
        "ignore", message=r"The `keras\.constraints\.serialize\(\)` API", category=UserWarning
    )
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    else:
        previous_handler = None
    try:
        return _dispatch(argv)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def _dispatch(argv: list[str] | None) -> int:
    from ..output_dir import describe_os_error

    try:
        result = app.main(args=argv, prog_name="fpgacompress", standalone_mode=False)
    except click.exceptions.ClickException as error:
        error.show()
        return USAGE_ERROR_EXIT_CODE
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("Interrupted: completed stages are kept.", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
    except FpgacompressError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR_EXIT_CODE
    except OSError as error:  # the user's filesystem (read-only, full, permissions), not a bug to trace
        print(f"error: cannot read or write {describe_os_error(error)}", file=sys.stderr)
        return USAGE_ERROR_EXIT_CODE
    return result if isinstance(result, int) else 0
