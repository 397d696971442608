"""The estimator on today's HLS tools: reading real projects, tool versions, constants, wide products,
error bands, II / latency verdicts, and the calibration not drifting (issue 12)."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace as dataclasses_replace
from pathlib import Path

import numpy as np
import pytest

from fpgacompress.errors import BoardError, ConfigError
from fpgacompress.estimation import DenseSpec, DesignSpec, estimate, estimate_design, read_hls_project
from fpgacompress.estimation.coefficients import load_coefficients
from fpgacompress.estimation.constness import constant_inputs, fold_constants
from fpgacompress.estimation.estimator import with_budgets
from fpgacompress.estimation.fixed_point import parse_fixed_point
from fpgacompress.estimation.hardware_model import slices_per_product
from fpgacompress.estimation.hls_tools import DEFAULT_HLS_TOOL, parse_hls_tool

ROOT = Path(__file__).resolve().parents[1]

# An HGQ-style project as hls4ml 1.x writes it: per-layer type names, an inlined quantizer cast
# (h_quantize_t) between the input and the first dense layer, io_stream arrays, weights as wN.h,
# Vivado's XilinxPart key and a C-synthesis report header naming the tool version.
_DEFINES = """
#define N_INPUT_1_1 4
typedef nnet::array<ap_fixed<13,5>, 4*1> input_1_t;
typedef ap_fixed<12,5> h_quantize_t;
typedef ap_fixed<20,8> h_dense_accum_t;
typedef nnet::array<ap_fixed<12,8>, 3*1> h_dense_t;
typedef ap_fixed<9,4> h_dense_weight_t;
typedef ap_fixed<20,8> h_dense_bias_t;
typedef ap_uint<1> layer3_index;
typedef nnet::array<ap_ufixed<10,6>, 3*1> re_lu_t;
typedef ap_fixed<18,8> re_lu_table_t;
"""
_PARAMETERS = """
// h_dense
struct config3 : nnet::dense_config {
    static const unsigned n_in = 4;
    static const unsigned n_out = 3;
    static const unsigned io_type = nnet::io_stream;
    static const unsigned strategy = nnet::latency;
    static const unsigned reuse_factor = 1;
    typedef h_dense_accum_t accum_t;
    typedef h_dense_bias_t bias_t;
    typedef h_dense_weight_t weight_t;
    typedef layer3_index index_t;
};

// re_lu
struct ReLU_config6 : nnet::activ_config {
    static const unsigned n_in = 3;
    static const unsigned table_size = 1024;
    static const unsigned io_type = nnet::io_stream;
    typedef re_lu_table_t table_t;
};
"""
_REPORT_HEADER = """

================================================================
== Vivado HLS Report for 'myproject'
================================================================
* Date:           Fri Sep 22 03:35:44 2023

