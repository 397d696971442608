"""Convolutional networks before anything is compiled: layer kinds, data of any shape, refusals.

Fast: tiny models, nothing trained or compiled (g++ runs in tests/test_csim_conv.py). Every refusal
is one ``error:`` line and exit code 2 from the CLI, with nothing written.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.cli import main
from fpgacompress.data import Standardizer, load_jets
from fpgacompress.errors import ConfigError, DataError, ModelError
from fpgacompress.firmware import BuildConfig
from fpgacompress.layer_kinds import KINDS, kind_of, model_steps
from fpgacompress.model_io import save_model


def _q(bits=6, integer=0):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def _cnn(*middle, input_shape=(8, 8, 1)):
    """input quantizer -> ``middle`` -> Flatten -> QDense(3)."""
    import tensorflow as tf
    from qkeras import QActivation, QDense

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(input_shape, name="image")
    x = QActivation(_q(8, 3), name="input_quantizer")(inputs)
    for layer in middle:
        x = layer(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(3, kernel_quantizer=_q(), bias_quantizer=_q(), name="output")(x)
    return tf.keras.Model(inputs, x)


def _qconv2d(filters=4, kernel=3, name="conv1", **settings):
    from qkeras import QConv2D

    return QConv2D(filters, kernel, kernel_quantizer=_q(), bias_quantizer=_q(), name=name, **settings)


def _one_error_line(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error, error
    assert "Traceback" not in error
    return error


def test_every_convolutional_layer_class_has_a_kind():
    for name in ("Conv1D", "Conv2D", "QConv1D", "QConv2D", "MaxPooling2D", "AveragePooling1D",
                 "GlobalAveragePooling2D", "GlobalMaxPooling1D", "Flatten", "Reshape", "ZeroPadding2D"):  # fmt: skip
        assert name in KINDS, name
    assert KINDS["QConv2D"].family == "convolution"
    assert KINDS["Flatten"].family == "reshape"


def test_fused_relu_in_a_convolution_is_split_like_hls4ml():
    import tensorflow as tf

    model = _cnn(_qconv2d(activation="relu"), tf.keras.layers.MaxPooling2D(2, name="pool"))
    steps = [(step.name, step.function, step.n_outputs) for step in model_steps(model)]
    assert steps[:4] == [
        ("input_quantizer", "quantized_bits", 64),
        ("conv1", None, 6 * 6 * 4),
        ("conv1_relu", "relu", 6 * 6 * 4),
        ("pool", None, 3 * 3 * 4),
    ]
    assert all(step.inexact_reason is None for step in model_steps(model))


def test_reference_of_a_fused_convolution_is_the_pre_activation_then_the_activation():
    import tensorflow as tf

    model = _cnn(_qconv2d(activation="relu"))
    layer = model.get_layer("conv1")
    x = tf.constant(np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32))
    (name, maps), (relu_name, relu) = kind_of(layer).reference(layer, x)
    assert (name, relu_name) == ("conv1", "conv1_relu")
    np.testing.assert_array_equal(np.maximum(np.asarray(maps), 0), np.asarray(relu))
    np.testing.assert_array_equal(np.asarray(relu), np.asarray(layer(x)))
    assert (np.asarray(maps) < 0).any()  # the pre-activation, not the output, is compared as conv1


def test_float_convolution_is_marked_not_bit_exact():
    import tensorflow as tf

    model = _cnn(tf.keras.layers.Conv2D(2, 3, name="conv1"))
    reasons = {step.name: step.inexact_reason for step in model_steps(model)}
    assert "float weights" in reasons["conv1"]


@pytest.mark.parametrize(
    ("layer_factory", "expected"),
    [
        (lambda: _qconv2d(dilation_rate=2), r"'conv1' has dilation_rate=\(2, 2\).*use dilation_rate=1"),
        (lambda: _qconv2d(strides=(1, 2)), r"'conv1' has strides=\(1, 2\).*same stride along every axis"),
        (lambda: _qconv2d(activation="sigmoid"), r"'conv1' has activation 'sigmoid' inside a convolution"),
        (
            lambda: __import__("tensorflow").keras.layers.MaxPooling2D(2, strides=1, name="pool"),
            r"'pool' has strides=\(1, 1\) and pool_size=\(2, 2\).*set strides equal to pool_size",
        ),
        (
            lambda: __import__("tensorflow").keras.layers.MaxPooling2D(3, padding="same", name="pool"),
            r"'pool' has padding='same'",
        ),
    ],
)
def test_settings_hls4ml_cannot_build_are_refused_naming_the_layer(layer_factory, expected):
    from fpgacompress.firmware.checks import check_supported_model

    with pytest.raises(ModelError, match=expected):
        check_supported_model(_cnn(layer_factory()))


def test_po2_weights_in_a_convolution_are_refused():
    from qkeras import QConv2D, quantized_po2

    from fpgacompress.firmware.checks import check_supported_model

    layer = QConv2D(2, 3, kernel_quantizer=quantized_po2(4), bias_quantizer=_q(), name="conv1")
    with pytest.raises(
        ModelError, match="'conv1' uses kernel_quantizer 'quantized_po2'.*quantized_bits, ternary"
    ):
        check_supported_model(_cnn(layer))


def test_batch_norm_on_the_channels_of_a_feature_map_is_accepted_on_another_axis_refused():
    import tensorflow as tf

    from fpgacompress.firmware.checks import check_supported_model

    check_supported_model(_cnn(_qconv2d(), tf.keras.layers.BatchNormalization(name="bn")))
    with pytest.raises(ModelError, match=r"'bn' normalizes axis \[1\] of a rank-4 input.*use axis=-1"):
        check_supported_model(_cnn(_qconv2d(), tf.keras.layers.BatchNormalization(axis=1, name="bn")))


def test_reuse_factor_must_divide_kernel_times_channels_times_filters():
    from fpgacompress.firmware.convolution_checks import check_convolution_reuse_factor, convolution_shapes

    model = _cnn(_qconv2d(filters=4, kernel=3))  # n_in = 3 x 3 x 1 = 9, n_out = 4
    assert [(shape.name, shape.n_in, shape.n_out) for shape in convolution_shapes(model)] == [("conv1", 9, 4)]
    check_convolution_reuse_factor(model, 3)
    with pytest.raises(
        ConfigError, match=r"Reuse factor 5 is not valid for convolution 'conv1' \(9 = kernel"
    ):
        check_convolution_reuse_factor(model, 5)


def test_build_config_exposes_the_conv_implementation():
    assert BuildConfig().hls4ml_conv_implementation == "LineBuffer"
    assert BuildConfig(conv_implementation="encoded").hls4ml_conv_implementation == "Encoded"
    with pytest.raises(ConfigError, match="conv_implementation"):
        from fpgacompress.config import parse_section

        parse_section(BuildConfig, {"conv_implementation": "im2col"}, "build")


def test_hls4ml_config_carries_the_conv_implementation():
    from fpgacompress.firmware.hls_config import hls4ml_config, prepare_for_hls4ml

    model = prepare_for_hls4ml(_cnn(_qconv2d()))
    config = hls4ml_config(
        model, BuildConfig(io_type="io_stream", conv_implementation="encoded", reuse_factor=3)
    )
    assert config["Model"]["ConvImplementation"] == "Encoded"
    assert config["LayerName"]["conv1"]["ReuseFactor"] == 3


# -- data of any shape -------------------------------------------------------------------------------


def test_images_load_from_npz_and_standardize_per_channel(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6, 6, 2)).astype(np.float32) * np.array([1.0, 10.0], np.float32) + np.array(
        [0.0, 5.0], np.float32
    )
    np.savez(tmp_path / "images.npz", X=x, y=rng.integers(0, 3, 50), feature_names=np.array(["e", "t"]))
    data = load_jets(tmp_path / "images.npz")
    assert data.input_shape == (6, 6, 2) and data.feature_names == ("e", "t")
    scaler = Standardizer.fit(data.x_train, data.feature_names)
    per_channel = data.x_train.reshape(-1, 2)
    np.testing.assert_allclose(scaler.mean, per_channel.mean(axis=0, dtype=np.float64), rtol=1e-12)
    scaled, _ = data.standardized(scaler)
    np.testing.assert_allclose(scaled.x_train.reshape(-1, 2).mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.x_train.reshape(-1, 2).std(axis=0), 1.0, atol=1e-4)


def test_sequences_load_from_npy(tmp_path):
    np.save(tmp_path / "sequences.npy", np.ones((20, 12, 3), np.float32))
    data = load_jets(tmp_path / "sequences.npy", require_labels=False)
    assert data.input_shape == (12, 3) and data.n_features == 3


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (np.ones((4, 2, 2, 2, 1), np.float32), r"shape \(4, 2, 2, 2, 1\).*rows x height x width x channels"),
        (np.ones((4, 0, 2), np.float32), r"shape \(4, 0, 2\); expected a non-empty"),
    ],
)
def test_inputs_of_a_shape_no_model_reads_are_refused(tmp_path, x, expected):
    np.save(tmp_path / "bad.npy", x)
    with pytest.raises(DataError, match=expected):
        load_jets(tmp_path / "bad.npy", require_labels=False)


def test_nan_in_one_image_names_the_row(tmp_path):
    x = np.ones((10, 4, 4, 1), np.float32)
    x[7, 2, 1, 0] = np.nan
    np.savez(tmp_path / "images.npz", X=x, y=np.zeros(10, int))
    with pytest.raises(DataError, match=r"1 row\(s\) hold NaN.*first: row 7"):
        load_jets(tmp_path / "images.npz")


def test_build_refuses_testbench_images_of_the_wrong_shape(tmp_path):
    from fpgacompress.firmware import build

    with pytest.raises(
        ConfigError, match=r"x_test must be a non-empty \(n, 8, 8, 1\) array.*\(10, 8, 8, 2\)"
    ):
        build(
            _cnn(_qconv2d()),
            "serenity-vu13p",
            BuildConfig(tmux=18),  # an 8x8 image needs ~36 cycles: inside the LHC budget, the shape is what is wrong
            x_test=np.zeros((10, 8, 8, 2)),
            out_dir=tmp_path / "fw",
        )
    assert not (tmp_path / "fw").exists()


# -- the CLI: one error line, exit 2, nothing written ------------------------------------------------


@pytest.fixture
def images_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npz"
    np.savez(path, X=rng.normal(size=(40, 8, 8, 1)).astype(np.float32), y=rng.integers(0, 3, 40))
    return path


def test_cli_refuses_an_unsupported_layer_inside_a_cnn_saying_what_to_use(images_file, tmp_path, capsys):
    import tensorflow as tf

    model = _cnn(_qconv2d(), tf.keras.layers.SeparableConv2D(2, 3, name="separable"))
    save_model(model, tmp_path / "cnn.h5")
    code = main(
        ["build", str(tmp_path / "cnn.h5"), "--data", str(images_file), "--out", str(tmp_path / "fw")]
    )
    assert code == 2
    error = _one_error_line(capsys)
    assert "Layer 'separable' of type SeparableConv2D is not supported" in error
    assert "use DepthwiseConv2D followed by a 1x1 Conv2D" in error
    assert not (tmp_path / "fw").exists()


def test_cli_refuses_a_channels_first_model(images_file, tmp_path, capsys):
    import tensorflow as tf

    inputs = tf.keras.Input((1, 8, 8), name="image")
    x = tf.keras.layers.Conv2D(2, 3, data_format="channels_first", name="conv_cf")(inputs)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    outputs = tf.keras.layers.Dense(3, name="output")(x)
    save_model(tf.keras.Model(inputs, outputs), tmp_path / "cf.h5")
    x_cf = np.moveaxis(np.load(images_file)["X"], -1, 1)
    np.savez(tmp_path / "cf.npz", X=x_cf, y=np.zeros(len(x_cf), int))
    code = main(
        ["build", str(tmp_path / "cf.h5"), "--data", str(tmp_path / "cf.npz"), "--out", str(tmp_path / "fw")]
    )
    assert code == 2
    error = _one_error_line(capsys)
    assert "Layer 'conv_cf' uses data_format='channels_first'" in error
    assert "data_format='channels_last'" in error
    assert not (tmp_path / "fw").exists()


def test_cli_refuses_images_that_do_not_fit_the_model(images_file, tmp_path, capsys):
    save_model(_cnn(_qconv2d(), input_shape=(6, 6, 1)), tmp_path / "cnn.h5")
    code = main(
        ["build", str(tmp_path / "cnn.h5"), "--data", str(images_file), "--out", str(tmp_path / "fw")]
    )
    assert code == 2
    error = _one_error_line(capsys)
    assert (
        "holds samples of shape (8, 8, 1) but the model takes images (height, width, channels) of shape (6, 6, 1)"
        in error
    )
    assert not (tmp_path / "fw").exists()


def test_average_pooling_over_a_power_of_two_window_gets_the_bits_of_the_mean():
    import tensorflow as tf
    from qkeras import QActivation, quantized_relu

    from fpgacompress.firmware.hls_config import hls4ml_config, prepare_for_hls4ml

    model = _cnn(
        _qconv2d(),  # 6x6x4
        QActivation(quantized_relu(6, 2), name="relu1"),
        tf.keras.layers.AveragePooling2D(2, name="pool"),  # 4 pixels: 2 more fractional bits
    )
    config = hls4ml_config(prepare_for_hls4ml(model), BuildConfig(io_type="io_stream"))
    assert config["LayerName"]["pool"]["Precision"]["accum"] == "ufixed<10,4>"
    assert config["LayerName"]["pool"]["Precision"]["result"] == "ufixed<8,2>"
    assert all(step.inexact_reason is None for step in model_steps(model))


def test_average_over_a_window_that_is_not_a_power_of_two_is_marked_inexact():
    import tensorflow as tf

    model = _cnn(_qconv2d(), tf.keras.layers.GlobalAveragePooling2D(name="gap"))  # 36 pixels
    reasons = {step.name: step.inexact_reason for step in model_steps(model)}
    assert "not a power of two" in reasons["gap"]


def test_recipe_build_section_takes_the_conv_implementation(tmp_path):
    from fpgacompress.recipe import load_recipe

    path = tmp_path / "recipe.yaml"
    path.write_text("build: {io_type: io_stream, conv_implementation: encoded}\n")
    assert load_recipe(path).build.hls4ml_conv_implementation == "Encoded"
    path.write_text("build: {conv_implementation: im2col}\n")
    with pytest.raises(ConfigError, match="build.conv_implementation"):
        load_recipe(path)


def test_depthwise_convolution_with_a_depth_multiplier_is_refused():
    from qkeras import QDepthwiseConv2D

    from fpgacompress.firmware.checks import check_supported_model
    from fpgacompress.firmware.convolution_checks import convolution_shapes

    def depthwise(multiplier):
        return QDepthwiseConv2D(3, depth_multiplier=multiplier, depthwise_quantizer=_q(), bias_quantizer=_q(),
                                name="depthwise")  # fmt: skip

    model = _cnn(_qconv2d(), depthwise(1))
    check_supported_model(model)
    assert KINDS["QDepthwiseConv2D"].family == "depthwise_convolution"
    assert [(s.name, s.n_in, s.n_out) for s in convolution_shapes(model)] == [
        ("conv1", 9, 4),
        ("depthwise", 36, 4),
    ]
    with pytest.raises(ModelError, match="'depthwise' has depth_multiplier=2.*Use depth_multiplier=1"):
        check_supported_model(_cnn(_qconv2d(), depthwise(2)))
