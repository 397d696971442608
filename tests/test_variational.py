"""Sparse variational dropout: the layers, thresholding, the sparse export and the stage's errors."""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.errors import ConfigError, ModelError

tf = pytest.importorskip("tensorflow")

N_FEATURES, N_RELEVANT = 8, 3


def _toy_data():
    """Four classes decided by features 0-2 only; features 3-7 are noise."""
    from fpgacompress.data import Dataset

    rng = np.random.default_rng(0)

    def split(n):
        x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
        y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0.5)
        return x, y

    names = tuple(f"f{i}" for i in range(N_FEATURES))
    return Dataset(*split(3000), *split(500), *split(1000), names, ("a", "b", "c", "d"))


@pytest.fixture(scope="module")
def toy():
    """The toy data and a float 8-16-4 model trained on it."""
    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.training import train

    data = _toy_data()
    trained = train(
        build_mlp("8-16-4", seed=0),
        data,
        TrainingConfig(epochs=10, learning_rate=1e-2, seed=0),
        progress=False,
    )
    return data, trained.model


def _spec(**values):
    from fpgacompress.variational import SparsifySpec

    settings = {"epochs": 25, "warmup_epochs": 5, "learning_rate": 1e-2, "batch_size": 128}
    return SparsifySpec(**{**settings, **values})


@pytest.fixture(scope="module")
def gated(toy):
    from fpgacompress.variational import sparsify

    data, model = toy
    return sparsify(model, data, _spec(feature_gate=True), progress=False)


@pytest.fixture(scope="module")
def plain(toy):
    from fpgacompress.variational import sparsify

    data, model = toy
    return sparsify(model, data, _spec(), progress=False)


def test_kl_approximation_uses_molchanov_constants_and_rewards_noise():
    from fpgacompress.variational.kl import K1, K2, K3, kl_divergence, negative_kl

    assert (K1, K2, K3) == (0.63576, 1.87320, 1.48695)
    log_alpha = np.array([-8.0, -2.0, 0.0, 3.0, 8.0])
    expected = K1 / (1 + np.exp(-(K2 + K3 * log_alpha))) - 0.5 * np.log1p(np.exp(-log_alpha)) - K1
    np.testing.assert_allclose(negative_kl(log_alpha), expected, rtol=1e-12)
    assert np.all(np.diff(-negative_kl(log_alpha)) < 0)  # more noise, smaller KL: the prior prunes
    assert abs(negative_kl(np.array([10.0]))[0]) < 1e-3
    assert float(kl_divergence(tf.constant(log_alpha, tf.float32))) == pytest.approx(
        -expected.sum(), rel=1e-5
    )


