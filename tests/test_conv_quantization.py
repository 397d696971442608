"""Quantizing convolutional models: QConv1D / QConv2D per layer, zeros kept, and their BOPs."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from fpgacompress.calorimeter import calorimeter_images  # noqa: E402
from fpgacompress.config import TrainingConfig  # noqa: E402
from fpgacompress.errors import ConfigError, ModelError  # noqa: E402
from fpgacompress.model_io import load_model, save_model  # noqa: E402
from fpgacompress.pruning import PruneSpec, PruningMask, apply_mask, prune  # noqa: E402
from fpgacompress.quantization import QuantizationSpec, quantization_report, quantize  # noqa: E402
from fpgacompress.training import train  # noqa: E402

SPEC = QuantizationSpec.parse(
    {
        "input": {"bits": 8, "integer": 3},
        "default": {"weight": {"bits": 8, "integer": 1}, "activation": {"bits": 6, "integer": 3}},
        "layer_type": {"Conv2D": {"weight": {"bits": 4, "integer": 0}}},
        "layer_name": {"conv2": {"weight": {"kind": "ternary"}}},
    }
)


def cnn(seed: int = 0, *, conv1d: bool = False):
    """8x8(x1) -> conv1(4, relu) -> max pool -> conv2(4, relu) -> Flatten -> Dense(3, softmax)."""
    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    if conv1d:
        inputs = tf.keras.Input((8, 8), name="input")
        x = layers.Conv1D(4, 3, activation="relu", name="conv1")(inputs)
        x = layers.MaxPooling1D(2, name="pool1")(x)
        x = layers.Conv1D(4, 2, activation="relu", name="conv2")(x)
    else:
        inputs = tf.keras.Input((8, 8, 1), name="input")
        x = layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
        x = layers.MaxPooling2D(2, name="pool1")(x)
        x = layers.Conv2D(4, 2, activation="relu", name="conv2")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(3, activation="softmax", name="output")(x)
    return tf.keras.Model(inputs, outputs, name="cnn")


def _half_pruned(model):
    """``model`` with the smaller half of every kernel set to zero and held there."""
    masks = {}
    for layer in model.layers:
        if getattr(layer, "kernel", None) is not None:
            kernel = layer.kernel.numpy()
            masks[layer.name] = np.abs(kernel) >= np.median(np.abs(kernel))
    return apply_mask(model, PruningMask(masks))


def test_quantize_makes_qconv_layers_per_type_and_name_and_keeps_zeros():
    pruned = _half_pruned(cnn())
    quantized = quantize(pruned, SPEC)
    kinds = {layer.name: type(layer).__name__ for layer in quantized.layers}
    assert (
        kinds["conv1"] == "QConv2D" and kinds["conv1_relu"] == "QActivation" and kinds["output"] == "QDense"
    )
    assert type(quantized.get_layer("conv1").kernel_quantizer_internal).__name__ == "quantized_bits"
    assert quantized.get_layer("conv1").kernel_quantizer_internal.bits == 4  # layer_type Conv2D
    assert type(quantized.get_layer("conv2").kernel_quantizer_internal).__name__ == "ternary"  # layer_name
    assert quantized.get_layer("output").kernel_quantizer_internal.bits == 8  # Conv2D does not set Dense
    mask = PruningMask.from_model(pruned)
    assert mask.violations(quantized) == {}
    x = np.random.default_rng(0).normal(size=(16, 8, 8, 1)).astype(np.float32)
    assert quantized.predict(x, verbose=0).shape == (16, 3)


def test_conv1d_quantizes_to_qconv1d_and_binary_on_pruned_kernels_is_refused():
    quantized = quantize(cnn(conv1d=True), QuantizationSpec.uniform(6))
    assert type(quantized.get_layer("conv2")).__name__ == "QConv1D"
    binary = QuantizationSpec.parse({"layer_type": {"Conv2D": {"weight": {"kind": "binary"}}}})
    with pytest.raises(
        ConfigError, match="Layer 'conv1' has .* pruned \\(zero\\) weights, but binary weights"
    ):
        quantize(_half_pruned(cnn()), binary)
    inputs = tf.keras.Input((1, 8, 8))
    first = tf.keras.Model(
        inputs, tf.keras.layers.Conv2D(2, 3, data_format="channels_first", name="conv")(inputs)
    )
    with pytest.raises(ModelError, match="Layer 'conv' uses data_format='channels_first'"):
        quantize(first, QuantizationSpec.uniform(6))
    with pytest.raises(ConfigError, match="unknown layer type 'Conv3D'"):
        QuantizationSpec.parse({"layer_type": {"Conv3D": {"weight": {"bits": 4}}}})


def test_conv_bops_follow_the_papers_formula_with_zeros_counted_after_quantization():
    quantized = quantize(_half_pruned(cnn()), SPEC)
    report = {layer.name: layer for layer in quantization_report(quantized).layers}
    conv1 = report["conv1"]
    kernel = np.asarray(
        quantized.get_layer("conv1").kernel_quantizer_internal(quantized.get_layer("conv1").kernel)
    )
    nonzero = int(np.count_nonzero(kernel))
    # 6x6 output pixels, 4 filters x 1 channel x 3x3, 4-bit weights, 8-bit input quantizer
    expected = 36 * (nonzero * 4 * 8 + 36 * (4 + 8 + math.log2(9)))
    assert conv1.output_pixels == 36 and conv1.input_bits == 8 and conv1.weight_bits == 4
    assert conv1.bops == round(expected)
    assert conv1.multiplications == nonzero * 36
    conv2 = report["conv2"]  # after conv1's 6-bit relu and a max pool (which keeps the bits)
    assert conv2.input_bits == 6 and conv2.output_pixels == 4 and conv2.multiplications == 0  # ternary
    assert report["output"].input_bits == 6  # Flatten keeps the relu's bits too
    assert report["output"].bops == report["output"].n_nonzero * 8 * 6  # Dense rows: products only
    float_report = quantization_report(cnn())
    assert float_report.layers[0].bops > conv1.bops  # 16-bit float counting costs more


@pytest.mark.slow
def test_pruned_conv_model_quantizes_to_qconv_keeping_zeros_through_qat_and_save_load(tmp_path):
    from fpgacompress.quantization import quantization_aware_training

    data = calorimeter_images(900, image_size=8, seed=3)
    images = replace(
        data, x_train=np.log1p(data.x_train), x_val=np.log1p(data.x_val), x_test=np.log1p(data.x_test)
    )
    model = cnn()
    train(model, images, TrainingConfig(epochs=12, batch_size=32, learning_rate=3e-3), progress=False)
    pruned = prune(
        model,
        images,
        PruneSpec(target_sparsity=0.5, max_iterations=1),
        training=TrainingConfig(epochs=1),
        progress=False,
    )
    float_accuracy = pruned.final.test_accuracy
    result = quantization_aware_training(
        pruned.model, SPEC, images, TrainingConfig(epochs=4, batch_size=32), progress=False
    )
    assert result.table.layers["conv1"].weight.describe() == "fixed<4,1>"
    assert result.table.layers["conv2"].weight.describe() == "ternary"
    assert result.mask.violations(result.model) == {}
    assert pruned.mask.violations(result.model) == {}
    save_model(result.model, tmp_path / "q.h5")
    reloaded = load_model(tmp_path / "q.h5")
    assert type(reloaded.get_layer("conv2")).__name__ == "QConv2D"
    train(
        reloaded, images, TrainingConfig(epochs=1), progress=False
    )  # the KernelMask came back with the file
    assert pruned.mask.violations(reloaded) == {}
    assert float_accuracy > 0.6  # chance is 1/3
    assert (
        result.training.metrics.accuracy > float_accuracy - 0.1
    )  # 4-bit / ternary convolutions keep most of it