* Version:        2019.2 (Build 2704478 on Wed Nov 06 22:10:23 MST 2019)
"""


def _write_project(directory: Path) -> Path:
    firmware = directory / "firmware"
    (firmware / "weights").mkdir(parents=True)
    (firmware / "defines.h").write_text(_DEFINES)
    (firmware / "parameters.h").write_text(_PARAMETERS)
    weights = ", ".join(str(value) for value in np.linspace(-1.5, 1.5, 12))
    (firmware / "weights" / "w3.h").write_text(
        f"#ifndef W3_H_\n#ifndef __SYNTHESIS__\nh_dense_weight_t w3[12];\n#else\n"
        f"h_dense_weight_t w3[12] = {{{weights}}};\n#endif\n#endif\n"
    )
    (directory / "hls4ml_config.yml").write_text(
        "Backend: Vivado\nClockPeriod: 5\nXilinxPart: xc7z020clg400-1\nProjectName: myproject\n"
    )
    report = directory / "myproject_prj" / "solution1" / "syn" / "report"
    report.mkdir(parents=True)
    (report / "myproject_csynth.rpt").write_text(_REPORT_HEADER)
    return directory


def test_reader_follows_type_names_stream_arrays_quantizer_casts_part_and_tool(tmp_path):
    design = read_hls_project(_write_project(tmp_path / "prj"))
    dense, relu = design.layers
    assert str(dense.input_type) == "ap_fixed<12,5>"  # the inlined quantizer's cast, not input_1_t
    assert str(dense.result_type) == "ap_fixed<12,8>" and str(dense.accum_type) == "ap_fixed<20,8>"
    assert str(dense.weight_type) == "ap_fixed<9,4>" and dense.weights.shape == (4, 3)
    assert str(relu.input_type) == "ap_fixed<12,8>" and str(relu.result_type) == "ap_ufixed<10,6>"
    assert dense.io_type == relu.io_type == "io_stream"
    assert design.part == "xc7z020clg400-1" and design.clock_period_ns == 5.0
    assert design.hls_tool == "vivado-2019.2"  # from the report, not the default
    assert read_hls_project(tmp_path / "prj", hls_tool="vitis-2025.1").tool.era == "vitis-2024"


def test_hls_tool_names_versions_and_eras():
    assert parse_hls_tool("vitis-2024.1").era == "vitis-2024"
    assert parse_hls_tool("Vitis HLS 2021.1").era == "vitis-2021"
    assert str(parse_hls_tool("vivado")) == "vivado-2020.1" and parse_hls_tool("vivado").era == "vivado"
    assert parse_hls_tool(DEFAULT_HLS_TOOL).family == "vitis"
    with pytest.raises(ConfigError, match="expected FAMILY\\[-VERSION\\]"):
        parse_hls_tool("quartus-23.1")


def test_report_cli_refuses_an_unknown_tool_in_one_line(tmp_path, capsys):
    from fpgacompress.cli import main

    assert main(["report", str(_write_project(tmp_path / "prj")), "--hls-tool", "quartus"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: Cannot read the HLS tool 'quartus'") and error.count("\n") == 1


def _design(kernels, input_bits=16, binding="dsp", tool="vitis-2021.1") -> DesignSpec:
    fixed = parse_fixed_point(f"ap_fixed<{input_bits},6>")
    layers = []
    for index, kernel in enumerate(kernels):
        layers.append(
            DenseSpec(f"fc{index + 1}", np.asarray(kernel), fixed, parse_fixed_point("ap_fixed<16,6>"), fixed)
        )
    return DesignSpec(tuple(layers), clock_period_ns=5.0, hls_tool=tool, multiplier_binding=binding)


def test_neurons_pruned_to_their_bias_make_downstream_products_fold():
    rng = np.random.default_rng(0)
    first = rng.uniform(0.3, 1.7, size=(8, 6))
    first[:, [1, 4]] = 0.0  # two neurons pruned down to their bias: constant outputs
    second = rng.uniform(0.3, 1.7, size=(6, 5))
    design = _design([first, second])
    assert constant_inputs(design) == {"fc1": 0, "fc2": 2}
    folded = fold_constants(design).layers[1]
    assert not folded.weights[[1, 4]].any() and folded.n_nonzero == 4 * 5
    live = _design([np.where(first == 0, 0.5, first), second])
    assert estimate_design(design).layers[1].dsp < estimate_design(live).layers[1].dsp


def test_wide_operands_take_two_dsp_slices():
    assert slices_per_product(16, 16) == 1 and slices_per_product(30, 8) == 2
    assert slices_per_product(26, 18, ports=(25, 18)) == 2 and slices_per_product(26, 18) == 1
    kernel = np.random.default_rng(1).uniform(0.3, 1.7, size=(4, 4))
    narrow, wide = estimate_design(_design([kernel], 16)), estimate_design(_design([kernel], 30))
    assert wide.totals.dsp == 2 * narrow.totals.dsp > 0


def test_every_estimate_carries_error_bands_and_the_verdict_covers_ii_and_latency():
    kernel = np.random.default_rng(2).uniform(0.3, 1.7, size=(16, 8))
    report = estimate_design(_design([kernel], tool="vitis-2024.1"), board="serenity-vu9p")
    assert set(report.uncertainty) == {"lut", "ff", "dsp", "latency_cycles"}
    assert (
        "LUT" in report.uncertainty_line
        and "+-" in report.uncertainty_line
        and "vitis-2024.1" in report.uncertainty_line
    )
    assert report.fits is True
    assert report.totals.latency_cycles > 0
    slow = with_budgets(report, latency_budget_ns=0.5 * report.latency_ns)
    assert slow.latency_budget_cycles < report.totals.latency_cycles and slow.fits is False
    assert slow.verdict.startswith("Does not fit the timing: latency")
    stream = estimate_design(
        _design([kernel], tool="vitis-2024.1").with_settings(io_type="io_stream", reuse_factor=8),
        board="serenity-vu9p",
    )
    budget = with_budgets(stream, tmux=1)  # 200 MHz x 25 ns = 5 cycles
    assert budget.max_initiation_interval == 5 and stream.totals.ii > 5
    assert budget.fits is False and "II" in budget.verdict


def test_shipped_coefficients_record_the_repository_cross_validation():
    calibration = load_coefficients().calibration
    assert calibration["cross_validation"] == "leave-one-repository-out"
    for scope in ("all", "vivado", "vitis-2021", "vitis-2024"):
        assert {"median_relative_error_lut", "fraction_bram_exact"} <= set(calibration["summary"][scope])


def test_build_ii_check_and_estimator_share_one_ii_model():
    from fpgacompress.firmware.checks import check_initiation_interval, estimated_initiation_interval
    from fpgacompress.models import build_mlp

    model = build_mlp("16-64-32-32-5", seed=0)
    stream_ii = estimated_initiation_interval(4, model, io_type="io_stream", clock_mhz=240)
    assert (
        stream_ii
        == estimate(model, reuse_factor=4, io_type="io_stream", clock_period_ns=1000 / 240).totals.ii
    )
    # 240 MHz x 25 ns = 6 cycles: io_parallel at reuse factor 4 fits, the io_stream dataflow does not.
    assert check_initiation_interval(4, 240, 1, model) == 6 and stream_ii > 6
    with pytest.raises(BoardError, match=f"Initiation interval {stream_ii} cycles .* budget of 6 cycles"):
        check_initiation_interval(4, 240, 1, model, io_type="io_stream")


def test_report_reads_the_projects_build_writes_and_the_model_gives_the_same_design(tmp_path):
    from click.testing import CliRunner

    from fpgacompress.cli import app
    from fpgacompress.firmware.project import build
    from fpgacompress.firmware.settings import BuildConfig
    from fpgacompress.models import build_mlp

    model = build_mlp("16-64-32-32-5", seed=0)
    jets = np.random.default_rng(0).normal(size=(8, 16)).astype("float32")
    for io_type in ("io_parallel", "io_stream"):
        project = tmp_path / io_type
        build(model, "serenity-vu9p", BuildConfig(io_type=io_type, tmux=6), x_test=jets, out_dir=project)
        result = CliRunner().invoke(
            app, ["report", str(project), "--json", str(tmp_path / f"{io_type}.json")]
        )
        assert result.exit_code == 0, result.output
        payload = json.loads((tmp_path / f"{io_type}.json").read_text())["report"]
        assert payload["hls_tool"] == DEFAULT_HLS_TOOL and payload["uncertainty"]["lut"] > 0
        from_model = estimate(model, board="serenity-vu9p", io_type=io_type)
        assert from_model.totals == estimate(project, board="serenity-vu9p").totals


@pytest.mark.slow
def test_report_reads_every_shared_project_as_its_files_stand(synth_reports_dir):
    from click.testing import CliRunner

    from fpgacompress.cli import app

    projects = sorted(path for path in synth_reports_dir.iterdir() if path.is_dir())
    assert len(projects) >= 83
    for project in projects:
        result = CliRunner().invoke(app, ["report", str(project)])
        assert result.exit_code == 0, f"{project.name}: {result.output[-300:]}"


def _calibration_script():
    spec = importlib.util.spec_from_file_location(
        "calibrate_estimator", ROOT / "scripts" / "calibrate_estimator.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DRIFT_MARGIN = {"relative": 0.05, "cycles": 1, "fraction": 0.05}


@pytest.mark.slow
def test_calibration_does_not_drift(synth_reports_dir):
    """Re-run the leave-one-repository-out cross-validation; no median error may rise above the
    recorded one (the shipped coefficients' calibration summary) plus a margin."""
    script = _calibration_script()
    designs = script.load_calibration_set(synth_reports_dir)
    measured = script.cross_validate(designs, script.EstimatorCoefficients())["summary"]
    recorded = load_coefficients().calibration["summary"]
    for scope, values in recorded.items():
        for key, value in values.items():
            now = measured[scope][key]
            if key.startswith("median_relative_error"):
                assert now <= value + DRIFT_MARGIN["relative"], (scope, key, now, value)
            elif key.startswith("median_absolute_error"):
                assert now <= value + DRIFT_MARGIN["cycles"], (scope, key, now, value)
            elif key.startswith("fraction"):
                assert now >= value - DRIFT_MARGIN["fraction"], (scope, key, now, value)


def test_batch_norm_scales_are_constant_products_counted_like_weights():
    from fpgacompress.estimation import ActivationSpec

    fixed = parse_fixed_point("ap_fixed<16,6>")
    scale_type = parse_fixed_point("ap_fixed<15,6>")
    wide = tuple(int(v) for v in scale_type.to_integers(np.linspace(0.17, 0.61, 8)))
    shifts = tuple(int(v) for v in scale_type.to_integers(np.full(8, 2.0)))  # ArgyKokk's scales: shifts

    def dsp(scales, binding="auto"):
        layer = ActivationSpec("bn", "normalize", 8, fixed, fixed, scale_integers=scales)
        return estimate_design(
            DesignSpec((layer,), hls_tool="vitis-2024.1", multiplier_binding=binding)
        ).totals.dsp

    assert dsp(wide) == 8 and dsp(shifts) == 0 and dsp(wide, binding="fabric") == 0


def _dense(n_in, n_out, reuse_factor=1, seed=0):
    fixed = parse_fixed_point("ap_fixed<16,6>")
    weights = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_in, n_out))
    return DenseSpec("fc", weights, fixed, fixed, fixed, reuse_factor=reuse_factor)


