"""``fpgacompress autoprune``: options parsed into a spec, one-line errors, a complete run directory."""

from __future__ import annotations

import json

import pytest

from fpgacompress.cli import main
from fpgacompress.cli.autoprune import parse_keep
from fpgacompress.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.5", 0.5), ("16", 16), ("fc1=32, fc2=0.5", {"fc1": 32, "fc2": 0.5}), ("1.0", 1.0)],
)
def test_keep_option_parses_counts_fractions_and_layers(text, expected):
    parsed = parse_keep(text, "--keep")
    assert parsed == expected
    assert type(parsed) is type(expected)


@pytest.mark.parametrize("text", ["half", "fc1=", "=3", "fc1=32,fc2"])
def test_malformed_keep_option_is_a_config_error(text):
    with pytest.raises(ConfigError, match=r"--keep expects"):
        parse_keep(text, "--keep")


def test_zero_nodes_exit_2_with_one_line(tmp_path, capsys):
    code = main(["autoprune", str(tmp_path / "model.h5"), "--keep", "fc1=0", "--out", str(tmp_path / "out")])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "keep['fc1'] must keep at least 1 node" in error
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def saved_tagger(tmp_path_factory, small_jets):
    from fpgacompress.model_io import save_model
    from fpgacompress.models import build_mlp

    _, scaler = small_jets
    path = tmp_path_factory.mktemp("tagger") / "model.h5"
    save_model(build_mlp("16-16-8-5", seed=0), path, standardizer=scaler)
    return path


def test_count_larger_than_layer_exit_2(saved_tagger, tmp_path, capsys):
    code = main(
        ["autoprune", str(saved_tagger), "--keep", "fc1=17", "--out", str(tmp_path / "out"), "--no-progress"]
    )
    assert code == 2
    assert (
        "keep['fc1']=17 nodes, but the layer has only 16. Choose a count in 1..16." in capsys.readouterr().err
    )


def test_autoprune_command_writes_reduced_model_and_feature_order(saved_tagger, tmp_path, capsys):
    from fpgacompress.model_io import load_model, load_standardizer

    out = tmp_path / "ap"
    code = main(
        [
            "autoprune", str(saved_tagger), "--keep", "fc1=8,fc2=0.5", "--keep-features", "5",
            "--soft-epochs", "1", "--hard-epochs", "1", "--epochs", "1", "--max-train", "2000",
            "--out", str(out), "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    assert "reduced topology: 5-8-4-5" in capsys.readouterr().out
    summary = json.loads((out / "autoprune.json").read_text())
    assert summary["keep_counts"] == {"fc1": 8, "fc2": 4}
    assert summary["export_max_abs_difference"] <= 1e-5
    reduced = load_model(out / "model.h5")
    assert reduced.inputs[0].shape[-1] == 5
    assert list(load_standardizer(out / "model.h5").feature_names) == summary["kept_features"]
    assert load_model(out / "masked_model.h5").get_layer("input_feature_mask").keep_count == 5
