"""Benchmark: the intake matrix -- model variants users bring x build / csim / report.

Every variant is made here (tiny MLPs trained for ``--epochs`` on 4,000 jets of the bundled sample),
saved to a file, loaded back with ``fpgacompress.model_io.load_model`` as the CLI does, then:

* build: ``fpgacompress.build`` (io_parallel, latency, RF 1) on the test split;
* csim: ``fpgacompress.csim`` (g++ -O1; the level changes compile time, never results) on
  ``--samples`` test-bench samples: verdict, logits mismatches, the output head's decision agreement;
* report: ``fpgacompress.estimate`` of the model file (what ``fpgacompress report MODEL`` runs).

The JSON + weights-H5 variant is read with Keras' own ``model_from_json`` + ``load_weights`` here:
reading that pair from the command line is helper issue 11 part A's loader. The PTQ variant is the
float variant through ``build(..., ptq=True)``: its verdict is for the
emitted QKeras model, and the test accuracy of the float and the quantized model is reported (train
with ``--epochs 20`` for that row: two epochs leave the float model near chance).

Usage:
    .venv/bin/python scripts/bench_intake.py [--samples 300] [--variants float,qkeras] [--out runs/bench_intake]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _q(bits=8, integer=1):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def _qrelu():
    from qkeras import quantized_relu

    return quantized_relu(8, 3)


def _input_quantizer(x):
    from qkeras import QActivation, quantized_bits

    return QActivation(quantized_bits(12, 4, alpha=1), name="input_quantizer")(x)


def _qdense(units, name, **kwargs):
    from qkeras import QDense

    return QDense(
        units, kernel_quantizer=kwargs.pop("kernel_quantizer", _q()), bias_quantizer=_q(), name=name, **kwargs
    )


def _qrelu_layer(name):
    from qkeras import QActivation

    return QActivation(_qrelu(), name=name)


def variant_float(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = tf.keras.layers.Dense(16, activation="relu", name="fc1")(inputs)
    x = tf.keras.layers.Dropout(0.1, name="dropout")(x)
    x = tf.keras.layers.Dense(16, activation="relu", name="fc2")(x)
    x = tf.keras.layers.Dense(5, activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, x, name="float")


def variant_float_batchnorm(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = tf.keras.layers.Dense(16, name="fc1")(inputs)
    x = tf.keras.layers.BatchNormalization(name="bn1")(x)
    x = tf.keras.layers.Activation("relu", name="relu1")(x)
    x = tf.keras.layers.Dense(16, name="fc2")(x)
    x = tf.keras.layers.BatchNormalization(name="bn2")(x)
    x = tf.keras.layers.Activation("relu", name="relu2")(x)
    x = tf.keras.layers.Dense(5, activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, x, name="float_batchnorm")


def variant_qkeras(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = _qrelu_layer("relu1")(_qdense(16, "fc1")(x))
    x = _qrelu_layer("relu2")(_qdense(16, "fc2")(x))
    x = tf.keras.layers.Activation("softmax", name="softmax")(_qdense(5, "output")(x))
    return tf.keras.Model(inputs, x, name="qkeras")


def variant_fused_softmax(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = _qrelu_layer("relu1")(_qdense(16, "fc1")(x))
    x = _qdense(5, "output", activation="softmax")(x)
    return tf.keras.Model(inputs, x, name="fused_softmax")


def variant_batchnorm(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = tf.keras.layers.BatchNormalization(name="bn1")(_qdense(16, "fc1")(x))
    x = _qrelu_layer("relu1")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(_qdense(5, "output")(x))
    return tf.keras.Model(inputs, x, name="batchnorm")


def variant_qbatchnorm(n_features):
    import tensorflow as tf
    from qkeras import QBatchNormalization

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = QBatchNormalization(
        name="bn1",
        gamma_quantizer=_q(8, 2),
        beta_quantizer=_q(8, 2),
        mean_quantizer=_q(8, 2),
        variance_quantizer=_q(8, 3),
    )(_qdense(16, "fc1")(x))
    x = _qrelu_layer("relu1")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(_qdense(5, "output")(x))
    return tf.keras.Model(inputs, x, name="qbatchnorm")


def variant_sigmoid_head(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = _qrelu_layer("relu1")(_qdense(16, "fc1")(x))
    x = tf.keras.layers.Activation("sigmoid", name="sigmoid")(_qdense(1, "output")(x))
    return tf.keras.Model(inputs, x, name="sigmoid_head")


def variant_tanh(n_features):
    import tensorflow as tf
    from qkeras import QActivation, quantized_sigmoid, quantized_tanh

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = QActivation(quantized_tanh(8), name="tanh1")(_qdense(16, "fc1")(x))
    x = QActivation(quantized_sigmoid(8), name="sigmoid2")(_qdense(16, "fc2")(x))
    x = tf.keras.layers.Activation("softmax", name="softmax")(_qdense(5, "output")(x))
    return tf.keras.Model(inputs, x, name="tanh")


def variant_po2(n_features):
    import tensorflow as tf
    from qkeras import quantized_po2

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = _qrelu_layer("relu1")(_qdense(16, "fc1", kernel_quantizer=quantized_po2(4, 1))(x))
    x = _qrelu_layer("relu2")(_qdense(16, "fc2", kernel_quantizer=quantized_po2(4, 1))(x))
    x = tf.keras.layers.Activation("softmax", name="softmax")(_qdense(5, "output")(x))
    return tf.keras.Model(inputs, x, name="po2")


def variant_leaky_dropout(n_features):
    import tensorflow as tf

    inputs = tf.keras.Input((n_features,), name="input")
    x = _input_quantizer(inputs)
    x = tf.keras.layers.LeakyReLU(0.25, name="leaky1")(_qdense(16, "fc1")(x))
    x = tf.keras.layers.Dropout(0.2, name="dropout")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(_qdense(5, "output")(x))
    return tf.keras.Model(inputs, x, name="leaky_dropout")


def variant_quantized_float(n_features):
    """A float model with fused ReLUs, a batch norm and a dropout, through ``fpgacompress.quantize``."""
    from fpgacompress.quantization import QuantizationSpec, quantize

    return quantize(
        variant_float(n_features), QuantizationSpec.uniform(8, 1, activation_bits=8, activation_integer=3)
    )


# name -> (model maker, file suffix, number of input features, head)
VARIANTS = {
    "float": (variant_float, ".h5", 16, "softmax"),
    "qkeras": (variant_qkeras, ".h5", 16, "softmax"),
    "fused_softmax": (variant_fused_softmax, ".h5", 16, "softmax"),
    "batchnorm": (variant_batchnorm, ".h5", 16, "softmax"),
    "qbatchnorm": (variant_qbatchnorm, ".h5", 16, "softmax"),
    "sigmoid_head": (variant_sigmoid_head, ".h5", 16, "sigmoid"),
    "tanh_sigmoid_hidden": (variant_tanh, ".h5", 16, "softmax"),
    "po2": (variant_po2, ".h5", 16, "softmax"),
    "leaky_dropout": (variant_leaky_dropout, ".h5", 16, "softmax"),
    "quantize(float)": (variant_quantized_float, ".h5", 16, "softmax"),
    "10_inputs": (variant_qkeras, ".h5", 10, "softmax"),
    "json+weights(qkeras)": (variant_qkeras, ".json", 16, "softmax"),
    "json+weights(float)": (variant_float, ".json", 16, "softmax"),
    "keras_format(float)": (variant_float, ".keras", 16, "softmax"),
    "keras_format(qkeras)": (variant_qkeras, ".keras", 16, "softmax"),
    "ptq(float)": (variant_float, ".h5", 16, "softmax"),
    "float+batchnorm": (variant_float_batchnorm, ".h5", 16, "softmax"),
    "ptq(float+batchnorm)": (variant_float_batchnorm, ".h5", 16, "softmax"),
}


def _data(n_features: int):
    from fpgacompress.data import load_jets

    data, _ = load_jets().subsample(max_train=4000, max_test=2000, seed=0).standardized()
    return (data.x_train[:, :n_features], data.y_train, data.x_test[:, :n_features], data.y_test)


def _load_json_and_weights(path: Path):
    """Keras' own JSON + weights loading (no code runs: JSON holds no bytecode)."""
    import tensorflow as tf

    from fpgacompress.model_io import custom_objects

    model = tf.keras.models.model_from_json(path.read_text(), custom_objects=custom_objects())
    model.load_weights(path.with_suffix(".weights.h5"))
    return model


