"""Firmware: from a (Q)Keras model to an hls4ml project for a board, checked bit for bit.

* ``settings``    — :class:`BuildConfig`, the ``build:`` recipe section
* ``checks``      — refusals before anything is written (layers, quantizers, reuse factor, LHC timing)
* ``hls_config``  — the one place that writes hls4ml's configuration dictionary
* ``testbench``   — testbench inputs on the firmware grid, Keras reference of every layer, the csim source
* ``project``     — :func:`build` (atomic: complete project or nothing) and :class:`HlsProject`
* ``csim``        — :func:`csim`: g++ compile, run, exact comparison -> :class:`CsimResult`
* ``synth``       — :func:`run_synthesis` with vitis_hls / vivado_hls when installed

Example:
    >>> project = build(qmodel, "serenity-vu13p", BuildConfig(), x_test=x, standardizer=s, out_dir="fw")
    >>> csim(project).bit_exact
    True
"""

from __future__ import annotations

from .checks import valid_reuse_factors
from .csim import CsimResult, csim
from .project import HlsProject, build, load_project
from .settings import BuildConfig
from .synth import SynthesisResult, run_synthesis, synthesis_tool

__all__ = [
    "BuildConfig",
    "HlsProject",
    "build",
    "load_project",
    "CsimResult",
    "csim",
    "SynthesisResult",
    "run_synthesis",
    "synthesis_tool",
    "valid_reuse_factors",
]
