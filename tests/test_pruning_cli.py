"""``fpgacompress prune``: run directory contents, carried-over preprocessing, one-line errors."""

from __future__ import annotations

import json

import pytest

from fpgacompress.cli import main
from fpgacompress.data import Standardizer
from fpgacompress.model_io import load_model, load_standardizer, save_model
from fpgacompress.models import build_mlp
from fpgacompress.pruning.mask import PruningMask
from fpgacompress.recipe import TrainingConfig
from fpgacompress.regularizers import L1
from fpgacompress.training import train


@pytest.fixture(scope="module")
def saved_model(small_jets, tmp_path_factory):
    data, scaler = small_jets
    model = build_mlp("16-16-5", regularizer=L1(1e-4), seed=0)
    train(model, data, TrainingConfig(epochs=1, batch_size=256), progress=False)
    return save_model(model, tmp_path_factory.mktemp("input") / "tagger.h5", standardizer=scaler)


def test_prune_command_writes_model_mask_records_and_plots(saved_model, tmp_path, capsys):
    out = tmp_path / "pruned"
    code = main([
        "prune", str(saved_model), "--target-sparsity", "0.5", "--fraction-per-iteration", "0.3",
        "--epochs-per-iteration", "1", "--max-layer-sparsity", "output=0.2", "--max-train", "2000",
        "--out", str(out), "--no-progress",
    ])  # fmt: skip
    assert code == 0
    assert "stopped: reached target_sparsity=0.5" in capsys.readouterr().out
    mask = PruningMask.load(out / "mask.npz")
    assert abs(mask.sparsity - 0.5) <= 0.01 and mask.layer_sparsity()["output"] <= 0.2
    assert mask.violations(load_model(out / "model.h5")) == {}
    assert load_standardizer(out / "model.h5") == Standardizer.load(
        saved_model.with_name("tagger.preprocessing.json")
    )
    records = json.loads((out / "records.json").read_text())
    assert records["method"] == "iterative" and records["spec"]["layers"] == {
        "output": {"fraction_per_iteration": None, "max_sparsity": 0.2}
    }
    assert {"accuracy_vs_sparsity.png", "weights_iteration_00.png", "weights_iteration_02.png"} <= {
        path.name for path in out.iterdir()
    }
    assert main(["prune", str(saved_model), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--target-sparsity", "1"], "target_sparsity must be a float in [0, 1)"),
        (
            ["--max-layer-sparsity", "output:0.5"],
            "--max-layer-sparsity takes LAYER=FRACTION, like output=0.6. Received: 'output:0.5'.",
        ),
        (["--relative-budget"], "--relative-budget needs --max-accuracy-drop"),
        (["--exclude", "fc7"], "names layer(s) ['fc7'] that are not prunable layers of the model"),
    ],
)
def test_prune_command_reports_bad_options_in_one_line(saved_model, tmp_path, capsys, options, message):
    assert main(["prune", str(saved_model), "--out", str(tmp_path / "out"), "--no-progress", *options]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out" / "model.h5").exists()


def test_prune_command_refuses_a_missing_model(tmp_path, capsys):
    assert main(["prune", str(tmp_path / "nothing.h5"), "--out", str(tmp_path / "out")]) == 2
    assert "Model file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # the command failed before creating --out
