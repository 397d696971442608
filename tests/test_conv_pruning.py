"""Pruning convolution kernels: masks of any rank, exact zeros through retraining, save / load and QAT."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from fpgacompress.calorimeter import calorimeter_images  # noqa: E402
from fpgacompress.config import TrainingConfig  # noqa: E402
from fpgacompress.errors import ConfigError  # noqa: E402
from fpgacompress.model_io import load_model, save_model  # noqa: E402
from fpgacompress.pruning import PruneSpec, PruningMask, diagonal_hessian, prune  # noqa: E402
from fpgacompress.training import train  # noqa: E402

QUICK = TrainingConfig(epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def images():
    """Small calorimeter images on a log scale (the network sees log(1 + E))."""
    data = calorimeter_images(900, image_size=8, seed=3)
    return replace(
        data, x_train=np.log1p(data.x_train), x_val=np.log1p(data.x_val), x_test=np.log1p(data.x_test)
    )


def small_cnn(seed: int = 0, *, conv1d: bool = False):
    """8x8x1 -> Conv2D(4, 3x3, relu) -> pool -> Conv2D(4, 2x2, relu) -> Flatten -> Dense(8) -> Dense(3)."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((8, 8) if conv1d else (8, 8, 1), name="input")
    layers = tf.keras.layers
    if conv1d:
        x = layers.Conv1D(4, 3, activation="relu", name="conv1")(inputs)
        x = layers.MaxPooling1D(2, name="pool1")(x)
        x = layers.Conv1D(4, 2, name="conv2")(x)
    else:
        x = layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
        x = layers.MaxPooling2D(2, name="pool1")(x)
        x = layers.Conv2D(4, 2, padding="same", name="conv2")(x)
    x = layers.Activation("relu", name="relu2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(8, activation="relu", name="fc1")(x)
    x = layers.Dense(3, name="logits")(x)
    outputs = layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inputs, outputs, name="small_cnn")


@pytest.fixture(scope="module")
def trained(images):
    model = small_cnn()
    train(model, images, TrainingConfig(epochs=8, batch_size=64), progress=False)
    return model


def _assert_honours(model, mask: PruningMask):
    assert mask.violations(model) == {}
    for name, kept in mask.masks.items():
        assert np.all(model.get_layer(name).kernel.numpy()[~kept] == 0)


def test_magnitude_pruning_zeros_conv_kernels_and_they_survive_training_and_save_load(
    trained, images, tmp_path
):
    result = prune(
        trained,
        images,
        PruneSpec(target_sparsity=0.5, max_iterations=2),
        training=QUICK,
        progress=False,
    )
    assert result.mask.masks["conv1"].shape == (3, 3, 1, 4)
    assert result.mask.sparsity == pytest.approx(0.5, abs=0.02)
    assert result.mask.layer_sparsity()["conv2"] > 0.2  # convolutions are cut, not only the Dense head
    for name in ("conv1", "conv2"):  # every filter keeps its strongest weight
        kept = result.mask.masks[name]
        assert kept.reshape(-1, kept.shape[-1]).any(axis=0).all()
    train(result.model, images, QUICK, progress=False)
    _assert_honours(result.model, result.mask)
    save_model(result.model, tmp_path / "pruned.h5")
    reloaded = load_model(tmp_path / "pruned.h5")
    train(reloaded, images, QUICK, progress=False)  # the KernelMask came back with the file
    _assert_honours(reloaded, PruningMask.load(result.mask.save(tmp_path / "mask.npz")))


@pytest.mark.slow
@pytest.mark.parametrize("criterion", ["obd"])
def test_obd_global_scope_prunes_conv1d_kernels(images, criterion):
    profiles = replace(
        images,
        x_train=images.x_train[..., 0],
        x_val=images.x_val[..., 0],
        x_test=images.x_test[..., 0],
    )  # each image row as a sequence of 8 channels
    model = small_cnn(conv1d=True)
    train(model, profiles, QUICK, progress=False)
    result = prune(
        model,
        profiles,
        PruneSpec(target_sparsity=0.4, criterion=criterion, scope="global", max_iterations=2),
        training=QUICK,
        progress=False,
    )
    assert result.mask.masks["conv1"].shape == (3, 8, 4)
    assert result.mask.sparsity == pytest.approx(0.4, abs=0.02)
    _assert_honours(result.model, result.mask)


def test_gauss_newton_diagonal_of_a_conv_kernel_matches_per_sample_gradients(trained, images):
    x = images.x_train[:6]
    hessians = diagonal_hessian(trained, x, max_samples=None)
    logits_model = tf.keras.Model(trained.inputs, trained.get_layer("logits").output)
    expected = {name: np.zeros(trained.get_layer(name).kernel.shape) for name in ("conv1", "conv2")}
    for sample in x:
        batch = tf.constant(sample[None])
        probabilities = trained(batch).numpy()[0]
        for index in range(3):
            direction = np.sqrt(probabilities[index]) * (np.eye(3)[index] - probabilities)
            with tf.GradientTape() as tape:
                projected = tf.reduce_sum(logits_model(batch) * direction)
            kernels = [trained.get_layer(name).kernel for name in expected]
            for name, gradient in zip(expected, tape.gradient(projected, kernels), strict=True):
                expected[name] += gradient.numpy() ** 2 / len(x)
    for name, value in expected.items():
        np.testing.assert_allclose(hessians[name], value, rtol=1e-4, atol=1e-9)


def test_resource_criterion_prices_every_conv_weight_as_one_product_of_its_kernel(trained, images):
    from fpgacompress.pruning.cost import product_costs

    costs = product_costs(trained)
    for name in ("conv1", "conv2"):
        kernel_shape = trained.get_layer(name).kernel.shape
        assert costs[name].lut.shape == kernel_shape and costs[name].dsp.shape == kernel_shape
        assert (costs[name].combined() > 0).all()  # every product and its adder input costs something
    result = prune(
        trained,
        images,
        PruneSpec(criterion="resource", target_sparsity=0.4, fraction_per_iteration=0.4, max_iterations=1),
        training=QUICK,
        progress=False,
    )
    kernel = result.model.get_layer("conv2").kernel.numpy()
    assert (kernel == 0).mean() >= 0.35


def test_conv_pruning_refuses_what_it_cannot_do_in_one_line(trained, images):
    with pytest.raises(ConfigError, match="convolution kernels \\(conv1, conv2\\) are not grouped yet"):
        prune(
            trained,
            images,
            {"max_iterations": 1, "hardware": {"reuse_factor": 2}},
            training=QUICK,
            progress=False,
        )


@pytest.mark.slow
def test_tfmot_prunes_conv_kernels_to_the_target_with_exact_zeros(trained, images):
    spec = PruneSpec(method="tfmot", target_sparsity=0.6, schedule={"kind": "constant", "epochs": 2})
    result = prune(trained, images, spec, training=QUICK, progress=False)
    assert result.mask.masks["conv2"].shape == (2, 2, 4, 4)
    assert result.mask.sparsity == pytest.approx(0.6, abs=0.03)
    assert result.mask.layer_sparsity()["conv1"] > 0.3
    assert [type(layer).__name__ for layer in result.model.layers].count("Conv2D") == 2  # stripped
    _assert_honours(result.model, result.mask)
