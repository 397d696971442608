"""Quantization-aware training keeps pruned zeros; QKeras models and their quantizers survive save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgacompress.quantization.spec import QuantizationSpec
from fpgacompress.recipe import TrainingConfig

# QKeras quantizers are not Keras Constraint objects; Keras warns when it serializes them (harmless).
pytestmark = pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize:UserWarning")


@pytest.fixture(scope="module")
def pruned_model(small_jets):
    """A briefly trained 16-32-16-5 tagger with 80 % of every kernel pruned by magnitude and retrained."""
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning.mask import PruningMask, apply_mask
    from fpgacompress.training import train

    data, _ = small_jets
    model = train(
        build_mlp("16-32-16-5", seed=0), data, TrainingConfig(epochs=3, batch_size=128), progress=False
    ).model
    masks = {}
    for layer in model.layers:
        if getattr(layer, "kernel", None) is not None:
            kernel = np.abs(layer.kernel.numpy())
            masks[layer.name] = kernel >= np.quantile(kernel, 0.8)
    return train(
        apply_mask(model, PruningMask(masks)), data, TrainingConfig(epochs=1, batch_size=128), progress=False
    ).model


@pytest.mark.parametrize("weight_kind", ["fixed", pytest.param("ternary", marks=pytest.mark.slow)])
def test_every_zero_survives_qat_and_save_load(pruned_model, small_jets, tmp_path, weight_kind):
    from fpgacompress.model_io import load_model
    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.quantization import quantization_aware_training
    from fpgacompress.quantization.convert import quantized_kernel

    data, scaler = small_jets
    mask = PruningMask.from_model(pruned_model)
    assert mask.sparsity >= 0.79
    spec = QuantizationSpec.uniform(6, 1, weight_kind=weight_kind, activation_integer=3)
    result = quantization_aware_training(
        pruned_model,
        spec,
        data,
        TrainingConfig(epochs=2, batch_size=128, early_stopping_patience=None),
        standardizer=scaler,
        run_dir=tmp_path / "run",
        progress=False,
    )
    assert result.training.epochs_run == 2
    assert mask.violations(result.model) == {}
    assert result.training.metrics.accuracy > 0.3  # it learns: five classes, chance is 0.2

    reloaded = load_model(tmp_path / "run" / "model.h5")
    assert mask.violations(reloaded) == {}
    for name, kept in mask.masks.items():
        layer = reloaded.get_layer(name)
        assert type(layer).__name__ == "QDense"
        assert np.all(layer.kernel.numpy()[~kept] == 0.0)
        assert np.all(quantized_kernel(layer)[~kept] == 0.0)
        assert str(layer.kernel_quantizer_internal) == str(
            result.model.get_layer(name).kernel_quantizer_internal
        )
    assert str(reloaded.get_layer("relu1").quantizer) == "quantized_relu(6,3)"
    assert str(reloaded.get_layer("input_quantizer").quantizer) == "quantized_bits(16,5,0,alpha=1)"
    # the reloaded QKeras model computes exactly what was trained
    np.testing.assert_array_equal(
        reloaded.predict(data.x_test[:500], verbose=0), result.model.predict(data.x_test[:500], verbose=0)
    )

    # ... and a further round of training from the reloaded file still cannot regrow a pruned weight
    from fpgacompress.training import train

    train(reloaded, data, TrainingConfig(epochs=1), progress=False)
    assert mask.violations(reloaded) == {}

    written = json.loads((tmp_path / "run" / "quantization_report.json").read_text())
    assert written["total_bops"] == result.report.total_bops
    assert (tmp_path / "run" / "quantization_spec.yaml").is_file()


def test_qat_keeps_the_epoch_of_lowest_validation_loss_with_zeros_held(pruned_model, small_jets):
    import tensorflow as tf

    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.quantization import quantization_aware_training

    data, _ = small_jets
    spec = QuantizationSpec.uniform(6, 1, activation_integer=3)
    # a rate far too high for 6-bit weights: the validation loss wanders, so the last epoch is not the best
    config = TrainingConfig(epochs=4, batch_size=64, learning_rate=2.0, early_stopping_patience=None)
    result = quantization_aware_training(pruned_model, spec, data, config, progress=False)
    losses = result.training.history["val_loss"]
    assert result.training.epochs_run == 4 and int(np.argmin(losses)) != len(losses) - 1, losses
    result.model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy())
    kept = result.model.evaluate(data.x_val, data.y_val, batch_size=1024, verbose=0)
    assert kept == pytest.approx(min(losses), rel=1e-4)
    assert PruningMask.from_model(pruned_model).violations(result.model) == {}


def test_cli_quantize_suggests_precision_and_writes_the_run(pruned_model, tmp_path):
    from fpgacompress.cli import main
    from fpgacompress.model_io import load_model, save_model
    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.quantization.spec import load_spec

    model_path = save_model(pruned_model, tmp_path / "pruned.h5")
    out = tmp_path / "quantized"
    arguments = [
        "quantize",
        str(model_path),
        "--bits",
        "8",
        "--suggest",
        "--weight-quantile",
        "0.99",
        "--epochs",
        "1",
        "--max-train",
        "2000",
    ]
    code = main([*arguments, "--out", str(out), "--no-progress"])
    assert code == 0
    spec = load_spec(out / "quantization_spec.yaml")
    assert spec.layer_name["fc1"].weight.bits == 8
    assert PruningMask.from_model(pruned_model).violations(load_model(out / "model.h5")) == {}


def test_cli_quantize_errors_are_one_line(pruned_model, tmp_path, capsys):
    from fpgacompress.cli import main
    from fpgacompress.model_io import save_model

    model_path = save_model(pruned_model, tmp_path / "pruned.h5")
    assert main(["quantize", str(model_path), "--out", str(tmp_path / "a")]) == 2
    assert "No precision given: pass --spec FILE, or --bits N" in capsys.readouterr().err
    assert (
        main(
            ["quantize", str(model_path), "--bits", "4", "--weights", "binary", "--out", str(tmp_path / "b")]
        )
        == 2
    )
    assert "binary weights have no zero" in capsys.readouterr().err
    spec = tmp_path / "spec.yaml"
    spec.write_text("layer_name:\n  fc7:\n    weight: {bits: 6}\n")
    assert main(["quantize", str(model_path), "--spec", str(spec), "--out", str(tmp_path / "c")]) == 2
    assert "names layer(s) ['fc7']" in capsys.readouterr().err
    arguments = ["quantize", str(model_path), "--bits", "6", "--suggest", "--weight-quantile", "1.5"]
    assert main([*arguments, "--out", str(tmp_path / "d")]) == 2
    assert "--weight-quantile must be in (0, 1]; received 1.5" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
