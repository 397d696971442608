"""``fpgacompress sparsify`` and the recipe's ``sparsify`` stage, down to a bit-exact C-simulation."""

from __future__ import annotations

import json

import pytest
import yaml

from fpgacompress.cli import main


@pytest.fixture(scope="module")
def saved_tagger(tmp_path_factory, small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.model_io import save_model
    from fpgacompress.models import build_mlp
    from fpgacompress.training import train

    data, scaler = small_jets
    trained = train(build_mlp("16-16-8-5", seed=0), data, TrainingConfig(epochs=3, seed=0), progress=False)
    path = tmp_path_factory.mktemp("tagger") / "model.h5"
    save_model(trained.model, path, standardizer=scaler)
    return path


def test_model_without_dense_layers_exits_2_with_one_line(tmp_path, capsys):
    import tensorflow as tf

    from fpgacompress.model_io import save_model

    inputs = tf.keras.Input(shape=(16,), name="input")
    model = tf.keras.Model(inputs, tf.keras.layers.Activation("softmax", name="softmax")(inputs))
    path = save_model(model, tmp_path / "no_dense.h5")
    code = main(["sparsify", str(path), "--epochs", "1", "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("error: ")
    assert "has no Dense layer to sparsify" in error and "softmax (Activation)" in error
    assert not (tmp_path / "out").exists()


def test_bad_threshold_exits_2_before_training(saved_tagger, tmp_path, capsys):
    code = main(["sparsify", str(saved_tagger), "--threshold", "nan", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "threshold must be a log alpha in (-10, 10)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_target_sparsity_outside_0_1_exits_2_before_training(saved_tagger, tmp_path, capsys):
    code = main(["sparsify", str(saved_tagger), "--target-sparsity", "95", "--out", str(tmp_path / "out")])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error:") and "target_sparsity" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_sparsify_command_writes_sparse_model_mask_and_report(saved_tagger, tmp_path, capsys):
    from fpgacompress.model_io import load_model, load_standardizer
    from fpgacompress.pruning.mask import PruningMask

    out = tmp_path / "vd"
    code = main(
        [
            "sparsify", str(saved_tagger), "--epochs", "3", "--warmup-epochs", "1", "--learning-rate", "0.01",
            "--kl-scale", "20", "--target-sparsity", "0.9", "--max-train", "2000", "--out", str(out),
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "of weights removed" in printed and "fc1:" in printed and "test after threshold" in printed
    report = json.loads((out / "sparsify.json").read_text())
    assert report["export_max_abs_difference"] == 0.0
    assert set(report["layers"]) == {"fc1", "fc2", "output"}
    model = load_model(out / "model.h5")
    mask = PruningMask.load(out / "mask.npz")
    assert mask.sparsity == pytest.approx(report["sparsity"]) and 0.9 <= mask.sparsity < 0.91
    assert mask.violations(model) == {}
    assert PruningMask.from_model(model).sparsity == pytest.approx(mask.sparsity)
    assert load_standardizer(out / "model.h5") is not None
    assert (out / "log_alpha.png").is_file() and (out / "feature_relevance.png").is_file()


SPARSIFY_RECIPE = {
    "name": "tiny-vd",
    "data": {"max_train": 3000, "max_test": 1000},
    "model": {"topology": "16-16-8-5"},
    "regularization": {"kind": "none"},
    "training": {"epochs": 3, "batch_size": 256, "early_stopping_patience": None},
    "sparsify": {
        "epochs": 4,
        "warmup_epochs": 1,
        "learning_rate": 0.01,
        "kl_scale": 20,
        "fine_tune_epochs": 1,
    },
    "quantization": {
        "epochs": 2,
        "precision": {
            "input": {"bits": 12, "integer": 4},
            "default": {
                "weight": {"bits": 6, "integer": 0},
                "bias": {"bits": 8, "integer": 3},
                "activation": {"bits": 8, "integer": 3},
            },
        },
    },
    "build": {"board": "serenity-vu13p", "clock_mhz": 360, "n_testbench_samples": 200},
}


@pytest.mark.slow
def test_recipe_sparsify_stage_reaches_a_bit_exact_firmware(tmp_path):
    from fpgacompress.runner import run

    recipe = tmp_path / "vd.yaml"
    recipe.write_text(yaml.safe_dump(SPARSIFY_RECIPE))
    result = run(recipe, tmp_path / "run", progress=False)
    assert list(result.stages) == ["train", "sparsify", "quantize", "build", "csim", "report"]
    sparse = result.stages["sparsify"].results
    assert sparse["sparsity"] > 0.3 and sparse["export_max_abs_difference"] == 0.0
    assert result.stages["quantize"].results["sparsity"] >= sparse["sparsity"]  # QAT kept every zero
    assert result.csim["bit_exact"] and result.csim["n_samples"] == 200
    assert result.report["totals"]["latency_cycles"] > 0
    assert (result.run_dir / "sparsify" / "mask.npz").is_file()
    assert "| sparsify |" in result.summary_path.read_text()
