"""Estimator contracts: readers match the firmware, DSP counting matches real reports, monotonic physics."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from fpgacompress.errors import ConfigError, ModelError
from fpgacompress.estimate import DenseSpec, DesignSpec, estimate, estimate_design, read_hls_project
from fpgacompress.estimate.fixed_point import csd_digit_counts, parse_fixed_point
from fpgacompress.estimate.render import to_markdown, write_json, write_png

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
