"""AutoPruner over convolution filters: exact top-k filter masks, a physically smaller exported CNN."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from fpgacompress.autopruning import (  # noqa: E402
    AutoPruneSpec,
    autoprune,
    harden_node_masks,
    insert_filter_masks,
    reduce_filter_network,
)
from fpgacompress.calorimeter import calorimeter_images  # noqa: E402
from fpgacompress.config import TrainingConfig  # noqa: E402
from fpgacompress.errors import ConfigError, ModelError  # noqa: E402
from fpgacompress.model_io import load_model, save_model  # noqa: E402


@pytest.fixture(scope="module")
def images():
    data = calorimeter_images(900, image_size=8, seed=5)
    return replace(
        data, x_train=np.log1p(data.x_train), x_val=np.log1p(data.x_val), x_test=np.log1p(data.x_test)
    )


def cnn(*, batch_norm: bool = False, global_pool: bool = False):
    """8x8x1 -> Conv2D(4) [-> BN] -> relu -> pool -> Conv2D(4, same) -> relu -> Flatten|GAP -> Dense(8) -> Dense(3)."""
    tf.keras.utils.set_random_seed(1)
    layers = tf.keras.layers
    inputs = tf.keras.Input((8, 8, 1), name="input")
    x = layers.Conv2D(4, 3, name="conv1")(inputs)
    if batch_norm:
        x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.ZeroPadding2D(1, name="pad2")(x)
    x = layers.Conv2D(4, 2, activation="relu", name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x) if global_pool else layers.Flatten(name="flatten")(x)
    x = layers.Dense(8, activation="relu", name="fc1")(x)
    outputs = layers.Dense(3, activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, outputs, name="cnn")


def _randomized(model, seed: int):
    """Non-trivial weights and batch-norm statistics, so an export error cannot hide behind zeros."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            values = [rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in weights]
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                values[-1] = np.abs(values[-1]) + 0.5  # a variance is positive
            layer.set_weights(values)
    return model


@pytest.mark.parametrize("batch_norm, global_pool", [(False, False), (True, False), (True, True)])
def test_exported_cnn_drops_filters_and_next_inputs_and_equals_the_hard_masked_model(
    images, batch_norm, global_pool
):
    model = _randomized(cnn(batch_norm=batch_norm, global_pool=global_pool), seed=2)
    masked = insert_filter_masks(model, {"conv1": 2, "conv2": 3, "fc1": 5})
    for mask in [layer for layer in masked.layers if type(layer).__name__ == "NodeMask"]:
        mask.scores.assign(np.random.default_rng(3).normal(size=mask.width).astype(np.float32))
    harden_node_masks(masked)
    reduction = reduce_filter_network(masked)
    reduced = reduction.model
    assert reduced.get_layer("conv1").kernel.shape == (3, 3, 1, 2)
    assert reduced.get_layer("conv2").kernel.shape == (2, 2, 2, 3)  # its inputs: conv1's two filters
    fc1_inputs = 3 if global_pool else 4 * 4 * 3  # Flatten: 4x4 positions x 3 kept channels
    assert reduced.get_layer("fc1").kernel.shape == (fc1_inputs, 5)
    assert reduced.get_layer("output").kernel.shape == (5, 3)
    assert len(reduction.kept_nodes["conv1"]) == 2 and len(reduction.kept_nodes["conv2"]) == 3
    assert not any(type(layer).__name__ == "NodeMask" for layer in reduced.layers)
    x = images.x_test[:200]
    np.testing.assert_allclose(
        reduced.predict(x, verbose=0), masked.predict(x, verbose=0), rtol=1e-4, atol=1e-5
    )


def test_soft_masks_and_layers_that_do_not_fit_are_refused(images):
    masked = insert_filter_masks(cnn(), {"conv1": 2})
    with pytest.raises(ModelError, match="still soft"):
        reduce_filter_network(masked)
    layers = tf.keras.layers
    sequential = tf.keras.Sequential(
        [
            tf.keras.Input((8, 8, 1)),
            layers.Conv2D(4, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(4, 2, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(8, activation="relu", name="fc1"),
            layers.Dense(3, activation="softmax", name="output"),
        ]
    )
    _randomized(sequential, seed=4)
    masked = insert_filter_masks(sequential, {"conv2": 1})  # a Sequential model lists no InputLayer
    harden_node_masks(masked)
    reduced = reduce_filter_network(masked).model
    assert reduced.get_layer("fc1").kernel.shape == (1, 8)  # 1x1 position x 1 kept filter
    x = images.x_test[:50]
    np.testing.assert_allclose(
        reduced.predict(x, verbose=0), masked.predict(x, verbose=0), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ModelError, match=r"not maskable layers of 'cnn' \(conv1, conv2, fc1\)"):
        insert_filter_masks(cnn(), {"output": 2})
    with pytest.raises(ConfigError, match="keep_features selects input features of a flat MLP"):
        autoprune(cnn(), images, AutoPruneSpec(keep=0.5, keep_features=1), progress=False)
    with pytest.raises(ConfigError, match=r"keep\['conv1'\]"):
        autoprune(cnn(), images, AutoPruneSpec(keep={"conv1": 5}), progress=False)


@pytest.mark.slow
def test_autoprune_keeps_the_asked_filters_and_the_reduced_cnn_trains_and_saves(images, tmp_path):
    spec = AutoPruneSpec(keep={"conv1": 2, "conv2": 2}, soft_epochs=4, hard_epochs=1, retrain="fine_tune")
    result = autoprune(
        cnn(),
        images,
        spec,
        training=TrainingConfig(epochs=3, batch_size=64),
        run_dir=tmp_path,
        progress=False,
    )
    assert result.keep_counts == {"conv1": 2, "conv2": 2}
    assert result.reduced_model.get_layer("conv2").kernel.shape == (2, 2, 2, 2)
    assert result.reduced_model.get_layer("fc1").kernel.shape == (4 * 4 * 2, 8)
    assert result.topology == "8x8x1-conv1:2-conv2:2-fc1:8-output:3"
    assert result.export_max_abs_difference < 1e-4
    assert result.metrics_final.accuracy > 0.5  # chance is 1/3
    reloaded = load_model(tmp_path / "model.h5")
    np.testing.assert_array_equal(
        reloaded.predict(images.x_test, verbose=0), result.reduced_model.predict(images.x_test, verbose=0)
    )
    save_model(result.masked_model, tmp_path / "again.h5")  # the masked model round-trips too
    assert load_model(tmp_path / "again.h5").get_layer("conv1_node_mask").hard


def test_autoprune_cli_on_a_cnn_reports_filters_kept(images, tmp_path, capsys):
    from fpgacompress.cli import main

    save_model(cnn(), tmp_path / "cnn.h5")
    data_file = tmp_path / "clusters.npz"
    np.savez(data_file, X=np.concatenate([images.x_train, images.x_test]), y=np.concatenate([images.y_train, images.y_test]))
    arguments = ["autoprune", str(tmp_path / "cnn.h5"), "--data", str(data_file), "--keep", "conv1=2,conv2=3"]
    code = main([*arguments, "--soft-epochs", "2", "--hard-epochs", "1", "--epochs", "2", "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "conv1: 2 of 4 filters kept" in printed and "conv2: 3 of 4 filters kept" in printed
    assert load_model(tmp_path / "out" / "model.h5").get_layer("conv2").kernel.shape == (2, 2, 2, 3)