def test_warm_up_ramps_the_kl_weight_to_its_final_value():
    from fpgacompress.variational.kl import warm_up_weight

    assert [warm_up_weight(epoch, 4) for epoch in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warm_up_weight(0, 0, final_weight=5.0) == 5.0
    assert warm_up_weight(1, 2, final_weight=10.0) == 10.0


def _variational_model():
    from fpgacompress.variational import VariationalDense, VariationalFeatureGate

    inputs = tf.keras.Input(shape=(6,), name="input")
    x = VariationalFeatureGate(name="input_feature_gate", threshold=2.0, n_train_samples=100)(inputs)
    x = VariationalDense(5, name="fc1", threshold=2.0, n_train_samples=100, log_sigma2_initial=-6.0)(x)
    x = tf.keras.layers.Activation("relu", name="relu1")(x)
    x = VariationalDense(3, name="output", threshold=2.0, n_train_samples=100)(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Activation("softmax", name="softmax")(x))
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if hasattr(layer, "log_sigma2"):
            layer.theta.assign(rng.normal(size=layer.theta.shape).astype(np.float32))
            layer.log_sigma2.assign(rng.uniform(-6, 3, size=layer.log_sigma2.shape).astype(np.float32))
    return model


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_variational_layers_round_trip_through_save_and_load(tmp_path, suffix):
    from fpgacompress.model_io import load_model, save_model

    model = _variational_model()
    model.get_layer("fc1").kl_weight.assign(0.25)
    x = np.random.default_rng(2).normal(size=(50, 6)).astype(np.float32)
    loaded = load_model(save_model(model, tmp_path / f"vd{suffix}"))
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    for name in ("input_feature_gate", "fc1", "output"):
        assert loaded.get_layer(name).get_config() == model.get_layer(name).get_config()
        np.testing.assert_array_equal(loaded.get_layer(name).log_alpha(), model.get_layer(name).log_alpha())
    assert float(loaded.get_layer("fc1").kl_weight.numpy()) == 0.25
    assert loaded.get_layer("fc1").threshold == 2.0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_training_samples_noise_and_inference_uses_the_thresholded_means():
    model = _variational_model()
    layer = model.get_layer("fc1")
    x = tf.constant(np.random.default_rng(3).normal(size=(64, 6)).astype(np.float32))
    first, second = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert not np.array_equal(first, second)  # local reparameterization: a fresh draw per call
    keep = layer.log_alpha() < 2.0
    assert 0 < keep.sum() < keep.size
    expected = x.numpy() @ np.where(keep, layer.theta.numpy(), 0) + layer.bias.numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)
    # The layer's loss is the KL term divided by the training-set size (times the warm-up weight).
    from fpgacompress.variational.kl import negative_kl

    layer.kl_weight.assign(0.5)
    layer(x, training=True)
    expected_loss = 0.5 * -negative_kl(layer.log_alpha()).sum() / 100
    assert [float(loss) for loss in layer.losses] == pytest.approx([expected_loss], rel=1e-4)


def test_irrelevant_inputs_end_with_large_log_alpha_and_are_removed(gated):
    gate = gated.layers["input_feature_gate"]
    assert np.all(gate.log_alpha[:N_RELEVANT] < 0)
    assert np.all(gate.log_alpha[N_RELEVANT:] > gated.threshold)
    assert gated.kept_features == ("f0", "f1", "f2")
    first_kernel = gated.model.get_layer("fc1").kernel.numpy()
    assert np.all(first_kernel[N_RELEVANT:] == 0) and np.any(first_kernel[:N_RELEVANT] != 0)
    assert gated.metrics_thresholded.accuracy >= 0.95  # the task is learnable from f0-f2 alone
    assert gated.export_max_abs_difference < 1e-5  # gates folded into fc1's rows: one more rounding


def test_without_gate_irrelevant_rows_still_carry_the_larger_log_alpha(plain):
    relevance = np.asarray(plain.feature_log_alpha)
    assert relevance[N_RELEVANT:].min() > relevance[:N_RELEVANT].max()
    assert plain.mask.sparsity > 0.3
    assert plain.layers["fc1"].sparsity == pytest.approx(plain.mask.layer_sparsity()["fc1"])


def test_export_equals_the_thresholded_variational_model_bit_for_bit(toy, plain):
    from fpgacompress.pruning.mask import KernelMask

    data, _ = toy
    exported = plain.model.predict(data.x_test, batch_size=4096, verbose=0)
    variational = plain.variational_model.predict(data.x_test, batch_size=4096, verbose=0)
    assert plain.export_max_abs_difference == 0.0
    np.testing.assert_array_equal(exported, variational)
    assert {type(layer).__name__ for layer in plain.model.layers} <= {"InputLayer", "Dense", "Activation"}
    for name, mask in plain.mask.masks.items():
        layer = plain.model.get_layer(name)
        assert np.array_equal(layer.kernel.numpy() != 0, mask)
        assert isinstance(layer.kernel.constraint, KernelMask) or mask.all()


