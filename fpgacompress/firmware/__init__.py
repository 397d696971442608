"""Firmware: from a (Q)Keras model to an hls4ml project for a board, checked bit for bit.

* ``settings``    — :class:`BuildConfig`, the ``build:`` recipe section
* ``checks``      — refusals before anything is written (layers, quantizers, reuse factor, LHC timing)
* ``hls_config``  — the one place that writes hls4ml's configuration dictionary
* ``testbench``   — testbench inputs on the firmware grid, Keras reference of every layer, the csim source
* ``project``     — :func:`build` (atomic: complete project or nothing) and :class:`HlsProject`
* ``csimulation`` — :func:`csim`: g++ compile, run, exact comparison -> :class:`CsimResult`
* ``synth``       — :func:`run_synthesis` with vitis_hls / vivado_hls when installed
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