def test_flip_flops_follow_the_schedule_registers():
    """A combinational layer holds no register; a faster clock cuts the delay chain into more
    registered stages; registers inside the chain hold products and partial sums, more than the
    results alone (issue 12: FF counted from the schedule)."""
    from fpgacompress.estimation.hardware_model import count_dense
    from fpgacompress.estimation.timing import schedule_dense, schedule_register_bits

    coefficients = load_coefficients()
    layer = _dense(16, 8)

    def registers(clock_period_ns):
        design = DesignSpec(
            (layer,), clock_period_ns=clock_period_ns, hls_tool="vitis-2024.1", part="xc7z020clg400-1"
        )
        counts = count_dense(layer, coefficients, "auto")
        timing = schedule_dense(layer, counts, design, coefficients.model("vitis-2024", "dense_timing"))
        return timing.latency_cycles, schedule_register_bits(layer, counts, timing)

    slow_cycles, slow_bits = registers(40.0)
    fast_cycles, fast_bits = registers(2.5)
    assert slow_cycles == 0 and slow_bits == 0
    assert fast_cycles >= 2
    assert fast_bits > fast_cycles * layer.n_out * layer.accum_type.width


def test_element_wise_registers_only_where_the_layer_takes_a_cycle():
    from fpgacompress.estimation import ActivationSpec

    fixed = parse_fixed_point("ap_fixed<16,6>")
    relu = ActivationSpec("relu", "relu", 64, fixed, fixed)

    def row(clock_period_ns):
        design = DesignSpec(
            (relu,), clock_period_ns=clock_period_ns, hls_tool="vitis-2021.1", part="xc7z020clg400-1"
        )
        return estimate_design(design).layers[0]

    assert row(10.0).latency_cycles == 0 and row(10.0).ff == 0
    assert row(2.5).latency_cycles >= 1 and row(2.5).ff > 0


