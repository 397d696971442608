"""Estimator contracts: readers match the firmware, DSP counting matches real reports, monotonic physics."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from fpgacompress.errors import ConfigError, ModelError
from fpgacompress.estimation import DenseSpec, DesignSpec, estimate, estimate_design, read_hls_project
from fpgacompress.estimation.fixed_point import csd_digit_counts, parse_fixed_point
from fpgacompress.estimation.render import to_markdown, write_json, write_png

INPUT = parse_fixed_point("ap_fixed<16,6>")
WEIGHT = parse_fixed_point("ap_fixed<16,6>")


def _dense_design(weights, reuse_factor=1, binding="auto") -> DesignSpec:
    layer = DenseSpec("fc1", np.asarray(weights), INPUT, WEIGHT, INPUT, reuse_factor=reuse_factor)
    return DesignSpec(layers=(layer,), clock_period_ns=5.0, hls_tool="vivado", multiplier_binding=binding)


def test_csd_digits_and_fixed_point_integers():
    assert csd_digit_counts(np.array([0, 1, 3, 7, 11, -11, 85])).tolist() == [0, 1, 2, 2, 3, 3, 4]
    assert parse_fixed_point("ap_fixed<8,1>").to_integers([0.5, -0.25, 0.001]).tolist() == [64, -32, 0]
    with pytest.raises(ConfigError, match="Cannot read the fixed-point type 'float32'"):
        parse_fixed_point("float32")


def test_project_reader_matches_ground_truth_types(synth_reports_dir):
    import yaml

    entry = next(
        d
        for d in yaml.safe_load((synth_reports_dir / "ground_truth.yaml").read_text())["designs"]
        if d["id"] == "04"
    )
    design = read_hls_project(synth_reports_dir / "04")
    assert [layer.name for layer in design.layers] == [layer["name"] for layer in entry["layers"]]
    fc2 = design.layers[2]
    assert (str(fc2.input_type), str(fc2.weight_type), str(fc2.accum_type)) == (
        "ap_ufixed<6,0>",
        "ap_fixed<6,1>",
        "ap_fixed<16,6>",
    )
    assert fc2.n_in * fc2.n_out - fc2.n_nonzero == entry["layers"][2]["n_zeros"]


@pytest.mark.parametrize("design_id", ["01", "03", "17", "19", "22", "40", "46", "54"])
def test_dsp_count_matches_real_synthesis(synth_reports_dir, design_id):
    import csv

    binding = {
        row["id"]: row["mul_impl"]
        for row in csv.DictReader((synth_reports_dir / "summary_designs.csv").read_text().splitlines())
    }
    truth = {
        row["id"]: int(row["DSP"])
        for row in csv.DictReader((synth_reports_dir / "summary_designs.csv").read_text().splitlines())
    }
    design = read_hls_project(
        synth_reports_dir / design_id,
        multiplier_binding={"default": "auto"}.get(binding[design_id], binding[design_id]),
    )
    dsp = estimate_design(design).totals.dsp
    assert abs(dsp - truth[design_id]) <= 0.02 * truth[design_id] + 1


def test_more_zeros_never_more_dsp_or_lut():
    weights = np.random.default_rng(0).uniform(-2, 2, size=(16, 32))
    previous = estimate_design(_dense_design(weights)).totals
    for fraction in (0.25, 0.5, 0.75, 1.0):
        pruned = weights.copy()
        pruned.flat[: int(fraction * pruned.size)] = 0.0
        current = estimate_design(_dense_design(pruned)).totals
        assert current.dsp <= previous.dsp and current.lut <= previous.lut
        previous = current
    assert previous.dsp == 0


def test_powers_of_two_are_shifts_not_dsps():
    weights = np.random.default_rng(1).choice([0.5, -0.25, 1.0, 2.0], size=(16, 8))
    assert estimate_design(_dense_design(weights)).totals.dsp == 0


def test_higher_reuse_fewer_multipliers_more_cycles():
    weights = np.random.default_rng(2).uniform(-2, 2, size=(32, 32))
    rows = [
        estimate_design(_dense_design(weights, reuse_factor)).layers[0] for reuse_factor in (1, 4, 16, 64)
    ]
    assert all(a.dsp >= b.dsp for a, b in zip(rows, rows[1:], strict=False)) and rows[-1].dsp < rows[0].dsp
    assert all(a.latency_cycles <= b.latency_cycles for a, b in zip(rows, rows[1:], strict=False))
    assert [row.ii for row in rows][0] == 1 and rows[-1].ii > 1


def test_fabric_binding_uses_no_dsp_and_more_lut():
    weights = np.random.default_rng(3).uniform(-2, 2, size=(16, 16))
    auto = estimate_design(_dense_design(weights)).totals
    fabric = estimate_design(_dense_design(weights, binding="fabric")).totals
    assert fabric.dsp == 0 < auto.dsp and fabric.lut > auto.lut


def test_estimate_is_fast_and_renders(synth_reports_dir, tmp_path):
    start = time.perf_counter()
    report = estimate(synth_reports_dir / "46", board="serenity-vu9p")
    assert time.perf_counter() - start < 1.0
    assert report.source == "estimate" and report.fits is not None
    markdown = to_markdown(report)
    assert "| fc1 |" in markdown and report.verdict in markdown
    assert write_json(report, tmp_path / "r.json").read_text().count('"name"') == len(report.layers) + 1
    assert write_png(report, tmp_path / "r.png").stat().st_size > 1000


def test_estimate_from_keras_model():
    from fpgacompress.models import build_mlp

    model = build_mlp("16-64-32-32-5", seed=0)
    report = estimate(model, board="serenity-vu9p", reuse_factor=2)
    assert [layer.name for layer in report.layers][:2] == ["fc1", "relu1"]
    assert report.layers[0].ii == 2


def test_not_a_project_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="expected firmware/parameters.h"):
        read_hls_project(tmp_path)


def test_reuse_factor_must_be_positive():
    with pytest.raises(ConfigError, match="reuse_factor must be an integer >= 1"):
        replace(_dense_design(np.ones((2, 2))).layers[0], reuse_factor=0)


def _layer_design(layer, hls_tool="vivado", clock_period_ns=5.0, part="", binding="auto") -> DesignSpec:
    return DesignSpec(
        layers=(layer,),
        clock_period_ns=clock_period_ns,
        hls_tool=hls_tool,
        multiplier_binding=binding,
        part=part,
    )


def test_higher_reuse_strictly_more_cycles_and_ii():
    weights = np.random.default_rng(4).uniform(-2, 2, size=(32, 16))
    rows = [
        estimate_design(_dense_design(weights, reuse_factor)).layers[0] for reuse_factor in (1, 8, 32, 128)
    ]
    cycles = [row.latency_cycles for row in rows]
    assert cycles == sorted(cycles) and cycles[-1] >= cycles[0] + 4
    assert [row.ii for row in rows] == sorted(row.ii for row in rows)


def test_shorter_clock_or_slower_device_never_fewer_cycles():
    weights = np.random.default_rng(5).uniform(-2, 2, size=(64, 32))
    layer = DenseSpec("fc1", weights, INPUT, WEIGHT, INPUT)
    cycles = {
        (clock, part): estimate_design(_layer_design(layer, "vitis", clock, part)).layers[0].latency_cycles
        for clock in (2.5, 5.0, 10.0)
        for part in ("xcvu9p-flga2104-2L-e", "xc7z020-clg400-1")
    }
    for part in ("xcvu9p-flga2104-2L-e", "xc7z020-clg400-1"):
        assert cycles[(2.5, part)] >= cycles[(5.0, part)] >= cycles[(10.0, part)]
    for clock in (2.5, 5.0, 10.0):
        assert cycles[(clock, "xc7z020-clg400-1")] >= cycles[(clock, "xcvu9p-flga2104-2L-e")]


def test_device_speed_factor_from_part_string():
    from fpgacompress.estimation.timing import device_speed_factor

    assert device_speed_factor("xc7z020-clg400-1") == 1.0 == device_speed_factor("")
    assert device_speed_factor("xcvu9p-flga2104-2L-e") < device_speed_factor("xc7vx690t-ffg1930-2") < 1.0
    assert device_speed_factor("xczu9eg-ffvb1156-2-e") == device_speed_factor("xcku15p-ffva1760-2-e")


def test_vitis_chains_the_sums_of_very_large_layers():
    """Above 4096 products Vitis HLS adds one product after another (561x20: 192 cycles in the reports)."""
    rng = np.random.default_rng(6)
    small = DenseSpec("fc1", rng.uniform(-2, 2, size=(256, 16)), INPUT, WEIGHT, INPUT)  # 4096 products
    large = DenseSpec("fc1", rng.uniform(-2, 2, size=(512, 16)), INPUT, WEIGHT, INPUT)  # 8192 products
    small_cycles = estimate_design(_layer_design(small, "vitis")).layers[0].latency_cycles
    large_cycles = estimate_design(_layer_design(large, "vitis")).layers[0].latency_cycles
    assert small_cycles < 20 and large_cycles > 100
    assert estimate_design(_layer_design(large, "vivado")).layers[0].latency_cycles < 20


def test_resource_strategy_shares_general_multipliers_and_stores_weights_in_bram():
    weights = np.random.default_rng(7).uniform(-2, 2, size=(64, 32))
    weights[:, :16] = 0.0  # the weight ROM still holds (and multiplies) the zeros
    reuse_factor = 64
    layer = DenseSpec("fc1", weights, INPUT, WEIGHT, INPUT, reuse_factor=reuse_factor, strategy="resource")
    row = estimate_design(_layer_design(layer, binding="dsp")).layers[0]
    assert row.dsp == 64 * 32 // reuse_factor
    assert row.ii == reuse_factor and row.latency_cycles > reuse_factor
    # 64 words of 32 weights x 16 bits = 512 bits wide: ceil(512 / 36) blocks of 512x36.
    assert row.bram_18k == 15
    fabric = estimate_design(_layer_design(layer, binding="fabric")).layers[0]
    assert fabric.dsp == 0 and fabric.lut > row.lut
    latency = estimate_design(_layer_design(replace(layer, strategy="latency"), binding="dsp")).layers[0]
    # The latency strategy keeps constant weights: zeros vanish, half the multipliers.
    assert latency.bram_18k == 0 and latency.dsp == row.dsp // 2


def test_rom_bram_blocks_pick_the_cheapest_aspect_ratio():
    from fpgacompress.estimation.hardware_model import rom_bram_18k

    assert rom_bram_18k(512, 36) == 1
    assert rom_bram_18k(1024, 36) == 2
    assert rom_bram_18k(2048, 9) == 1
    assert rom_bram_18k(100, 72) == 2
    assert rom_bram_18k(0, 36) == 0


def test_io_stream_adds_fifo_memory_and_cycles():
    from fpgacompress.estimation import ActivationSpec
    from fpgacompress.estimation.streams import fifo_resources

    weights = np.random.default_rng(8).uniform(-2, 2, size=(16, 8))

    def design(io_type):
        return DesignSpec(
            layers=(
                DenseSpec("fc1", weights, INPUT, WEIGHT, INPUT, io_type=io_type),
                ActivationSpec("relu1", "relu", 8, INPUT, INPUT, io_type=io_type),
            ),
            clock_period_ns=5.0,
            hls_tool="vivado",
        )

    parallel, stream = estimate_design(design("io_parallel")), estimate_design(design("io_stream"))
    assert [row.name for row in stream.layers][:3] == ["fc1", "relu1", "fc1_fifo"]
    fifo = stream.layers[2]
    assert fifo.lut >= 8 * 16 and fifo.bram_18k == 0
    assert (
        stream.totals.lut > parallel.totals.lut
        and stream.totals.latency_cycles > parallel.totals.latency_cycles
    )
    assert stream.totals.ii > parallel.totals.ii
    deep = fifo_resources("deep_fifo", depth=1024, width_bits=128)
    # 1024 words of 128 bits: 8 blocks either as 1024x18 (ceil(128/18) = 8) or as 2 x 4 of 512x36.
    assert deep.bram_18k == 8 and deep.lut < 128


def test_dense_latency_on_the_calibration_set(synth_reports_dir):
    """The shipped delays put at least 3 in 4 real dense layers within +-2 cycles of C synthesis."""
    import yaml

    truth = yaml.safe_load((synth_reports_dir / "ground_truth.yaml").read_text())
    within, total = 0, 0
    for entry in truth["designs"]:
        if entry.get("model", {}).get("family") == "cnn":
            continue
        if not (synth_reports_dir / entry["dir"] / "firmware" / "parameters.h").is_file():
            continue
        design = read_hls_project(
            synth_reports_dir / entry["dir"],
            clock_period_ns=float(entry["clock_target_ns"]),
            hls_tool=f"{entry['tool']['name'].split()[0]}-{entry['tool']['version']}",
            part=entry["part"],
        )
        rows = {row.name: row for row in estimate_design(design).layers}
        for layer in entry["layers"]:
            if layer["kind"] == "Dense":
                total += 1
                within += abs(rows[layer["name"]].latency_cycles - layer["csynth"]["latency_cycles_max"]) <= 2
    assert total >= 130 and within / total >= 0.75


def test_settings_override_strategy_and_io_type_of_a_keras_model():
    from fpgacompress.models import build_mlp

    model = build_mlp("16-64-32-32-5", seed=0)
    report = estimate(model, board="serenity-vu9p", reuse_factor=16, strategy="resource", io_type="io_stream")
    dense = [row for row in report.layers if row.name in ("fc1", "fc2", "fc3", "output")]
    # io_stream: each layer starts again only when done, so its II is its latency (>= the reuse factor).
    assert all(row.ii == row.latency_cycles >= 16 for row in dense)
    assert report.totals.bram_18k > 0 and any(row.name.endswith("_fifo") for row in report.layers)
    with pytest.raises(
        ConfigError, match="strategy must be 'latency' or 'resource'. Received strategy='fast'"
    ):
        estimate(model, strategy="fast")
    with pytest.raises(ConfigError, match="io_type must be 'io_parallel' or 'io_stream'"):
        estimate(model, io_type="stream")


def test_report_cli_accepts_strategy_and_io_type(synth_reports_dir, tmp_path):
    import json

    from click.testing import CliRunner

    from fpgacompress.cli import app

    result = CliRunner().invoke(
        app,
        ["report", str(synth_reports_dir / "28"), "--strategy", "resource", "--reuse-factor", "4",
         "--io-type", "io_stream", "--json", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["report"]["source"] == "estimate" and "comparison" not in payload
    fc1 = {row["name"]: row for row in payload["report"]["layers"]}["fc1"]
    assert fc1["ii"] == fc1["latency_cycles"] > 4  # io_stream: starts again only when done
