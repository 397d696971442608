"""A Keras / QKeras model estimated as ``fpgacompress build`` would write it: one description of a design.

``report MODEL.h5`` and ``report PROJECT`` must describe the same hardware. So a model is turned
into the project ``build`` would write (the same :func:`~fpgacompress.firmware.hls_config.hls4ml_config`,
the same hls4ml conversion and hls4ml's own writer, into a temporary folder) and read back with
:func:`~.project_reader.read_hls_project`: types, accumulators, reuse factors and weights are
the firmware's, whichever path the user took. Only the files the reader reads are written
(``defines.h``, ``parameters.h``, ``weights/``), not the HLS library, test bench, scripts and
archive: a search estimates every trial twice. A model hls4ml cannot convert falls back to
:func:`~.keras_reader.read_keras_model`.
"""

from __future__ import annotations

import contextlib
import io
import tempfile

from ..errors import FpgacompressError
from .hls_tools import DEFAULT_HLS_TOOL, parse_hls_tool
from .layers import DesignSpec

__all__ = ["read_model_as_built"]


def read_model_as_built(
    model,
    *,
    board=None,
    reuse_factor: int | None = None,
    strategy: str | None = None,
    io_type: str | None = None,
    clock_period_ns: float | None = None,
    hls_tool: str | None = None,
    multiplier_binding: str = "auto",
) -> DesignSpec:
    """The :class:`DesignSpec` of the project ``build`` would write for ``model`` with these settings.

    Args:
        model: A Keras model object or a saved model path.
        board: Board (name or object) whose part and default clock are used; default the build's.
        reuse_factor, strategy, io_type: Build settings (default: the build's defaults).
        clock_period_ns: Target clock (default: the board's).
        hls_tool: ``vitis-2024.1``, ``vivado-2019.2``...: the backend and the modelled tool version.
        multiplier_binding: ``auto``, ``dsp`` or ``fabric``.
    """
    DesignSpec(layers=()).with_settings(strategy=strategy, io_type=io_type)  # the same errors as a project's
    strategy = strategy.lower() if strategy is not None else None
    if not hasattr(model, "layers"):
        from ..model_io import load_model

        model = load_model(model)
    from ..boards import load_board
    from ..firmware.hls_config import hls4ml_config, prepare_for_hls4ml
    from ..firmware.settings import BuildConfig
    from .project_reader import read_hls_project

    tool = parse_hls_tool(hls_tool or DEFAULT_HLS_TOOL)
    settings = {"reuse_factor": reuse_factor, "strategy": strategy, "io_type": io_type}
    config = BuildConfig(
        backend=tool.family, **{key: value for key, value in settings.items() if value is not None}
    )
    board_object = load_board(board if board is not None else config.board)
    clock = clock_period_ns or board_object.clock_period_ns
    hls_ready = prepare_for_hls4ml(model)
    hls_config = hls4ml_config(hls_ready, config)
    import hls4ml

    with tempfile.TemporaryDirectory(prefix="fpgacompress-estimate-") as directory:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                hls_model = hls4ml.converters.convert_from_keras_model(
                    hls_ready,
                    output_dir=directory,
                    project_name=config.project_name,
                    backend=config.hls4ml_backend,
                    part=board_object.part,
                    clock_period=clock,
                    io_type=config.io_type,
                    hls_config=hls_config,
                )
                _write_what_the_reader_reads(hls_model)
        except FpgacompressError:
            raise
        except Exception as error:  # hls4ml raises bare Exception / RuntimeError / AssertionError
            raise _ConversionFailed(str(error)) from error
        return read_hls_project(
            directory,
            clock_period_ns=clock,
            hls_tool=str(tool),
            multiplier_binding=multiplier_binding,
            part=board_object.part,
        )


def _write_what_the_reader_reads(hls_model) -> None:
    """hls4ml's ``write()`` reduced to the headers and weights :func:`read_hls_project` reads.

    The backend's writer flow first runs the passes it requires (no-ops once converted), exactly as
    ``write()`` does; then the same writer methods write the same files.
    """
    from hls4ml.model.flow import get_flow

    backend = hls_model.config.backend
    for required in get_flow(backend.get_writer_flow()).requires:
        hls_model.apply_flow(required)
    writer = backend.writer
    writer.write_project_dir(hls_model)
    writer.write_weights(hls_model)
    writer.write_defines(hls_model)
    writer.write_parameters(hls_model)


class _ConversionFailed(Exception):
    """hls4ml could not convert the model: the caller falls back to reading the Keras layers."""