def test_softmax_cycles_follow_its_trees_clock_and_binding():
    """hls4ml's softmax_stable: a max tree and a sum tree of ceil(log2 n) levels, a DSP product."""
    from fpgacompress.estimation.timing import table_schedule_cycles

    timing = load_coefficients().model("vitis-2021", "dense_timing")

    def cycles(n_in, clock_period_ns=5.0, dsp=True, function="softmax"):
        design = DesignSpec(
            (), clock_period_ns=clock_period_ns, hls_tool="vitis-2021.1", part="xc7z020clg400-1"
        )
        return table_schedule_cycles(function, n_in, design, timing, compare_ns=4.0, dsp=dsp)

    assert cycles(16) > cycles(4) > cycles(2) > 0
    assert cycles(16, clock_period_ns=2.5) > cycles(16) >= cycles(16, clock_period_ns=25.0)
    assert cycles(8, dsp=False) < cycles(8)
    assert cycles(8, function="sigmoid") == 0


def test_io_stream_resource_layer_starts_again_only_when_done():
    """hls4ml's stream dense reads the whole input before its reuse loop: II = its latency, not the
    reuse factor (design 69 of the shared reports: a reuse-factor-64 layer at II 69)."""
    layer = _dense(16, 8, reuse_factor=8)
    parallel = dataclasses_replace(layer, strategy="resource")
    stream = dataclasses_replace(layer, strategy="resource", io_type="io_stream")
    row_parallel = estimate_design(DesignSpec((parallel,), hls_tool="vivado-2019.2")).layers[0]
    row_stream = estimate_design(DesignSpec((stream,), hls_tool="vivado-2019.2")).layers[0]
    assert row_parallel.ii == 8
    assert row_stream.ii == row_stream.latency_cycles > 8


