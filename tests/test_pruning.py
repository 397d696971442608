"""Pruning a trained tagger: exact zeros through training and save/load, target, budget, TF-MOT, QKeras."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from fpgacompress.errors import ConfigError, DataError
from fpgacompress.metrics import evaluate
from fpgacompress.model_io import load_model, save_model
from fpgacompress.models import build_mlp
from fpgacompress.pruning.api import prune
from fpgacompress.pruning.mask import PruningMask, prunable_layers
from fpgacompress.pruning.spec import PruneSpec
from fpgacompress.pruning.tfmot import strip, wrap_for_pruning
from fpgacompress.recipe import TrainingConfig
from fpgacompress.regularizers import L1
from fpgacompress.training import train

QUICK = TrainingConfig(epochs=2, batch_size=256, early_stopping_patience=None, seed=0)


@pytest.fixture(scope="module")
def trained(small_jets):
    data, _ = small_jets
    model = build_mlp("16-32-16-5", regularizer=L1(1e-4), seed=0)
    return train(model, data, QUICK, progress=False).model


def _kernel_zeros(model) -> dict[str, np.ndarray]:
    return {layer.name: layer.kernel.numpy() == 0 for layer in prunable_layers(model)}


def _assert_honours(model, mask: PruningMask):
    for name, zeros in _kernel_zeros(model).items():
        assert np.array_equal(zeros[~mask.masks[name]], np.ones((~mask.masks[name]).sum(), dtype=bool)), name


def test_iterative_reaches_target_and_zeros_survive_training_and_save_load(trained, small_jets, tmp_path):
    data, scaler = small_jets
    spec = PruneSpec(
        target_sparsity=0.8, fraction_per_iteration=0.5, epochs_per_iteration=1, max_iterations=5
    )
    result = prune(
        trained, data, spec, training=QUICK, standardizer=scaler, run_dir=tmp_path / "run", progress=False
    )

    assert abs(result.mask.sparsity - 0.8) <= 0.01
    assert result.stop_reason == "reached target_sparsity=0.8"
    assert [record.iteration for record in result.records] == [0, 1, 2, 3]
    assert result.mask.violations(result.model) == {}
    assert PruningMask.from_model(result.model).n_kept == result.mask.n_kept  # zeros == mask, exactly
    for kept in result.mask.masks.values():
        assert kept.any(axis=0).all()

    saved_weights = result.model.get_weights()
    retrained = train(
        result.model, data, QUICK, progress=False
    ).model  # the KernelMask keeps pushing zeros back
    _assert_honours(retrained, result.mask)
    assert np.count_nonzero(retrained.get_layer("fc1").kernel.numpy()) > 0

    reloaded = load_model(tmp_path / "run" / "model.h5")
    assert all(np.array_equal(a, b) for a, b in zip(reloaded.get_weights(), saved_weights, strict=True))
    train(reloaded, data, QUICK, progress=False)  # the constraint came back with the file
    _assert_honours(reloaded, PruningMask.load(tmp_path / "run" / "mask.npz"))

    written = json.loads((tmp_path / "run" / "records.json").read_text())
    assert written["sparsity"] == result.final.sparsity and len(written["records"]) == 4
    assert (tmp_path / "run" / "model.preprocessing.json").is_file()
    assert {f"weights_iteration_0{index}.png" for index in range(4)} <= {
        p.name for p in (tmp_path / "run").iterdir()
    }


def test_budget_stop_returns_the_last_model_within_budget(trained, small_jets):
    data, _ = small_jets
    spec = PruneSpec(
        target_sparsity=0.94,
        fraction_per_iteration=0.4,
        epochs_per_iteration=1,
        accuracy_budget={"max_drop": 0.01},
    )
    result = prune(trained, data, spec, training=QUICK, progress=False)

    assert result.stop_reason.startswith(
        "accuracy budget (at most 1.00 points of validation accuracy) exceeded"
    )
    over = result.records[-1]
    assert not over.within_budget and over.val_accuracy < result.baseline.val_accuracy - 0.01
    assert result.final is result.records[-2] and result.final.within_budget and result.final.iteration >= 1
    returned_accuracy = evaluate(result.model, data.x_val, data.y_val, data.class_names).accuracy
    assert returned_accuracy == result.final.val_accuracy
    assert result.mask.sparsity == result.final.sparsity < over.sparsity


@pytest.mark.parametrize("schedule", ["constant", pytest.param("polynomial", marks=pytest.mark.slow)])
def test_tfmot_reaches_target_with_plain_layers_and_exact_zeros(trained, small_jets, schedule):
    data, _ = small_jets
    spec = PruneSpec(
        method="tfmot", target_sparsity=0.75, schedule={"kind": schedule, "epochs": 3, "frequency_steps": 5}
    )
    result = prune(trained, data, spec, training=QUICK, progress=False)

    assert abs(result.mask.sparsity - 0.75) <= 0.01
    assert [type(layer).__name__ for layer in result.model.layers] == [
        "InputLayer",
        "Dense",
        "Activation",
        "Dense",
        "Activation",
        "Dense",
        "Activation",
    ]
    assert result.mask.violations(result.model) == {}
    assert [record.iteration for record in result.records] == [0, 1, 2, 3]
    assert sum(record.epochs_trained for record in result.records) == 3
    _assert_honours(train(result.model, data, QUICK, progress=False).model, result.mask)


def test_strip_gives_plain_layers_holding_the_tfmot_mask(trained, small_jets):
    import tensorflow_model_optimization as tfmot

    data, _ = small_jets
    spec = PruneSpec(method="tfmot", schedule={"kind": "constant", "epochs": 1})
    wrapped = wrap_for_pruning(trained, {"fc1": 0.5, "fc2": 0.5}, spec.schedule, steps_per_epoch=16)
    wrapped.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    wrapped.fit(
        data.x_train,
        data.y_train,
        batch_size=256,
        epochs=1,
        verbose=0,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
    )
    masks = {
        layer.layer.name: layer.pruning_vars[0][1].numpy()
        for layer in wrapped.layers
        if hasattr(layer, "pruning_vars")
    }

    plain = strip(wrapped)
    assert [layer.name for layer in plain.layers] == [layer.name for layer in trained.layers]
    assert not any("PruneLowMagnitude" in type(layer).__name__ for layer in plain.layers)
    for name, mask in masks.items():
        kernel = plain.get_layer(name).kernel.numpy()
        assert np.array_equal(kernel == 0, mask == 0)
        assert (mask == 0).mean() == pytest.approx(0.5, abs=0.01)


def _qkeras_tagger():
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    inputs = tf.keras.Input(shape=(16,), name="input")
    x = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(inputs)
    x = QDense(
        32,
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        kernel_regularizer=L1(1e-4),
        name="fc1",
    )(x)
    x = QActivation(quantized_relu(6), name="relu1")(x)
    x = QDense(
        5,
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        kernel_regularizer=L1(1e-4),
        name="output",
    )(x)
    outputs = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inputs, outputs, name="qtagger")


@pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize\\(\\)` API:UserWarning")
@pytest.mark.parametrize("method", ["iterative", pytest.param("tfmot", marks=pytest.mark.slow)])
def test_qkeras_dense_layers_are_pruned_and_keep_zeros_through_save_load(small_jets, tmp_path, method):
    data = small_jets[0].subsample(max_train=1500, max_test=500, seed=0)
    one_epoch = QUICK.model_copy(update={"epochs": 1})
    model = train(_qkeras_tagger(), data, one_epoch, progress=False).model
    spec = PruneSpec(
        method=method,
        target_sparsity=0.5,
        fraction_per_iteration=0.5,
        epochs_per_iteration=1,
        schedule={"kind": "constant", "epochs": 1, "frequency_steps": 2},
    )
    result = prune(model, data, spec, training=one_epoch, progress=False)

    assert [type(layer).__name__ for layer in prunable_layers(result.model)] == ["QDense", "QDense"]
    assert abs(result.mask.sparsity - 0.5) <= 0.01
    retrained = train(result.model, data, one_epoch, progress=False).model
    _assert_honours(retrained, result.mask)
    save_model(retrained, tmp_path / "retrained.h5")
    reloaded = load_model(tmp_path / "retrained.h5")
    assert type(reloaded.get_layer("fc1")).__name__ == "QDense"
    _assert_honours(reloaded, result.mask)
    assert np.array_equal(
        reloaded.predict(data.x_test[:200], verbose=0), retrained.predict(data.x_test[:200], verbose=0)
    )


def test_impossible_requests_raise_clear_errors(trained, small_jets):
    data, _ = small_jets
    with pytest.raises(ConfigError, match=r"names layer\(s\) \['fc4'\] that are not prunable layers"):
        prune(trained, data, PruneSpec(exclude=("fc4",)), training=QUICK, progress=False)
    with pytest.raises(ConfigError, match=r"target_sparsity must be a float in \[0, 1\)"):
        prune(trained, data, {"target_sparsity": 1.0}, training=QUICK, progress=False)
    with pytest.raises(DataError, match="expects 16 input features but the data have 3"):
        prune(
            trained, data.select_features(data.feature_names[:3]), PruneSpec(), training=QUICK, progress=False
        )
