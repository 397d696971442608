"""The estimator on convolutional networks: counted kernels, line buffers, FIFOs, the per-pixel II.

Fast tests use hand-built specs, a tiny QConv2D model and ``tests/data/tiny_cnn_project`` (the parameters, types,
weights and top function of an hls4ml 1.3 io_stream project this project wrote for a 8x8x1 QConv2D(4, 3) - ReLU -
MaxPool(2) - QDense(3) model, Vitis backend);
the ones needing the 27 real CNN syntheses in ``../shared/synth_reports`` skip without it.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fpgacompress.errors import BoardError
from fpgacompress.estimation import estimate_design, read_hls_project
from fpgacompress.estimation.convolution import ConvolutionSpec, PixelLoopSpec, PoolingSpec
from fpgacompress.estimation.fixed_point import parse_fixed_point
from fpgacompress.estimation.layers import ActivationSpec, DenseSpec, DesignSpec

TINY_PROJECT = Path(__file__).parent / "data" / "tiny_cnn_project"
FIXED_16_6 = parse_fixed_point("ap_fixed<16,6>")
FIXED_6_1 = parse_fixed_point("ap_fixed<6,1>")


def _conv(side: int, *, weights=None, reuse_factor: int = 1, strategy: str = "latency", name: str = "conv"):
    if weights is None:
        weights = np.random.default_rng(0).choice([-0.75, -0.40625, 0.3125, 0.59375], size=(9 * 3, 8))
    return ConvolutionSpec(
        name=name,
        weights=weights,
        in_shape=(side, side, 3),
        out_shape=(side - 2, side - 2, 8),
        kernel=(3, 3),
        input_type=FIXED_16_6,
        weight_type=FIXED_6_1,
        accum_type=FIXED_16_6,
        result_type=FIXED_16_6,
        reuse_factor=reuse_factor,
        strategy=strategy,
    )


def _design(*layers, tool: str = "vivado-2019.2") -> DesignSpec:
    head = DenseSpec(
        name="head",
        weights=np.full((8, 2), 0.5),
        input_type=FIXED_16_6,
        weight_type=FIXED_6_1,
        accum_type=FIXED_16_6,
        io_type="io_stream",
    )
    return DesignSpec(layers=(*layers, head), hls_tool=tool, part="xcvu9p-flga2104-2L-e")


def _row(report, name):
    return next(row for row in report.layers if row.name == name)


def test_streaming_convolution_ii_is_pixels_times_cycles_per_pixel():
    small = estimate_design(_design(_conv(8)))
    large = estimate_design(_design(_conv(16)))
    per_pixel_small = _row(small, "conv").ii / 64
    per_pixel_large = _row(large, "conv").ii / 256
    assert per_pixel_small == per_pixel_large >= 1
    # The slowest layer sets the design's II (+1 for the dataflow handshake), and its latency follows.
    assert large.totals.ii == _row(large, "conv").ii + 1
    assert large.totals.latency_cycles >= _row(large, "conv").latency_cycles


def test_resource_strategy_trades_multipliers_for_cycles_per_pixel():
    latency = estimate_design(_design(_conv(8)))
    resource = estimate_design(_design(_conv(8, reuse_factor=27, strategy="resource")))
    assert _row(resource, "conv").dsp < _row(latency, "conv").dsp
    assert _row(resource, "conv").ii >= 27 * 64  # at least the reuse factor per pixel


def test_pruned_kernel_costs_less_and_zero_filters_vanish():
    dense_weights = np.random.default_rng(1).choice([-0.75, -0.40625, 0.3125, 0.59375], size=(27, 8))
    pruned_weights = dense_weights.copy()
    pruned_weights[:, 4:] = 0.0  # four filters removed
    full = _row(estimate_design(_design(_conv(8, weights=dense_weights))), "conv")
    pruned = _row(estimate_design(_design(_conv(8, weights=pruned_weights))), "conv")
    assert pruned.lut < full.lut
    assert pruned.dsp <= full.dsp


def test_feature_map_fifo_is_one_word_per_pixel_in_srl_or_bram():
    deep = estimate_design(_design(_conv(66)))  # 64x64 output pixels x 8 x 16 bits: BRAM
    shallow = estimate_design(_design(_conv(6)))  # 4x4 output pixels: shift registers
    assert _row(deep, "conv_fifo").bram_18k > 0
    assert _row(shallow, "conv_fifo").bram_18k == 0


def test_per_pixel_activation_and_pooling_stream_one_word_per_cycle():
    activation = PixelLoopSpec(
        activation=ActivationSpec("relu", "relu", 8, FIXED_16_6, FIXED_16_6, io_type="io_stream"),
        pixels=36,
    )
    pool = PoolingSpec("pool", (6, 6, 8), (3, 3, 8), (2, 2), "max", FIXED_16_6, FIXED_16_6)
    report = estimate_design(_design(_conv(8), activation, pool))
    assert _row(report, "relu").ii == 36 * (_row(report, "relu").ii // 36) >= 36
    assert _row(report, "pool").ii >= 36
    # One pixel's ReLU hardware, not the whole map's: far below 36 copies of it.
    one_map = estimate_design(
        DesignSpec(layers=(activation.activation,), hls_tool="vivado-2019.2", part="xcvu9p-flga2104-2L-e")
    )
    assert _row(report, "relu").lut < 4 * max(one_map.layers[0].lut, 50)


def test_convolution_kernel_shape_is_checked():
    from fpgacompress.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\(kernel x in-channels, filters\) = \(27, 8\)"):
        _conv(8, weights=np.ones((9, 8)))


def test_recorded_hls4ml_cnn_project_is_read_and_estimated():
    design = read_hls_project(TINY_PROJECT)
    kinds = [type(layer).__name__ for layer in design.layers]
    assert kinds == ["ConvolutionSpec", "PixelLoopSpec", "PoolingSpec", "DenseSpec"]
    conv = design.layers[0]
    assert conv.in_shape == (8, 8, 1) and conv.out_shape == (6, 6, 4) and conv.kernel == (3, 3)
    assert conv.weights.shape == (9, 4)
    assert design.layers[1].pixels == 36
    report = estimate_design(design)
    assert _row(report, "conv").ii == 64 * (_row(report, "conv").ii // 64)
    assert report.totals.ii == max(row.ii for row in report.layers) + 1


def test_stream_depths_come_from_the_project(tmp_path):
    import shutil

    project = tmp_path / "deep_fifo"
    shutil.copytree(TINY_PROJECT, project)
    top = project / "firmware" / "myproject.cpp"
    top.write_text(top.read_text().replace("variable=layer2_out depth=36", "variable=layer2_out depth=4096"))
    default = read_hls_project(TINY_PROJECT)
    deep = read_hls_project(project)
    assert default.layers[0].fifo_depth == 36 and deep.layers[0].fifo_depth == 4096
    shallow_row = _row(estimate_design(default), "conv_fifo")
    deep_row = _row(estimate_design(deep), "conv_fifo")
    assert deep_row.bram_18k > shallow_row.bram_18k


def test_cli_report_on_cnn_project():
    completed = subprocess.run(
        [sys.executable, "-m", "fpgacompress", "report", str(TINY_PROJECT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "conv_fifo" in completed.stdout and "leave-one-repository-out" in completed.stdout


@pytest.fixture(scope="module")
def tiny_qconv_model():
    import tensorflow as tf
    from qkeras import QConv2D, QDense

    inputs = tf.keras.Input((16, 16, 1))
    x = QConv2D(
        4,
        3,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer="quantized_bits(6,0,alpha=1)",
        activation="relu",
        name="conv",
    )(inputs)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(
        3,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer="quantized_bits(6,0,alpha=1)",
        name="out",
    )(x)
    return tf.keras.Model(inputs, x)


def test_keras_cnn_is_read_without_hls4ml(tiny_qconv_model):
    from fpgacompress.estimation.keras_reader import read_keras_model

    design = read_keras_model(tiny_qconv_model)
    assert [type(layer).__name__ for layer in design.layers] == [
        "ConvolutionSpec",
        "PixelLoopSpec",
        "PoolingSpec",
        "ReshapeSpec",
        "DenseSpec",
    ]
    assert design.layers[0].weights.shape == (9, 4)
    assert design.layers[1].pixels == 14 * 14


def test_build_ii_check_refuses_a_too_large_image(tiny_qconv_model):
    from fpgacompress.firmware.checks import check_initiation_interval

    with pytest.raises(BoardError) as refused:
        check_initiation_interval(1, 200.0, 6, tiny_qconv_model, io_type="io_stream")
    message = str(refused.value)
    assert "exceeds the LHC budget of 30 cycles at 200 MHz with TMUX 6" in message
    assert "layer 'conv'" in message and "16x16 = 256 pixels" in message
    assert "smaller image" in message and "TMUX" in message and "reuse factor" in message
    # A TMUX long enough for the image passes and returns the budget.
    assert check_initiation_interval(1, 200.0, 400, tiny_qconv_model, io_type="io_stream") == 2000


@pytest.mark.slow
def test_cli_build_refuses_streaming_conv_over_the_ii_budget(tiny_qconv_model, tmp_path):
    model_path = tmp_path / "cnn.h5"
    tiny_qconv_model.save(model_path)
    images = tmp_path / "images.npy"
    np.save(images, np.random.default_rng(0).random((20, 16, 16, 1)).astype(np.float32))
    output = tmp_path / "firmware"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "fpgacompress",
            "build",
            str(model_path),
            "--out",
            str(output),
            "--data",
            str(images),
            "--io-type",
            "io_stream",
            "--tmux",
            "6",
            "--clock-mhz",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: Initiation interval"), completed.stderr
    assert "16x16 = 256 pixels" in lines[0] and "TMUX" in lines[0]
    assert not output.exists()


def test_all_cnn_syntheses_are_estimated(synth_reports_dir):
    """Every convolutional design of ../shared is read as its files stand; DSPs of the convolutions count exactly."""
    rows = list(csv.DictReader((synth_reports_dir / "summary_conv_layers.csv").read_text().splitlines()))
    exact = total = 0
    for design_id in sorted({row["design"] for row in rows}):
        design = read_hls_project(synth_reports_dir / design_id)
        report = estimate_design(design)
        assert report.totals.ii >= 1 and report.totals.lut > 0
        estimated = {row.name: row for row in report.layers}
        for row in rows:
            if (
                row["design"] == design_id
                and row["kind"] in ("Conv1D", "Conv2D")
                and row["layer"] in estimated
            ):
                total += 1
                exact += int(row["DSP"]) == estimated[row["layer"]].dsp
    assert total >= 60
    assert exact / total >= 0.75  # recorded 2026-12-02: 0.85 (docs/benchmarks.md)


@pytest.mark.slow
def test_cnn_calibration_has_not_drifted(synth_reports_dir):
    """Leave-one-repository-out on the 27 CNN designs stays within the recorded errors (docs/benchmarks.md) + margin."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
    import bench_estimator_conv

    summary = bench_estimator_conv.summarize(
        bench_estimator_conv.cross_validate(bench_estimator_conv.load_designs(synth_reports_dir))
    )
    recorded = {"LUT": 0.41, "FF": 0.36, "DSP": 0.16, "BRAM_18K": 0.19, "latency_cycles": 0.06, "II": 0.06}
    for quantity, median in recorded.items():
        assert summary[quantity]["median_relative_error"] <= median + 0.05, (quantity, summary[quantity])
