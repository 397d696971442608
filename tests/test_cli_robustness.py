"""The CLI on inputs a new user brings: preprocessing stated and applied once, data-safe output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgacompress.cli import main
from fpgacompress.data import Standardizer, load_jets
from fpgacompress.firmware.testbench import fixed_point_grid, load_reference
from fpgacompress.model_io import save_model

N_SAMPLES = 200


def _one_error_line(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error, error
    assert "Traceback" not in error
    return error


@pytest.fixture(scope="module")
def float_model_path(tmp_path_factory):
    """A float 16-8-5 model saved without a preprocessing.json, as models trained elsewhere come."""
    from fpgacompress.models import build_mlp

    path = tmp_path_factory.mktemp("model") / "tagger.h5"
    save_model(build_mlp("16-8-5", seed=0), path)
    return path


def _build(model_path, out, *extra) -> int:
    return main(
        ["build", str(model_path), "--out", str(out), "--n-testbench-samples", str(N_SAMPLES), *extra]
    )


def test_testbench_inputs_are_standardized_exactly_once(float_model_path, tmp_path, capsys):
    assert _build(float_model_path, tmp_path / "fw") == 0
    output = capsys.readouterr().out
    assert "preprocessing: inputs standardized with mean/std fitted on the training split" in output
    data = load_jets()
    scaler = Standardizer.fit(data.x_train, data.feature_names)
    seen_by_model = fixed_point_grid(scaler.transform(data.x_test[:N_SAMPLES]), "fixed<16,6>")
    testbench = load_reference(tmp_path / "fw").inputs
    np.testing.assert_array_equal(testbench, seen_by_model)
    np.testing.assert_allclose(testbench.mean(axis=0), seen_by_model.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(testbench.std(axis=0), seen_by_model.std(axis=0), rtol=0, atol=1e-6)
    assert np.abs(testbench).max() < 31  # nothing saturated at fixed<16,6>'s +-32
    manifest = json.loads((tmp_path / "fw" / "manifest.json").read_text())
    assert manifest["preprocessing"]["standardizer"]["mean"] == list(scaler.mean)
    assert "fitted on the training split" in manifest["preprocessing"]["statement"]


def test_preprocessing_none_and_file_are_applied_as_stated(float_model_path, tmp_path, capsys):
    data = load_jets()
    raw = data.x_test[:N_SAMPLES]
    assert _build(float_model_path, tmp_path / "none", "--preprocessing", "none") == 0
    assert "preprocessing: inputs used as given" in capsys.readouterr().out
    np.testing.assert_array_equal(
        load_reference(tmp_path / "none").inputs, fixed_point_grid(raw, "fixed<16,6>")
    )
    manifest = json.loads((tmp_path / "none" / "manifest.json").read_text())
    assert manifest["preprocessing"]["standardizer"] is None

    scaler = Standardizer(data.feature_names, tuple(float(v) for v in raw.mean(axis=0)), (3.0,) * 16)
    scaler.save(tmp_path / "scaling.json")
    assert _build(float_model_path, tmp_path / "file", "--preprocessing", str(tmp_path / "scaling.json")) == 0
    expected = fixed_point_grid(scaler.transform(raw), "fixed<16,6>")
    np.testing.assert_array_equal(load_reference(tmp_path / "file").inputs, expected)


def test_preprocessing_that_is_no_file_is_one_line(float_model_path, tmp_path, capsys):
    assert _build(float_model_path, tmp_path / "fw", "--preprocessing", "standard") == 2
    error = _one_error_line(capsys)
    assert (
        "--preprocessing takes none, fit or the path of a preprocessing.json. Received: 'standard'" in error
    )
    assert not (tmp_path / "fw").exists()