def test_the_estimate_writes_only_what_it_reads_and_reads_the_same_design(monkeypatch):
    """The estimate writes hls4ml's headers and weights only (not the HLS library, test bench and
    archive): the design read back equals the one read from hls4ml's whole project."""
    from fpgacompress.estimation import model_reader
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization import QuantizationSpec, quantize

    model = build_mlp("16-32-16-5", seed=0)
    weights = model.get_weights()
    rng = np.random.default_rng(0)
    model.set_weights([w * (rng.random(w.shape) > 0.6) for w in weights])  # zeros the estimate sees
    quantized = quantize(model, QuantizationSpec.uniform(6))
    for candidate, settings in ((model, {"reuse_factor": 4, "strategy": "resource"}), (quantized, {})):
        lean = estimate(candidate, board="serenity-ku15p", **settings)
        with monkeypatch.context() as patch:
            patch.setattr(model_reader, "_write_what_the_reader_reads", lambda hls_model: hls_model.write())
            whole = estimate(candidate, board="serenity-ku15p", **settings)
        assert lean == whole and lean.totals.lut > 0


def test_top_function_registers_no_boundary_between_two_combinational_layers():
    """The top function registers a layer's output unless it and the next layer both take 0
    cycles (they chain into one cycle): glue cycles and held bits count registered boundaries only,
    and a design whose every layer is combinational (a 25 ns clock) has no glue at all."""
    from fpgacompress.estimation import ActivationSpec
    from fpgacompress.estimation.estimator import design_glue_features, design_register_features
    from fpgacompress.estimation.report import LayerResources

    fixed = parse_fixed_point("ap_fixed<16,6>")
    layers = (
        _dense(8, 4),
        ActivationSpec("bn", "normalize", 4, fixed, fixed),
        ActivationSpec("relu", "relu", 4, fixed, fixed),
        _dense(4, 2, seed=1),
    )
    design = DesignSpec(layers, hls_tool="vitis-2021.1")

    def rows(*cycles):
        return [LayerResources(str(i), 0, 0, 0, 0, latency, 1) for i, latency in enumerate(cycles)]

    sequential = rows(3, 1, 1, 2)
    chained = rows(3, 0, 0, 2)  # bn -> relu chain into one cycle: 2 of 3 boundaries registered
    assert design_glue_features(design, sequential)["layer_boundaries"] == 3
    assert design_glue_features(design, chained)["layer_boundaries"] == 2
    bits = 4 * fixed.width  # each layer output here is 4 words of 16 bits
    assert design_register_features(design, sequential)["layer_output_bits"] == 3 * bits
    assert design_register_features(design, chained)["layer_output_bits"] == 2 * bits
    combinational = rows(0, 0, 0, 0)
    assert design_glue_features(design, combinational)["glue_registers"] == 0
    assert design_register_features(design, combinational)["layer_output_bits"] == 0
    # Without a schedule (no rows) every output counts, as before a design is scheduled.
    assert design_register_features(design)["layer_output_bits"] == 3 * bits


