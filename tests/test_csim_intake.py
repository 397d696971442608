"""Models users bring, through ``build`` and ``csim`` with g++: fused softmax, float, PTQ, new layer kinds.

Slow: four g++ compiles of tiny models. Each asserts what the user relies on: logits bit for bit
where the design can be bit-exact, a fidelity verdict and exit 0 where it cannot (exit 1 with
--require-bit-exact), and the firmware softmax deciding like Keras.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from fpgacompress.cli import main

pytestmark = pytest.mark.slow


def _q(bits=8, integer=1):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def _train_and_save(model, small_jets, path, epochs=3, binary=False):
    from fpgacompress.model_io import save_model

    data, standardizer = small_jets
    y = (data.y_train == 0).astype("float32") if binary else data.y_train
    model.compile(
        optimizer="adam", loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    )
    model.fit(data.x_train, y, epochs=epochs, batch_size=128, verbose=0)
    save_model(model, path, standardizer)
    return path


def _fused_softmax_model():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_relu

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16,), name="input")
    x = QActivation(_q(12, 4), name="input_quantizer")(inputs)
    x = QDense(32, kernel_quantizer=_q(), bias_quantizer=_q(), name="fc1")(x)
    x = QActivation(quantized_relu(8, 3), name="relu1")(x)
    outputs = QDense(5, kernel_quantizer=_q(), bias_quantizer=_q(), activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, outputs)


def _float_model():
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16,), name="input")
    x = tf.keras.layers.Dense(16, name="fc1")(inputs)
    x = tf.keras.layers.BatchNormalization(name="bn1")(x)
    x = tf.keras.layers.Activation("relu", name="relu1")(x)
    x = tf.keras.layers.Dropout(0.1, name="dropout")(x)
    outputs = tf.keras.layers.Dense(5, activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, outputs)


def _hidden_tanh_sigmoid_po2_head_model():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_po2, quantized_sigmoid, quantized_tanh

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16,), name="input")
    x = QActivation(_q(12, 4), name="input_quantizer")(inputs)
    x = QDense(16, kernel_quantizer=quantized_po2(4, 1), bias_quantizer=_q(), name="fc1")(x)
    x = QActivation(quantized_tanh(8), name="tanh1")(x)
    x = tf.keras.layers.Dropout(0.1, name="dropout")(x)
    x = QDense(16, kernel_quantizer=_q(), bias_quantizer=_q(), name="fc2")(x)
    x = QActivation(quantized_sigmoid(8), name="sigmoid2")(x)
    x = QDense(1, kernel_quantizer=_q(), bias_quantizer=_q(), name="output")(x)
    outputs = tf.keras.layers.Activation("sigmoid", name="sigmoid")(x)
    return tf.keras.Model(inputs, outputs)


def _agreement(printed: str) -> float:
    return float(re.search(r"agrees on ([\d.]+)% of samples", printed).group(1)) / 100


def test_fused_softmax_logits_are_bit_exact_and_the_softmax_decides_like_keras(small_jets, tmp_path, capsys):
    from fpgacompress.firmware.csimulation import TRACE_FILE, _read_trace
    from fpgacompress.firmware.testbench import load_reference

    model_path = _train_and_save(_fused_softmax_model(), small_jets, tmp_path / "fused.h5", epochs=5)
    out = tmp_path / "fw"
    assert main(["build", str(model_path), "--out", str(out), "--csim"]) == 0
    printed = capsys.readouterr().out
    assert "logits (output): 1000/1000 samples bit-exact -- BIT-EXACT" in printed
    assert "softmax (lookup table, approximate): argmax agrees on" in printed  # main printed no softmax line
    assert _agreement(printed) >= 0.99  # main: a constant 0.2 softmax
    # the rare disagreements are near-ties: top two logits closer than the table's 1/128 step
    reference = load_reference(out)
    firmware = _read_trace(out / TRACE_FILE)["output_softmax"]
    firmware = np.stack([firmware[index] for index in range(reference.n_samples)])
    expected = reference.layer_outputs["output_softmax"]
    disagree = np.argmax(firmware, axis=1) != np.argmax(expected, axis=1)
    top_two = np.sort(reference.layer_outputs["output"][disagree], axis=1)[:, -2:]
    assert np.all(top_two[:, 1] - top_two[:, 0] < 1 / 128)


def test_float_model_gets_a_fidelity_verdict_and_ptq_makes_it_bit_exact(small_jets, tmp_path, capsys):
    from fpgacompress.model_io import load_model

    model_path = _train_and_save(_float_model(), small_jets, tmp_path / "float.h5")
    out = tmp_path / "fw"
    assert main(["build", str(model_path), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["csim", str(out)]) == 0  # main: "0/1000 bit-exact, 1000 MISMATCHES", exit 1
    printed = capsys.readouterr().out
    assert "float model: not bit-exact by construction (fc1: float weights" in printed
    assert "fidelity (|firmware - Keras| per layer: max, mean):" in printed
    assert re.search(r"^  output: [\d.e-]+, [\d.e-]+$", printed, re.MULTILINE)
    assert _agreement(printed) >= 0.9
    assert main(["csim", str(out), "--require-bit-exact"]) == 1

    ptq_out = tmp_path / "fw_ptq"
    assert main(["build", str(model_path), "--ptq", "--out", str(ptq_out), "--csim"]) == 0
    printed = capsys.readouterr().out
    assert "logits (output): 1000/1000 samples bit-exact -- BIT-EXACT" in printed
    assert "ptq: " in printed and "batch norms folded: bn1" in printed
    change = float(re.search(r"quantized \(([-+\d.]+)%\)", printed).group(1))
    assert change > -2.0  # 12-bit post-training quantization costs little accuracy
    ptq_model = load_model(ptq_out / "ptq_model.h5")
    assert "bn1" not in [layer.name for layer in ptq_model.layers]
    assert type(ptq_model.get_layer("fc1")).__name__ == "QDense"


def test_po2_weights_quantized_tanh_sigmoid_and_a_sigmoid_head_are_bit_exact(small_jets, tmp_path, capsys):
    from fpgacompress.firmware import csim

    model_path = _train_and_save(
        _hidden_tanh_sigmoid_po2_head_model(), small_jets, tmp_path / "m.h5", binary=True
    )
    out = tmp_path / "fw"
    assert main(["build", str(model_path), "--out", str(out), "--n-testbench-samples", "500"]) == 0
    result = csim(out)
    assert result.bit_exact, result.summary()
    assert result.layer_mismatches["tanh1"] == 0 and result.layer_mismatches["sigmoid2"] == 0
    assert result.output_function == "sigmoid" and result.softmax_argmax_agreement >= 0.97
    assert "sigmoid (lookup table, approximate): decision agrees on" in result.summary()