def test_zeros_survive_quantization_aware_training(toy, plain):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.quantization import QuantizationSpec, quantization_aware_training
    from fpgacompress.quantization.convert import quantized_kernel

    data, _ = toy
    result = quantization_aware_training(
        plain.model, QuantizationSpec.uniform(6), data, TrainingConfig(epochs=1, seed=0), progress=False
    )
    for name, mask in plain.mask.masks.items():
        layer = result.model.get_layer(name)
        assert np.all(layer.kernel.numpy()[~mask] == 0)
        assert np.all(quantized_kernel(layer)[~mask] == 0)


def test_run_directory_holds_model_mask_report_and_plots(toy, tmp_path):
    import json

    from fpgacompress.model_io import load_model
    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.variational import sparsify

    data, model = toy
    result = sparsify(model, data, _spec(epochs=2, warmup_epochs=1), run_dir=tmp_path, progress=False)
    for name in (
        "model.h5",
        "variational_model.h5",
        "mask.npz",
        "sparsify.json",
        "log_alpha.png",
        "feature_relevance.png",
    ):
        assert (tmp_path / name).is_file(), name
    assert PruningMask.load(tmp_path / "mask.npz").masks.keys() == result.mask.masks.keys()
    report = json.loads((tmp_path / "sparsify.json").read_text())
    assert set(report["layers"]) == {"fc1", "output"}
    assert set(report["metrics"]) == {"before", "unthresholded", "thresholded", "fine_tuned"}
    reloaded = load_model(tmp_path / "model.h5")
    np.testing.assert_array_equal(
        reloaded.predict(data.x_test[:100], verbose=0), result.model.predict(data.x_test[:100], verbose=0)
    )


def test_cosine_schedule_settles_the_variational_rate_and_fine_tuning_keeps_the_zeros(toy):
    from fpgacompress.pruning.mask import PruningMask
    from fpgacompress.variational import sparsify

    data, model = toy
    spec = _spec(epochs=3, warmup_epochs=1, fine_tune_epochs=2, learning_rate_schedule="cosine")
    result = sparsify(model, data, spec, progress=False)
    rates = result.history["lr"]
    assert rates[0] == pytest.approx(1e-2) and rates[-1] == pytest.approx(1e-4)  # half cosine to 1 %
    assert rates == sorted(rates, reverse=True)
    assert result.metrics_fine_tuned is not None
    assert not result.mask.violations(result.model)
    assert PruningMask.from_model(result.model).n_kept == result.mask.n_kept


def test_a_model_without_dense_layers_is_refused(toy):
    from fpgacompress.variational import sparsify

    data, _ = toy
    inputs = tf.keras.Input(shape=(N_FEATURES,))
    model = tf.keras.Model(inputs, tf.keras.layers.Activation("softmax")(inputs))
    with pytest.raises(ModelError, match="no Dense layer to sparsify"):
        sparsify(model, data, _spec(epochs=1), progress=False)


def test_a_threshold_that_empties_a_layer_is_refused_or_keeps_the_best_weight_per_output():
    from fpgacompress.variational import threshold_mask

    model = _variational_model()
    layer = model.get_layer("output")
    layer.log_sigma2.assign(np.full(layer.log_sigma2.shape, 9.0, np.float32))
    layer.theta.assign(np.full(layer.theta.shape, 0.01, np.float32))
    with pytest.raises(ModelError, match="removes every weight of layer 'output'.*keep_best_per_output"):
        threshold_mask(model, 2.0)
    mask, layers = threshold_mask(model, 2.0, on_empty_layer="keep_best_per_output")
    assert mask.masks["output"].sum(axis=0).tolist() == [1, 1, 1]
    assert layers["output"].n_fallback == 3


