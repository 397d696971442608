"""``fpgacompress build``: write an hls4ml project for a board, with a bit-exact testbench."""

from __future__ import annotations

from pathlib import Path

import click

from .app import app
from .common import (
    check_model_inputs,
    prepare_output_dir,
    preprocessing_file,
    preprocessing_option,
    resolve_preprocessing,
    weights_option,
)


@app.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@weights_option()
@click.option(
    "--board",
    default="serenity-vu13p",
    show_default=True,
    help="Board name (see 'fpgacompress boards') or a board .yaml file.",
)
@click.option(
    "--backend",
    type=click.Choice(["vitis", "vivado"]),
    default="vitis",
    show_default=True,
    help="HLS tool the project is for.",
)
@click.option(
    "--reuse-factor",
    type=int,
    default=1,
    show_default=True,
    help="Multiplications per multiplier; also the II in cycles.",
)
@click.option("--strategy", type=click.Choice(["latency", "resource"]), default="latency", show_default=True)
@click.option(
    "--io-type", type=click.Choice(["io_parallel", "io_stream"]), default="io_parallel", show_default=True
)
@click.option(
    "--conv-implementation",
    type=click.Choice(["line_buffer", "encoded"]),
    default="line_buffer",
    show_default=True,
    help="How a streaming convolution gathers its window (hls4ml ConvImplementation LineBuffer / Encoded).",
)
@click.option("--clock-mhz", type=float, help="Algorithm clock; default: the board's.")
@click.option(
    "--tmux",
    type=int,
    default=1,
    show_default=True,
    help="Time-multiplexing period (new input every TMUX x 25 ns).",
)
@click.option("--input-precision", help="fixed<W,I> of the input, for models without an input quantizer.")
@click.option(
    "--n-testbench-samples", type=int, default=1000, show_default=True, help="Real samples in the testbench."
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Test-bench inputs (its test split): .npz (X [, y]), .npy or .csv with the model's features, or X of "
    "shape (rows, length, channels) / (rows, height, width, channels) for a CNN; default: bundled jets.",
)
@preprocessing_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/firmware"),
    show_default=True,
    help="Project directory to create.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--ptq",
    is_flag=True,
    help="Post-training quantization of a float model: fold batch norms, choose per-layer types from the "
    "training data's ranges, build the equivalent QKeras model (saved as ptq_model.h5 in --out), bit-exact.",
)
@click.option(
    "--csim", "run_csim", is_flag=True, help="Also run the bit-exact C-simulation (g++); exit 1 on mismatch."
)
@click.option("--synth", is_flag=True, help="Also run vitis_hls / vivado_hls if it is on PATH.")
def build(model_path, weights_path, board, backend, reuse_factor, strategy, io_type, conv_implementation, clock_mhz,
          tmux, input_precision,
          n_testbench_samples, data, preprocessing, out, force, ptq, run_csim, synth):  # fmt: skip
    """Write an HLS project for MODEL (Keras/QKeras .h5, .keras, or .json + --weights) on --board into --out.

    Everything is checked before a file is written (board, layers and quantizers, reuse factor, the
    LHC initiation-interval budget); the project appears in --out only when complete.
    """
    from ..config import parse_section
    from ..firmware.settings import BuildConfig

    config = parse_section(
        BuildConfig,
        {
            "board": board,
            "backend": backend,
            "reuse_factor": reuse_factor,
            "strategy": strategy,
            "io_type": io_type,
            "conv_implementation": conv_implementation,
            "clock_mhz": clock_mhz,
            "tmux": tmux,
            "input_precision": input_precision,
            "n_testbench_samples": n_testbench_samples,
        },
        "options",
    )
    from ..boards import load_board
    from ..data import load_jets
    from ..firmware import build as build_project
    from ..model_io import load_model

    load_board(config.board)  # an unknown board is refused before the model is loaded
    inputs = (model_path, weights_path, data, preprocessing_file(preprocessing))
    prepare_output_dir(out, force, *inputs)  # before any work: nothing of the user's is at risk
    dataset = load_jets(data, require_labels=False)  # test-bench inputs need no labels
    model = load_model(model_path, weights_path)
    check_model_inputs(model, dataset, data)
    # The raw test split goes to build(), which applies the standardization exactly once.
    standardizer, statement = resolve_preprocessing(preprocessing, model_path, dataset, data)
    click.echo(f"preprocessing: {statement}")
    if not ptq and not any(type(layer).__name__.startswith("Q") for layer in model.layers):
        click.echo(
            "note: the model has no QKeras quantizers; hls4ml uses its default fixed<16,6> types, so the "
            "firmware approximates it (quantize it first with 'fpgacompress quantize' for bit-exact firmware)."
        )
    project = build_project(
        model,
        None,
        config,
        x_test=dataset.x_test,
        standardizer=standardizer,
        preprocessing=statement,
        out_dir=out,
        force=force,
        inputs=inputs,
        ptq=ptq,
        x_calibration=dataset.x_train if ptq else None,
        y_test=dataset.y_test,
    )
    if "ptq" in project.manifest:
        ptq_summary = project.manifest["ptq"]
        click.echo(
            f"ptq: {project.path / ptq_summary['model']} (batch norms folded: {', '.join(ptq_summary['folded_batch_norms']) or 'none'}); "
            f"test accuracy {ptq_summary['float_accuracy']:.2%} float -> {ptq_summary['quantized_accuracy']:.2%} quantized "
            f"({ptq_summary['accuracy_change']:+.2%}), decisions agree on {ptq_summary['decision_agreement']:.2%}"
        )
    timing = project.manifest["timing"]
    click.echo(
        f"project: {project.path}  ({project.board.name}, {project.board.part}, {timing['clock_mhz']:g} MHz, "
        f"II ~{timing['estimated_initiation_interval']} of max {timing['max_initiation_interval']} cycles)"
    )
    exit_code = 0
    if run_csim:
        from ..firmware import csim

        result = csim(project)
        click.echo(result.summary())
        exit_code = 0 if result.passed() else 1
    if synth:
        from ..firmware import run_synthesis, synthesis_tool

        if synthesis_tool(project) is None:
            tool = "vitis_hls" if config.backend == "vitis" else "vivado_hls"
            click.echo(
                f"synthesis: {tool} is not on PATH, so synthesis is not available here; run '{tool} -f synth.tcl' in {project.path} elsewhere."
            )
        else:
            synthesis = run_synthesis(project)
            click.echo(
                f"synthesis: done with {synthesis.tool} in {synthesis.seconds:.0f} s; log {synthesis.log}; reports {synthesis.report_dir}"
            )
    return exit_code
