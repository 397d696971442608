"""Benchmark: the bit-exact matrix of convolutional networks, ``build()`` + ``csim()`` on real samples.

Two QKeras networks on the simulated calorimeter data (:mod:`fpgacompress.calorimeter`), inputs
``log1p`` of the cell energies then standardized per channel:

* ``image2d``: 16x16 cluster images -> QConv2D(4, 3x3) -> quantized ReLU -> MaxPooling2D(2) ->
  QConv2D(4, 3x3, same) -> quantized ReLU -> MaxPooling2D(2) -> Flatten -> QDense(3) -> softmax;
* ``profile1d``: 28-layer depth profiles (energy, width) -> QConv1D(4, 3, same) -> quantized ReLU ->
  MaxPooling1D(2) -> QConv1D(8, 3) -> quantized ReLU -> MaxPooling1D(2) -> Flatten -> QDense(3) -> softmax.

6-bit weights (``quantized_bits(6, 0, alpha=1)``), 6-bit ReLUs, an 8-bit input quantizer; each is
trained briefly with plain Keras ``fit``. The pruned variants use the real :func:`fpgacompress.prune`
(magnitude, 50 % zeros) and the filter-pruned one :func:`fpgacompress.autoprune` with
``keep={conv1: 2, conv2: 2}`` filters (the physically smaller model); both need convolution support in
pruning, so on a branch without it they are recorded as not run, with the error.

Each configuration builds an hls4ml project with ``n`` real test samples in its test bench, compiles
it with g++ and compares every traced layer with Keras bit for bit (the softmax is a lookup table:
its argmax agreement is reported).

Usage:
    .venv/bin/python scripts/bench_conv_csim.py [--samples 500] [--only NAME ...] [--out runs/bench_conv_csim]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

N_CLUSTERS = 5000
EPOCHS = 8
# The matrix checks bit-exactness, not timing: a streamed image takes about one cycle per pixel and
# reuse factor, far over a 25 ns bunch crossing, so every build gets a time-multiplexing period long
# enough (TMUX 1000: one image every 25 us) that the LHC budget check does not refuse it.
TMUX = 1000


def _q(bits=6, integer=0):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def _dataset(kind: str):
    import numpy as np

    from fpgacompress.calorimeter import calorimeter_images, calorimeter_profiles

    raw = (
        calorimeter_images(N_CLUSTERS, image_size=16)
        if kind == "image2d"
        else calorimeter_profiles(N_CLUSTERS)
    )
    logged = type(raw)(
        **{**raw.__dict__, **{key: np.log1p(getattr(raw, key)) for key in ("x_train", "x_val", "x_test")}}
    )
    return logged.standardized()[0]


def _network(kind: str, *, quantized: bool = True):
    """The matrix's QKeras network, or (``quantized=False``) its float twin: what a user trains, AutoPrunes and
    then quantizes (the filter-pruned row)."""
    import tensorflow as tf
    from qkeras import QActivation, QConv1D, QConv2D, QDense, quantized_relu

    layers = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    two_d = kind == "image2d"
    if quantized:
        conv_class = QConv2D if two_d else QConv1D

        def conv(filters, name, **settings):
            return conv_class(filters, 3, kernel_quantizer=_q(), bias_quantizer=_q(), name=name, **settings)

        def relu(name):
            return QActivation(quantized_relu(6, 2), name=name)

        def dense(name):
            return QDense(3, kernel_quantizer=_q(), bias_quantizer=_q(), name=name)

    else:
        conv_class = layers.Conv2D if two_d else layers.Conv1D

        def conv(filters, name, **settings):
            return conv_class(filters, 3, name=name, **settings)

        def relu(name):
            return layers.Activation("relu", name=name)

        def dense(name):
            return layers.Dense(3, name=name)

    pool = layers.MaxPooling2D if two_d else layers.MaxPooling1D
    inputs = tf.keras.Input((16, 16, 1) if two_d else (28, 2), name="image" if two_d else "profile")
    x = QActivation(_q(8, 3), name="input_quantizer")(inputs) if quantized else inputs
    x = conv(4, "conv1", **({} if two_d else {"padding": "same"}))(x)
    x = pool(2, name="pool1")(relu("relu1")(x))
    # 2-D: 16 -> 14 -> 7 -> 7 (same) -> 3, Flatten 36; 1-D: 28 -> 28 -> 14 -> 12 -> 6, Flatten 48: sizes
    # for which reuse factors 3 and 9 (2-D) and 2 (1-D) are valid for every layer at once
    x = conv(4 if two_d else 8, "conv2", **({"padding": "same"} if two_d else {}))(x)
    x = pool(2, name="pool2")(relu("relu2")(x))
    x = dense("output")(layers.Flatten(name="flatten")(x))
    outputs = layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inputs, outputs, name=kind if quantized else f"{kind}_float")


def _trained(kind: str, data):
    import tensorflow as tf

    model = _network(kind)
    model.compile(tf.keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, epochs=EPOCHS, batch_size=128, verbose=0,
              validation_data=(data.x_val, data.y_val))  # fmt: skip
    return model


def _pruned(model, data):
    from fpgacompress import PruneSpec, TrainingConfig, prune

    spec = PruneSpec(
        target_sparsity=0.5, fraction_per_iteration=0.3, max_iterations=3, epochs_per_iteration=2
    )
    training = TrainingConfig(epochs=2, batch_size=128, learning_rate=1e-3)
    return prune(model, data, spec, training=training, progress=False).model


def _filter_pruned(model, data):
    """The user's flow: a float CNN, AutoPruner over its filters (the reduced export), then QAT.

    ``model`` (the QKeras network) only says which network; the float twin is trained here.
    """
    import tensorflow as tf

    from fpgacompress import (
        AutoPruneSpec,
        QuantizationSpec,
        TrainingConfig,
        autoprune,
        quantization_aware_training,
    )

    kind = "image2d" if len(model.input_shape) == 4 else "profile1d"
    float_model = _network(kind, quantized=False)
    float_model.compile(tf.keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    float_model.fit(data.x_train, data.y_train, epochs=EPOCHS, batch_size=128, verbose=0)
    spec = AutoPruneSpec(keep={"conv1": 2, "conv2": 2}, soft_epochs=4, hard_epochs=2)
    reduced = autoprune(float_model, data, spec, progress=False).reduced_model
    quantization = QuantizationSpec.uniform(6, 0, activation_bits=6, activation_integer=2, input_bits=8, input_integer=3)
    training = TrainingConfig(epochs=4, batch_size=128, learning_rate=1e-3)
    return quantization_aware_training(reduced, quantization, data, training, progress=False).model


def _common_reuse_factors(model) -> list[int]:
    from fpgacompress.firmware.checks import dense_shapes, valid_reuse_factors
    from fpgacompress.firmware.convolution_checks import convolution_shapes

    shapes = [*convolution_shapes(model), *(s for s in dense_shapes(model) if s.name == "output")]
    return sorted(set.intersection(*(set(valid_reuse_factors(s.n_in, s.n_out)) for s in shapes)))


# name -> (network, variant, build settings); "rf2"/"rf3" are the 2nd / 3rd smallest common reuse factor
CONFIGURATIONS = {
    "2d stream latency RF1": ("image2d", "unpruned", {"io_type": "io_stream", "strategy": "latency"}),
    "2d stream resource rf2": ("image2d", "unpruned", {"io_type": "io_stream", "strategy": "resource"}),
    "2d stream resource rf3": ("image2d", "unpruned", {"io_type": "io_stream", "strategy": "resource"}),
    "2d stream latency encoded": (
        "image2d", "unpruned", {"io_type": "io_stream", "strategy": "latency", "conv_implementation": "encoded"},
    ),
    "1d stream latency RF1": ("profile1d", "unpruned", {"io_type": "io_stream", "strategy": "latency"}),
    "1d parallel resource rf2": ("profile1d", "unpruned", {"io_type": "io_parallel", "strategy": "resource"}),
    "2d pruned stream latency RF1": ("image2d", "pruned", {"io_type": "io_stream", "strategy": "latency"}),
    "1d pruned stream resource rf2": ("profile1d", "pruned", {"io_type": "io_stream", "strategy": "resource"}),
    "2d filter-pruned stream latency RF1": (
        "image2d", "filter-pruned", {"io_type": "io_stream", "strategy": "latency"},
    ),
}  # fmt: skip


def _accuracy(model, data) -> float:
    import numpy as np

    return float(np.mean(np.argmax(model.predict(data.x_test, verbose=0), axis=1) == data.y_test))


def _zeros(model) -> float:
    import numpy as np

    kernels = [np.asarray(layer.get_weights()[0]) for layer in model.layers if "Conv" in type(layer).__name__
               or type(layer).__name__ == "QDense"]  # fmt: skip
    return float(sum((kernel == 0).sum() for kernel in kernels) / sum(kernel.size for kernel in kernels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--only", nargs="*", help="configuration names to run (default: all)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_conv_csim"))
    arguments = parser.parse_args()

    from fpgacompress.errors import FpgacompressError
    from fpgacompress.firmware import BuildConfig, build, csim

    arguments.out.mkdir(parents=True, exist_ok=True)
    datasets, models, rows = {}, {}, []
    for name, (kind, variant, settings) in CONFIGURATIONS.items():
        if arguments.only and name not in arguments.only:
            continue
        row = {"configuration": name, "network": kind, "variant": variant}
        try:
            if kind not in datasets:
                datasets[kind] = _dataset(kind)
            data = datasets[kind]
            if (kind, "unpruned") not in models:
                models[kind, "unpruned"] = _trained(kind, data)
            if (kind, variant) not in models:
                maker = {"pruned": _pruned, "filter-pruned": _filter_pruned}[variant]
                models[kind, variant] = maker(models[kind, "unpruned"], data)
            model = models[kind, variant]
            settings = dict(settings)
            if "rf" in name.split()[-1] and name.split()[-1] != "RF1":
                settings["reuse_factor"] = _common_reuse_factors(model)[int(name.split()[-1][2:]) - 1]
            config = BuildConfig(n_testbench_samples=arguments.samples, tmux=TMUX, **settings)
            directory = arguments.out / name.replace(" ", "_")
            start = time.perf_counter()
            project = build(
                model, "serenity-vu13p", config, x_test=data.x_test, out_dir=directory, force=True
            )
            build_seconds = time.perf_counter() - start
            result = csim(project, optimization_level=1)
            filters = {layer.name: int(layer.filters) for layer in model.layers if hasattr(layer, "filters")}
            row.update(
                io_type=config.io_type, strategy=config.strategy, reuse_factor=config.reuse_factor,
                conv_implementation=config.conv_implementation, samples=result.n_samples,
                logits_bit_exact=result.n_samples - result.logits_mismatches, verdict=result.verdict,
                layer_mismatches=result.layer_mismatches, softmax_argmax_agreement=result.softmax_argmax_agreement,
                keras_test_accuracy=_accuracy(model, data), weight_zeros=_zeros(model), filters=filters,
                build_seconds=round(build_seconds, 1), compile_seconds=round(result.compile_seconds, 1),
            )  # fmt: skip
            shutil.rmtree(directory / "firmware" / "weights", ignore_errors=True)  # keep the results small
        except (FpgacompressError, ValueError, TypeError, KeyError, IndexError) as error:
            row["not_run"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        rows.append(row)
        print(json.dumps(row), flush=True)
    (arguments.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| configuration | io_type | strategy | RF | conv impl. | samples | logits bit-exact | softmax argmax "
          "agrees | Keras test acc. | kernel zeros | filters |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "not_run" in row:
            print(f"| {row['configuration']} | not run: {row['not_run']} |||||||||")
            continue
        print(
            f"| {row['configuration']} | {row['io_type']} | {row['strategy']} | {row['reuse_factor']} | "
            f"{row['conv_implementation']} | {row['samples']} | {row['logits_bit_exact']}/{row['samples']} "
            f"({row['verdict']}) | {row['softmax_argmax_agreement']:.1%} | {row['keras_test_accuracy']:.1%} | "
            f"{row['weight_zeros']:.0%} | {row['filters']} |"
        )


if __name__ == "__main__":
    main()