def test_non_finite_log_alpha_is_an_error():
    from fpgacompress.variational import threshold_mask

    model = _variational_model()
    theta = model.get_layer("fc1").theta
    theta.assign(tf.tensor_scatter_nd_update(theta, [[0, 0]], [np.nan]))
    with pytest.raises(ModelError, match="non-finite log alpha.*diverged"):
        threshold_mask(model, 3.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threshold": float("inf")}, "threshold must be a log alpha"),
        ({"epochs": 0}, "epochs"),
        ({"on_empty_layer": "drop"}, "on_empty_layer"),
        ({"kl_scale": 0}, "kl_scale"),
        ({"target_sparsity": 1.0}, "target_sparsity"),
        ({"epoch": 3}, "epoch: unknown key"),
    ],
)
def test_bad_spec_values_are_one_config_error(values, message):
    from fpgacompress.variational import SparsifySpec

    with pytest.raises(ConfigError, match=message):
        SparsifySpec(**values)


def test_a_gate_that_removes_every_feature_is_refused_or_keeps_the_most_relevant_one():
    from fpgacompress.variational import threshold_mask

    model = _variational_model()
    gate = model.get_layer("input_feature_gate")
    gate.log_sigma2.assign(np.zeros(gate.log_sigma2.shape, np.float32))
    gate.theta.assign(np.linspace(0.01, 0.02, 6).astype(np.float32))  # log alpha from 9.2 down to 7.8
    with pytest.raises(ModelError, match="every weight of layer 'input_feature_gate'"):
        threshold_mask(model, 2.0)
    mask, _ = threshold_mask(model, 2.0, on_empty_layer="keep_best_per_output")
    assert mask.masks["input_feature_gate"].tolist() == [False] * 5 + [True]  # the largest theta: least noise


def test_a_quantized_model_is_refused(toy):
    from fpgacompress.quantization import QuantizationSpec, quantize
    from fpgacompress.variational import to_variational

    _, model = toy
    with pytest.raises(ModelError, match="already quantized.*sparsify the float model"):
        to_variational(quantize(model, QuantizationSpec.uniform(6)), n_train_samples=100)


def test_target_sparsity_removes_the_noisiest_weights_over_all_dense_layers_and_keeps_the_gate_cut():
    from fpgacompress.variational import threshold_for_sparsity, threshold_mask

    model = _variational_model()  # fc1 6x5 + output 5x3 = 45 Dense weights; the gate cuts at 2.0
    dense_log_alpha = np.concatenate([model.get_layer(name).log_alpha().ravel() for name in ("fc1", "output")])
    assert threshold_for_sparsity(model, 0.6) == pytest.approx(np.sort(dense_log_alpha)[::-1][26])  # 27 = 0.6 * 45
    cut = threshold_for_sparsity(model, 0.61)  # at least 61 %: 28 of 45 removed (27.45 rounded up)
    assert cut == pytest.approx(np.sort(dense_log_alpha)[::-1][27])
    mask, layers = threshold_mask(model, 2.0, target_sparsity=0.61)
    kept = mask.masks["fc1"].sum() + mask.masks["output"].sum()
    assert kept == 45 - 28
    noisiest_kept = max(
        model.get_layer(name).log_alpha()[mask.masks[name]].max() for name in ("fc1", "output")
    )
    assert noisiest_kept < cut  # every removed weight is noisier than every kept one
    gate = model.get_layer("input_feature_gate")
    np.testing.assert_array_equal(mask.masks["input_feature_gate"], gate.log_alpha() < 2.0)
    assert layers["fc1"].threshold == pytest.approx(cut) and layers["input_feature_gate"].threshold == 2.0
    assert model.get_layer("output").threshold == pytest.approx(cut)  # inference follows the mask


def test_sparsify_reaches_the_target_sparsity_and_the_export_matches(toy):
    from fpgacompress.variational import sparsify

    data, model = toy
    result = sparsify(model, data, _spec(epochs=3, warmup_epochs=1, target_sparsity=0.8), progress=False)
    assert 0.8 <= result.mask.sparsity < 0.8 + 1 / result.mask.n_weights
    assert result.export_max_abs_difference == 0.0
    assert result.threshold == pytest.approx(result.layers["fc1"].threshold)
