"""Model intake: nothing in a model file ever runs, and the formats users bring load or are named.

The models are made here (no downloads): a Lambda whose code would write a marker file, a JSON
architecture with its weights .h5, a weights-only .h5 and a file in Keras 3's format.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from fpgacompress.cli import main
from fpgacompress.errors import ModelError
from fpgacompress.model_io import load_model


def _one_error_line(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error, error
    assert "Traceback" not in error
    return error


def _lambda_model(marker):
    import tensorflow as tf

    inputs = tf.keras.Input(shape=(16,), name="input")
    hidden = tf.keras.layers.Dense(8, activation="relu", name="fc1")(inputs)
    # The lambda's bytecode writes the marker when Keras calls the layer while rebuilding the model.
    touched = tf.keras.layers.Lambda(
        lambda x, path=str(marker): (open(path, "w").write("ran"), x)[1],  # noqa: SIM115
        name="sneaky",
    )(hidden)
    outputs = tf.keras.layers.Dense(5, activation="softmax", name="output")(touched)
    return tf.keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def lambda_models(tmp_path_factory):
    """The same Lambda model as .h5, .keras and JSON + weights; the marker removed after saving."""
    directory = tmp_path_factory.mktemp("lambda")
    marker = directory / "code_ran.txt"
    model = _lambda_model(marker)
    model.save(directory / "lambda.h5")
    model.save(directory / "lambda.keras")
    (directory / "lambda_arch.json").write_text(model.to_json())
    model.save_weights(directory / "lambda_arch_weights.h5")
    marker.unlink()
    return directory, marker


@pytest.mark.parametrize("file_name", ["lambda.h5", "lambda.keras", "lambda_arch.json"])
def test_loading_a_lambda_model_runs_no_code(lambda_models, file_name):
    directory, marker = lambda_models
    with pytest.raises(ModelError, match=r"layer 'sneaky' \(Lambda\) stores Python code"):
        load_model(directory / file_name)
    assert not marker.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["build", "{model}", "--out", "{out}"],
        ["report", "{model}"],
        ["quantize", "{model}", "--bits", "6", "--out", "{out}"],
        ["prune", "{model}", "--out", "{out}"],
    ],
)
def test_every_command_refuses_a_lambda_model_without_running_it(lambda_models, tmp_path, capsys, command):
    directory, marker = lambda_models
    argv = [part.format(model=directory / "lambda.h5", out=tmp_path / "out") for part in command]
    assert main(argv) == 2
    error = _one_error_line(capsys)
    assert (
        "layer 'sneaky' (Lambda) stores Python code" in error and "Replace it with standard layers" in error
    )
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_a_quantizer_string_that_is_not_a_quantizer_is_refused(tmp_path):
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization.convert import quantize
    from fpgacompress.quantization.spec import QuantizationSpec

    model = quantize(build_mlp("16-8-5", seed=0), QuantizationSpec.uniform(6, 0))
    config = json.loads(model.to_json())
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "QActivation":
            layer["config"]["activation"] = "open('/tmp/x','w')"
            break
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"is not a QKeras quantizer or Keras activation"):
        load_model(path, weights=tmp_path / "absent.h5")


def _plain_model():
    from fpgacompress.models import build_mlp

    return build_mlp("10-8-3", seed=4)


def test_json_architecture_with_weights_h5_loads_explicitly_and_as_sibling(tmp_path):
    model = _plain_model()
    (tmp_path / "KERAS_3layer.json").write_text(model.to_json())
    model.save_weights(tmp_path / "KERAS_3layer_weights.h5")
    x = np.random.default_rng(0).normal(size=(16, 10)).astype(np.float32)
    for loaded in (
        load_model(tmp_path / "KERAS_3layer.json", weights=tmp_path / "KERAS_3layer_weights.h5"),
        load_model(tmp_path / "KERAS_3layer.json"),
    ):
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_json_without_weights_names_the_fix(tmp_path):
    (tmp_path / "arch.json").write_text(_plain_model().to_json())
    with pytest.raises(ModelError, match=r"No weights for the architecture .*pass --weights W.h5"):
        load_model(tmp_path / "arch.json")


def test_weights_only_h5_is_named_as_such(tmp_path, capsys):
    _plain_model().save_weights(tmp_path / "weights.h5")
    assert main(["report", str(tmp_path / "weights.h5")]) == 2
    error = _one_error_line(capsys)
    assert "holds only weights (saved with save_weights), no architecture" in error
    assert "MODEL.json --weights weights.h5" in error


def test_keras3_file_says_keras3_is_unsupported_and_what_to_do(tmp_path, capsys):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.3.3", "date_saved": "2024"}))
        archive.writestr(
            "config.json", json.dumps({"module": "keras", "class_name": "Sequential", "config": {}})
        )
        archive.writestr("model.weights.h5", b"")
    assert main(["report", str(path)]) == 2
    error = _one_error_line(capsys)
    assert "saved by Keras 3.3.3; Keras 3 files are not supported" in error and "Re-save the model" in error


def test_report_and_build_read_a_json_weights_pair_through_the_weights_option(tmp_path, capsys):
    from fpgacompress.models import build_mlp

    model = build_mlp("16-8-5", seed=3)
    (tmp_path / "arch.json").write_text(model.to_json())
    model.save_weights(tmp_path / "w.h5")
    assert main(["report", str(tmp_path / "arch.json"), "--weights", str(tmp_path / "w.h5")]) == 0
    assert "fc1" in capsys.readouterr().out
    argv = [
        "build",
        str(tmp_path / "arch.json"),
        "--weights",
        str(tmp_path / "w.h5"),
        "--out",
        str(tmp_path / "fw"),
    ]
    assert main([*argv, "--n-testbench-samples", "50"]) == 0
    assert (tmp_path / "fw" / "manifest.json").is_file() and (tmp_path / "arch.json").is_file()


def _qkeras_model():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    inputs = tf.keras.Input(shape=(16,), name="input")
    x = QActivation(quantized_bits(12, 4, alpha=1), name="input_quantizer")(inputs)
    x = QDense(8, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1), name="fc1")(x)
    x = QActivation(quantized_relu(8, 3), name="relu1")(x)
    outputs = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="output")(x)
    return tf.keras.Model(inputs, outputs)


def test_qkeras_model_in_keras_native_format_and_as_json_loads_with_the_same_outputs(tmp_path):
    # Keras 2.14 writes a QActivation's quantizer as a nested dict there, which QKeras 0.9 cannot call.
    model = _qkeras_model()
    model.save(tmp_path / "tagger.keras")
    (tmp_path / "arch.json").write_text(model.to_json())
    model.save_weights(tmp_path / "arch_weights.h5")
    x = np.random.default_rng(0).normal(size=(64, 16)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    for loaded in (load_model(tmp_path / "tagger.keras"), load_model(tmp_path / "arch.json")):
        assert type(loaded.get_layer("relu1").quantizer).__name__ == "quantized_relu"
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)


def test_a_nested_quantizer_naming_no_quantizer_is_refused(tmp_path):
    config = json.loads(_qkeras_model().to_json())
    layer = next(node for node in config["config"]["layers"] if node["config"]["name"] == "relu1")
    layer["config"]["activation"] = {"class_name": "os.system", "config": {}}
    (tmp_path / "arch.json").write_text(json.dumps(config))
    _qkeras_model().save_weights(tmp_path / "arch_weights.h5")
    with pytest.raises(ModelError, match=r"layer 'relu1' \(QActivation\) has activation='os.system'"):
        load_model(tmp_path / "arch.json")