def test_fabric_products_fill_the_first_register_stage():
    """A LUT product is one operator the scheduler does not cut: its layer's first register holds
    every product (input + weight bits each), whatever the fitted product delay; a DSP layer with
    the same schedule can place that register further along, inside the adder tree."""
    from fpgacompress.estimation.hardware_model import count_dense
    from fpgacompress.estimation.timing import DenseTiming, schedule_register_bits

    coefficients = load_coefficients()
    layer = _dense(32, 8)
    product_bits = int((layer.weight_integers != 0).sum()) * (
        layer.input_type.width + layer.weight_type.width
    )
    fabric = count_dense(layer, coefficients, "fabric")
    assert fabric.dsp_products == 0 and fabric.multiplications > 0
    # 2 cycles, a short product (0.5 ns) before 5 adder levels of 2 ns: uniform cuts would both
    # land in the adder tree.
    timing = DenseTiming(2, 1, 1, 2, 0, multiplier_delay_ns=0.5, adder_delay_ns=2.0, period_ns=4.4)
    bits = schedule_register_bits(layer, fabric, timing)
    assert bits >= product_bits + layer.n_out * layer.accum_type.width
    dsp = count_dense(layer, coefficients, "dsp")
    assert dsp.dsp_products > 0
    assert schedule_register_bits(layer, dsp, timing) < product_bits


def test_device_delays_are_fitted_once_and_held_in_every_tool_fit():
    """The UltraScale fabric factor and the LUT product delay are the silicon's: the calibration
    fits them on every tool's layers and holds them fixed in each tool's own fit."""
    from fpgacompress.estimation.hardware_model import count_dense

    script = _calibration_script()
    assert set(script.DEVICE_DELAYS) == {"ultrascale_logic_factor", "multiplier_lut_ns"}
    layer = _dense(16, 4)
    counts = count_dense(layer, load_coefficients(), "auto")
    design = DesignSpec((layer,), clock_period_ns=5.0, hls_tool="vitis-2021.1", part="xcvu9p-flga2104-2-e")
    rows = [(layer, counts, design, 1, "one"), (layer, counts, design, 1, "two")]
    fitted = script.fit_dense_timing(rows, fixed={"ultrascale_logic_factor": 0.35}, sweeps=1)
    assert fitted["ultrascale_logic_factor"] == 0.35
    assert script.fit_dense_timing(rows, sweeps=1)["ultrascale_logic_factor"] != 0.35


def test_multiplier_limit_follows_the_zeros_the_config_declares(tmp_path):
    """hls4ml's ALLOCATION limit is ``ceil(n_in*n_out/RF) - n_zeros/RF`` with the config's declared
    n_zeros; a project written from float weights declares 0 even where its fixed-point weights
    have zeros, and the tool then instantiates (and issues products on) the larger limit."""
    from fpgacompress.estimation.hardware_model import count_dense

    coefficients = load_coefficients()
    layer = _dense(16, 8, reuse_factor=4)
    weights = layer.weights.copy()
    weights[:8, :] = 0.0  # 64 of 128 weights are zeros in the firmware
    counted = dataclasses_replace(layer, weights=weights)
    declared = dataclasses_replace(counted, declared_zeros=0)
    assert count_dense(counted, coefficients, "dsp").multiplier_limit == 32 - 64 // 4
    assert count_dense(declared, coefficients, "dsp").multiplier_limit == 32
    # The reader takes n_zeros from the layer's config struct; without it the weights decide.
    project = _write_project(tmp_path / "prj")
    parameters = project / "firmware" / "parameters.h"
    assert read_hls_project(project).layers[0].declared_zeros is None
    parameters.write_text(
        _PARAMETERS.replace("reuse_factor = 1;", "reuse_factor = 1;\n    static const unsigned n_zeros = 5;")
    )
    assert read_hls_project(project).layers[0].declared_zeros == 5


