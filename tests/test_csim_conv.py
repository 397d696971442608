"""Convolutional networks through build and the bit-exact C-simulation (g++), on simulated calorimeter data.

Slow: each test trains a tiny QKeras CNN for a moment and compiles its firmware (about 30-60 s on 2
cores). The feature maps are compared layer by layer, flattened channels_last row-major (the order
hls4ml's streams and arrays hold them), so a wrong order or a wrong value fails the test.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fpgacompress.calorimeter import calorimeter_images, calorimeter_profiles
from fpgacompress.cli import main
from fpgacompress.firmware import BuildConfig, build, csim
from fpgacompress.model_io import save_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("g++") is None, reason="the C-simulation needs g++"),
]

N_SAMPLES = 100


def _q(bits=6, integer=0):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def _trained(model, data):
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=2, batch_size=64, verbose=0)
    return model


def _image_cnn():
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, QDepthwiseConv2D, quantized_relu

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((8, 8, 1), name="image")
    x = QActivation(_q(8, 3), name="input_quantizer")(inputs)
    x = QConv2D(4, 3, kernel_quantizer=_q(), bias_quantizer=_q(), name="conv1")(x)
    x = QActivation(quantized_relu(6, 2), name="relu1")(x)
    x = QDepthwiseConv2D(3, padding="same", depthwise_quantizer=_q(), bias_quantizer=_q(), name="depthwise")(
        x
    )
    x = QActivation(quantized_relu(6, 2), name="relu2")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(3, kernel_quantizer=_q(), bias_quantizer=_q(), name="output")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inputs, x)


def test_qconv2d_depthwise_image_classifier_is_bit_exact_through_the_cli_from_the_users_arrays(
    tmp_path, capsys
):
    data = calorimeter_images(600, image_size=8, seed=3)
    x_scaled = np.log1p(data.x_train)  # the energies span decades: log scaling, then the per-channel fit
    data_file = tmp_path / "clusters.npz"
    np.savez(data_file, X=np.log1p(np.concatenate([data.x_train, data.x_test])),
             y=np.concatenate([data.y_train, data.y_test]),
             test_index=np.arange(len(data.x_train), len(data.x_train) + len(data.x_test)))  # fmt: skip
    from fpgacompress.data import Standardizer

    scaler = Standardizer.fit(x_scaled, data.feature_names)
    model = _trained(_image_cnn(), type(data)(**{**data.__dict__, "x_train": scaler.transform(x_scaled)}))
    save_model(model, tmp_path / "cnn.h5")
    code = main(["build", str(tmp_path / "cnn.h5"), "--data", str(data_file), "--io-type", "io_stream",
                 "--preprocessing", "fit", "--n-testbench-samples", str(N_SAMPLES), "--out", str(tmp_path / "fw"),
                 "--csim"])  # fmt: skip
    output = capsys.readouterr().out
    assert code == 0, output
    assert f"logits (output): {N_SAMPLES}/{N_SAMPLES} samples bit-exact -- BIT-EXACT" in output
    result = csim(tmp_path / "fw")  # the binary the CLI compiled, run again for the per-layer numbers
    assert result.bit_exact and result.n_samples == N_SAMPLES
    assert result.layer_mismatches == {
        "input_quantizer": 0, "conv1": 0, "relu1": 0, "depthwise": 0, "relu2": 0, "pool1": 0, "output": 0,
    }  # fmt: skip
    assert result.softmax_argmax_agreement > 0.9


def test_qconv1d_with_average_pooling_io_parallel_resource_is_bit_exact(tmp_path):
    import tensorflow as tf
    from qkeras import QActivation, QConv1D, QDense, quantized_relu

    data, scaler = calorimeter_profiles(600, length=12, seed=4).standardized()
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((12, 2), name="profile")
    x = QActivation(_q(8, 3), name="input_quantizer")(inputs)
    x = QConv1D(4, 3, padding="same", kernel_quantizer=_q(), bias_quantizer=_q(), name="conv1")(x)
    x = QActivation(quantized_relu(6, 2), name="relu1")(x)
    x = tf.keras.layers.AveragePooling1D(2, name="pool1")(x)  # exact: the mean gets one more bit
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(3, kernel_quantizer=_q(), bias_quantizer=_q(), name="output")(x)
    model = _trained(tf.keras.Model(inputs, x), data)
    config = BuildConfig(  # 12 pixels x 4 cycles per pixel: TMUX 10 gives the 48-cycle II its LHC budget
        io_type="io_parallel", strategy="resource", reuse_factor=2, tmux=10, n_testbench_samples=N_SAMPLES
    )
    project = build(model, "serenity-vu13p", config, x_test=data.x_test, out_dir=tmp_path / "fw")
    result = csim(project)
    assert result.bit_exact, result.summary()
    assert set(result.layer_mismatches) >= {"conv1", "relu1", "pool1", "output"}
    assert not any(result.layer_mismatches.values())
    assert project.manifest["settings"]["conv_implementation"] == "line_buffer"
