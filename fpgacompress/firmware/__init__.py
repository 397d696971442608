"""Firmware: from a (Q)Keras model to an hls4ml project for a board, checked bit for bit.

* ``settings``    — :class:`BuildConfig`, the ``build:`` recipe section
* ``checks``      — refusals before anything is written (layers, quantizers, reuse factor, LHC timing)
* ``hls_config``  — the one place that writes hls4ml's configuration dictionary
* ``testbench``   — testbench inputs on the firmware grid, Keras reference of every layer, the csim source
* ``project``     — :func:`build` (atomic: complete project or nothing) and :class:`HlsProject`
* ``csimulation`` — :func:`csim`: g++ compile, run, exact comparison -> :class:`CsimResult`
* ``synth``       — :func:`run_synthesis` with vitis_hls / vivado_hls when installed

Example:
    >>> project = build(qmodel, "serenity-vu13p", BuildConfig(), x_test=x, standardizer=s, out_dir="fw")
    >>> csim(project).bit_exact
    True
"""

from __future__ import annotations

import importlib

# public name -> module defining it; resolved on first use so that reading a recipe's ``build``
# section (``settings``) does not import TensorFlow or hls4ml.
_PUBLIC_API = {
    "BuildConfig": "settings",
    "HlsProject": "project",
    "build": "project",
    "load_project": "project",
    "CsimResult": "csimulation",
    "csim": "csimulation",
    "SynthesisResult": "synth",
    "run_synthesis": "synth",
    "synthesis_tool": "synth",
    "valid_reuse_factors": "checks",
}

__all__ = sorted(_PUBLIC_API)


def __getattr__(name: str):
    if name in _PUBLIC_API:
        value = getattr(importlib.import_module(f"{__name__}.{_PUBLIC_API[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC_API])