def test_serial_layer_ends_with_the_levels_of_its_last_sum():
    """With a reuse factor the products are issued ``multiplier_limit`` per cycle; after the last
    issue only the sum's upper levels remain (three operands per level, one level per cycle), so a
    layer whose outputs sum more products ends later, and its II is its latency + 1."""
    from fpgacompress.estimation.hardware_model import count_dense
    from fpgacompress.estimation.timing import schedule_dense, serial_sum_levels

    assert [serial_sum_levels(n) for n in (0, 1, 8, 9, 26, 27, 80, 81)] == [0, 0, 0, 1, 1, 2, 2, 3]
    coefficients = load_coefficients()
    design = DesignSpec((), clock_period_ns=5.0, hls_tool="vitis-2021.1", part="xc7z020-clg400-1")
    timing = coefficients.model("vitis-2021", "dense_timing")

    def scheduled(n_in):
        layer = _dense(n_in, 2, reuse_factor=n_in * 2)  # one multiplier: every product serialized
        counts = count_dense(layer, coefficients, "fabric")
        return counts, schedule_dense(layer, counts, design, timing)

    short_counts, short = scheduled(8)
    long_counts, long = scheduled(40)
    assert short_counts.multiplier_limit == long_counts.multiplier_limit == 1
    assert short.serial_cycles == short_counts.multiplications
    levels = serial_sum_levels(long_counts.deepest_sum) - serial_sum_levels(short_counts.deepest_sum)
    assert levels == 2
    assert long.latency_cycles - long.serial_cycles == short.latency_cycles - short.serial_cycles + levels
    assert long.ii == long.latency_cycles + 1


def test_shared_dsp_is_pipelined_only_when_its_product_misses_the_period():
    """A time-shared DSP48 product chains into its issue cycle while the slice's combinational
    delay fits the usable period; otherwise the slice's three internal registers add two cycles."""
    from fpgacompress.estimation.hardware_model import count_dense
    from fpgacompress.estimation.timing import DSP_PIPELINE_STAGES, schedule_dense, shared_dsp_stages

    def design(clock_period_ns):
        return DesignSpec(
            (), clock_period_ns=clock_period_ns, hls_tool="vitis-2021.1", part="xc7z020-clg400-1"
        )

    assert shared_dsp_stages(design(5.0)) == 0
    assert shared_dsp_stages(design(3.33)) == DSP_PIPELINE_STAGES - 1
    coefficients = load_coefficients()
    timing = coefficients.model("vitis-2021", "dense_timing")
    layer = _dense(16, 4, reuse_factor=32)
    dsp, fabric = count_dense(layer, coefficients, "dsp"), count_dense(layer, coefficients, "fabric")
    assert dsp.dsp_products > 0 and dsp.multiplications == fabric.multiplications
    for clock, extra in ((5.0, 0), (3.33, DSP_PIPELINE_STAGES - 1)):
        shared = schedule_dense(layer, dsp, design(clock), timing)
        fabric_timing = schedule_dense(layer, fabric, design(clock), timing)
        assert shared.serial_cycles == fabric_timing.serial_cycles > 0
        assert shared.latency_cycles - fabric_timing.latency_cycles == extra


def test_serial_tail_is_fitted_once_on_every_tool():
    """A tool era without reuse-factor layers cannot set the serial tail: it is fitted on every
    tool's layers and held in each tool's fit, like the device delays."""
    script = _calibration_script()
    assert script.POOLED_SCHEDULE == ("serial_tail_cycles",)
    assert not set(script.POOLED_SCHEDULE) & set(script.DEVICE_DELAYS)