def run_variant(name: str, directory: Path, samples: int, epochs: int = 2, seed: int = 0) -> dict:
    import tensorflow as tf

    from fpgacompress.estimation import estimate
    from fpgacompress.firmware import BuildConfig, build, csim
    from fpgacompress.model_io import load_model, save_model

    maker, suffix, n_features, head = VARIANTS[name]
    x_train, y_train, x_test, y_test = _data(n_features)
    if head == "sigmoid":
        y_train, y_test = (y_train == 0).astype("float32"), (y_test == 0).astype("float32")
    tf.keras.utils.set_random_seed(seed)
    model = maker(n_features)
    loss = "binary_crossentropy" if head == "sigmoid" else "sparse_categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss)
    model.fit(x_train, y_train, epochs=epochs, batch_size=256, verbose=0)
    path = directory / f"{name.replace('(', '_').replace(')', '').replace('+', '_')}{suffix}"
    if suffix == ".json":  # architecture JSON + weights HDF5, as hls4ml's example models come
        path.write_text(model.to_json())
        model.save_weights(path.with_suffix(".weights.h5"))
        model = _load_json_and_weights(path)
    else:
        save_model(model, path)
        model = load_model(path)  # as the CLI reads it
    row = {"variant": name, "file": path.name, "inputs": n_features}
    ptq = name.startswith("ptq")
    start = time.perf_counter()
    project = build(
        model,
        "serenity-vu13p",
        BuildConfig(n_testbench_samples=samples),
        x_test=x_test,
        out_dir=directory / f"fw_{path.stem}",
        **({"ptq": True, "x_calibration": x_train, "y_test": y_test} if ptq else {}),
    )
    row["build_s"] = time.perf_counter() - start
    if ptq:
        row["ptq_accuracy_change"] = project.manifest["ptq"]["accuracy_change"]
        row["ptq_agreement"] = project.manifest["ptq"]["decision_agreement"]
        row["float_accuracy"] = project.manifest["ptq"]["float_accuracy"]
        row["folded"] = len(project.manifest["ptq"]["folded_batch_norms"])
        row["quantized_accuracy"] = project.manifest["ptq"]["quantized_accuracy"]
        path = project.path / project.manifest["ptq"]["model"]  # report what the firmware computes
    start = time.perf_counter()
    result = csim(project, optimization_level=1)
    row["csim_s"] = time.perf_counter() - start
    row["verdict"] = result.verdict
    row["logits_bit_exact"] = f"{result.n_samples - result.logits_mismatches}/{result.n_samples}"
    row["head_agreement"] = result.softmax_argmax_agreement
    start = time.perf_counter()
    report = estimate(path if suffix != ".json" else model)
    row["report_s"] = time.perf_counter() - start
    row["report_lut"] = int(report.totals.lut)
    row["report_dsp"] = int(report.totals.dsp)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument(
        "--epochs", type=int, default=2, help="training epochs of every variant (intake, not accuracy)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path("runs/bench_intake"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    print(
        "| variant | file | inputs | build s | csim s | verdict | logits bit-exact | head agreement | report s | LUT | DSP |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.variants.split(","):
        try:
            row = run_variant(name, args.out, args.samples, args.epochs, args.seed)
        except Exception as error:  # a benchmark row, not a crash: the matrix shows what fails
            print(
                f"| {name} | | | | | FAILED: {type(error).__name__}: {str(error).splitlines()[0][:200]} | | | | | |",
                flush=True,
            )
            continue
        agreement = "-" if row["head_agreement"] is None else f"{row['head_agreement']:.1%}"
        verdict = row["verdict"] + (
            f" (PTQ, {row['folded']} batch norms folded: test accuracy {row['float_accuracy']:.2%} float -> {row['quantized_accuracy']:.2%}, "
            f"decisions agree with float on {row['ptq_agreement']:.2%})"
            if "ptq_agreement" in row
            else ""
        )
        print(
            f"| {name} | {row['file']} | {row['inputs']} | {row['build_s']:.1f} | {row['csim_s']:.1f} | {verdict} | "
            f"{row['logits_bit_exact']} | {agreement} | {row['report_s']:.1f} | {row['report_lut']} | {row['report_dsp']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
