"""Layer kinds: one home per kind, asked by the build, the csim reference, pruning, quantization, the estimator.

Fast: models are tiny and nothing is compiled (g++ runs in tests/test_csim_intake.py); only the
pruning + QAT test trains (slow).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fpgacompress.errors import ConfigError, ModelError
from fpgacompress.layer_kinds import KINDS, kind_of, kinds_markdown, model_steps

README = Path(__file__).resolve().parents[1] / "README.md"


def _q(bits=8, integer=1):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def _chain(*layers, n_features=10, name="model"):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((n_features,), name="input")
    x = inputs
    for layer in layers:
        x = layer(x)
    return tf.keras.Model(inputs, x, name=name)


def _fused_softmax_qkeras():
    from qkeras import QActivation, QDense, quantized_relu

    return _chain(
        QActivation(_q(12, 4), name="input_quantizer"),
        QDense(8, kernel_quantizer=_q(), bias_quantizer=_q(), name="fc1"),
        QActivation(quantized_relu(8, 3), name="relu1"),
        QDense(5, kernel_quantizer=_q(), bias_quantizer=_q(), activation="softmax", name="output"),
    )


def _float_with_batch_norm_and_dropout():
    import tensorflow as tf

    return _chain(
        tf.keras.layers.Dense(8, name="fc1"),
        tf.keras.layers.BatchNormalization(name="bn1"),
        tf.keras.layers.Activation("relu", name="relu1"),
        tf.keras.layers.Dropout(0.2, name="dropout"),
        tf.keras.layers.Dense(8, activation="relu", name="fc2"),
        tf.keras.layers.Dense(5, activation="softmax", name="output"),
    )


@pytest.fixture(scope="module")
def x10():
    return np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)


# ------------------------------------------------------------------ the table, true by construction


def test_readme_layer_table_is_the_one_the_code_generates():
    assert kinds_markdown() in README.read_text(), "regenerate it with: fpgacompress layers --markdown"


def test_every_kind_fills_every_column_of_the_table():
    from fpgacompress.layer_kinds import kinds_table

    for row in kinds_table():
        assert all(row.values()), row
    assert {"Dense", "QDense", "BatchNormalization", "QBatchNormalization", "Dropout", "LeakyReLU"} <= set(
        KINDS
    )


def test_layers_command_lists_every_kind(capsys):
    from fpgacompress.cli import main

    assert main(["layers"]) == 0
    printed = capsys.readouterr().out
    for kind in ("input", "dense", "activation", "batch_norm", "dropout"):
        assert f"{kind}: " in printed


# ------------------------------------------------------------------ unsupported: one line, what to use


@pytest.mark.parametrize(
    ("make_layer", "expected"),
    [
        (
            lambda: __import__("tensorflow").keras.layers.Lambda(lambda t: t * 2, name="double"),
            "Layer 'double' of type Lambda is not supported by the firmware flow: a Lambda holds Python code",
        ),
        (
            lambda: __import__("tensorflow").keras.layers.ELU(name="elu"),
            "Layer 'elu' of type ELU is not supported by the firmware flow: use relu, or LeakyReLU.",
        ),
        (
            lambda: __import__("tensorflow").keras.layers.Activation("swish", name="swish"),
            "Layer 'swish' has activation 'swish', which the firmware build does not support",
        ),
    ],
    ids=["lambda", "elu", "swish"],
)
def test_unsupported_layer_is_one_line_naming_it_and_the_alternative(make_layer, expected):
    import tensorflow as tf

    from fpgacompress.firmware.checks import check_supported_model

    model = _chain(
        tf.keras.layers.Dense(8, name="fc1"), make_layer(), tf.keras.layers.Dense(5, name="output")
    )
    with pytest.raises(ModelError, match=expected) as caught:
        check_supported_model(model)
    assert "\n" not in str(caught.value)


def test_layers_users_bring_pass_the_build_checks():
    import tensorflow as tf
    from qkeras import (
        QActivation,
        QBatchNormalization,
        QDense,
        quantized_po2,
        quantized_sigmoid,
        quantized_tanh,
    )

    from fpgacompress.firmware.checks import check_supported_model

    model = _chain(
        QActivation(_q(12, 4), name="input_quantizer"),
        QDense(8, kernel_quantizer=quantized_po2(4, 1), bias_quantizer=_q(), name="fc1"),
        QBatchNormalization(name="qbn1"),
        QActivation(quantized_tanh(8), name="tanh1"),
        tf.keras.layers.Dropout(0.1, name="dropout"),
        QDense(8, kernel_quantizer=_q(), bias_quantizer=_q(), name="fc2"),
        tf.keras.layers.BatchNormalization(name="bn2"),
        QActivation(quantized_sigmoid(8), name="sigmoid2"),
        tf.keras.layers.Dense(8, activation="tanh", name="fc3"),
        tf.keras.layers.LeakyReLU(0.25, name="leaky"),
        tf.keras.layers.Dense(1, activation="sigmoid", name="output"),
    )
    check_supported_model(model)  # main refused every one of these layers
    assert [step.name for step in model_steps(model)][-2:] == ["output", "output_sigmoid"]


# ------------------------------------------------------------------ fused activations, like with like


def test_fused_softmax_is_split_like_hls4ml_and_the_logits_are_the_pre_activation(x10):
    from fpgacompress.firmware.hls_config import prepare_for_hls4ml
    from fpgacompress.firmware.testbench import compute_reference

    model = prepare_for_hls4ml(_fused_softmax_qkeras())
    reference = compute_reference(model, x10, None)
    assert list(reference.layer_outputs)[-2:] == ["output", "output_softmax"]
    assert (reference.logits_layer, reference.softmax_layer, reference.output_function) == (
        "output",
        "output_softmax",
        "softmax",
    )
    logits = reference.layer_outputs["output"]
    assert not np.allclose(logits.sum(axis=1), 1.0)  # pre-activation, not probabilities
    softmax = reference.layer_outputs["output_softmax"]
    np.testing.assert_array_equal(softmax, np.asarray(model(reference.inputs)))  # the model's own output
    assert reference.inexact_layers == {}  # a QKeras model with a softmax head can be bit-exact


def test_fused_softmax_gets_the_fine_softmax_tables():
    from fpgacompress.firmware import BuildConfig
    from fpgacompress.firmware.hls_config import hls4ml_config, prepare_for_hls4ml, softmax_table_types

    config = hls4ml_config(prepare_for_hls4ml(_fused_softmax_qkeras()), BuildConfig())
    softmax = config["LayerName"]["output_softmax"]
    assert softmax["Trace"] is True
    for key, value in softmax_table_types(5).items():
        assert softmax[key] == value


def test_float_layers_and_batch_norm_are_marked_inexact_by_construction(x10):
    from fpgacompress.firmware.hls_config import prepare_for_hls4ml
    from fpgacompress.firmware.testbench import compute_reference

    reference = compute_reference(
        prepare_for_hls4ml(_float_with_batch_norm_and_dropout()), x10, "fixed<16,6>"
    )
    assert set(reference.inexact_layers) == {"fc1", "bn1", "fc2", "output"}
    assert "dropout" in reference.layer_outputs  # kept for alignment; hls4ml drops it
    assert reference.logits_layer == "output"


def test_csim_verdict_of_a_design_that_cannot_be_bit_exact():
    from fpgacompress.firmware.csimulation import CsimResult
    from fpgacompress.layer_kinds.dense import FLOAT_WEIGHTS

    def result(inexact, mismatches):
        return CsimResult(
            Path("fw"), 100, "output", mismatches, 0 if mismatches else None, "fc1" if mismatches else None,
            {"fc1": mismatches, "output": mismatches}, (), 0.99, 0.01, 1.0, 0.1, Path("log"),
            output_function="softmax", inexact_layers=inexact, layer_differences={"fc1": (0.5, 0.1), "output": (1.0, 0.2)},
        )  # fmt: skip

    float_model = result({"fc1": FLOAT_WEIGHTS}, 100)
    assert float_model.verdict == "float model: not bit-exact by construction"
    assert float_model.passed() and not float_model.passed(require_bit_exact=True)
    summary = float_model.summary()
    assert "fidelity (|firmware - Keras| per layer: max, mean):" in summary
    assert "  output: 1, 0.2" in summary
    assert "softmax (lookup table, approximate): argmax agrees on 99.00% of samples" in summary
    batch_norm = result({"bn1": "batch norm scale and shift are rounded"}, 3)
    assert batch_norm.verdict == "not bit-exact by construction"
    broken = result({}, 1)
    assert broken.verdict == "MISMATCHES" and not broken.passed()


def test_layers_hls4ml_removes_are_compared_inside_the_layer_they_were_folded_into():
    from fpgacompress.firmware.csimulation import _aligned_reference, _traced_logits_layer
    from fpgacompress.firmware.testbench import ReferenceData

    outputs = {
        name: np.full((2, 5), index, np.float32)
        for index, name in enumerate(["fc1", "output", "bn", "output_softmax"])
    }
    reference = ReferenceData(np.zeros((2, 16)), outputs, "bn", "output_softmax", "softmax", {"bn": "folded"})
    firmware = {"fc1": {}, "output": {}, "output_softmax": {}}  # hls4ml folded the batch norm into 'output'
    aligned = _aligned_reference(reference, firmware)
    np.testing.assert_array_equal(aligned["output"], outputs["bn"])  # like for like: after the batch norm
    compared = [name for name in aligned if name != "output_softmax"]
    assert _traced_logits_layer(reference, compared) == "output"


# ------------------------------------------------------------------ pruning, quantization, estimator


def test_pruning_finds_only_dense_kernels_and_keeps_batch_norm_and_dropout():
    from fpgacompress.pruning import PruningMask, apply_mask

    model = _float_with_batch_norm_and_dropout()
    mask = PruningMask.from_model(model)
    assert sorted(mask.masks) == ["fc1", "fc2", "output"]
    masked = apply_mask(model, mask)
    assert [type(layer).__name__ for layer in masked.layers].count("BatchNormalization") == 1
    assert "dropout" in [layer.name for layer in masked.layers]


def test_quantize_keeps_batch_norm_and_dropout_and_splits_a_fused_relu(x10):
    from fpgacompress.quantization import QuantizationSpec, quantize

    model = _float_with_batch_norm_and_dropout()
    spec = QuantizationSpec.parse({"layer_name": {"fc2_relu": {"activation": {"bits": 6, "integer": 2}}}})
    qmodel = quantize(model, spec)
    names = {layer.name: type(layer).__name__ for layer in qmodel.layers}
    assert names["bn1"] == "BatchNormalization" and names["dropout"] == "Dropout"
    assert names["fc2"] == "QDense" and names["fc2_relu"] == "QActivation"
    assert str(qmodel.get_layer("fc2_relu").quantizer) == "quantized_relu(6,2)"
    assert names["output"] == "QDense" and qmodel.get_layer("output").get_config()["activation"] == "softmax"
    np.testing.assert_array_equal(
        qmodel.get_layer("bn1").get_weights()[2], model.get_layer("bn1").get_weights()[2]
    )


def test_estimator_reads_batch_norm_dropout_and_fused_heads():
    from fpgacompress.estimation.keras_reader import read_keras_model

    design = read_keras_model(_float_with_batch_norm_and_dropout())
    names = [layer.name for layer in design.layers]
    assert names == ["fc1", "bn1", "relu1", "fc2", "fc2_relu", "output", "output_softmax"]
    batch_norm = design.layers[1]
    assert batch_norm.n_nonzero == 8  # one multiplier per feature: a scale-and-shift


# ------------------------------------------------------------------ power-of-two weights


def test_po2_accumulator_holds_every_sum_exactly():
    from fpgacompress.layer_kinds.dense import po2_dense_precision

    kernel = np.array([[0.5, -0.25], [1.0, 0.125]])
    bias = np.array([-2.0, 1.984375])  # the extremes of fixed<8,2>
    assert po2_dense_precision("ufixed<8,3>", "fixed<8,2>", kernel) == "fixed<13,5>"
    # every pair of inputs on the ufixed<8,3> grid: each sum is on fixed<13,5>'s grid and in its range
    grid = np.arange(256) / 32.0
    first, second = np.meshgrid(grid, grid)
    sums = first[..., None] * kernel[0] + second[..., None] * kernel[1] + bias
    assert np.all(sums * 2**8 == np.round(sums * 2**8))
    assert sums.min() >= -(2.0**4) and sums.max() < 2.0**4


# ------------------------------------------------------------------ post-training quantization


def test_folding_batch_norms_keeps_the_function(x10):
    import tensorflow as tf

    from fpgacompress.quantization.ptq import fold_batch_norms

    model = _float_with_batch_norm_and_dropout()
    bn = model.get_layer("bn1")
    rng = np.random.default_rng(1)
    bn.set_weights([rng.uniform(0.5, 2, 8), rng.normal(size=8), rng.normal(size=8), rng.uniform(0.5, 2, 8)])
    folded, names = fold_batch_norms(model)
    assert names == ("bn1",)
    assert "bn1" not in [layer.name for layer in folded.layers]
    np.testing.assert_allclose(
        np.asarray(folded(x10)), np.asarray(model(x10, training=False)), rtol=1e-5, atol=1e-6
    )
    del tf


def test_ptq_refuses_a_model_that_is_already_quantized(x10):
    from fpgacompress.quantization.ptq import post_training_quantize

    with pytest.raises(
        ConfigError, match="already has QKeras layers; post-training quantization takes a float model"
    ):
        post_training_quantize(_fused_softmax_qkeras(), x10)


def test_kind_of_names_the_layer_for_wrapped_models():
    class PruneLowMagnitude:
        name = "fc1"

    with pytest.raises(ModelError, match="strip_pruning"):
        kind_of(PruneLowMagnitude())


@pytest.mark.slow
@pytest.mark.parametrize("method", ["iterative"])
def test_pruning_and_qat_handle_batch_norm_and_dropout(method, small_jets):
    import tensorflow as tf

    from fpgacompress.config import TrainingConfig
    from fpgacompress.pruning import PruneSpec, PruningMask, prune
    from fpgacompress.quantization import QuantizationSpec, quantization_aware_training

    data, _ = small_jets
    data = data.subsample(max_train=2000, max_test=500, seed=0)
    model = _chain(
        tf.keras.layers.Dense(16, name="fc1"),
        tf.keras.layers.BatchNormalization(name="bn1"),
        tf.keras.layers.Activation("relu", name="relu1"),
        tf.keras.layers.Dropout(0.1, name="dropout"),
        tf.keras.layers.Dense(5, activation="softmax", name="output"),
        n_features=16,
    )
    quick = TrainingConfig(epochs=1, batch_size=256, early_stopping_patience=None, seed=0)
    spec = PruneSpec(
        method=method,
        target_sparsity=0.5,
        fraction_per_iteration=0.5,
        epochs_per_iteration=1,
        max_iterations=1,
    )
    pruned = prune(model, data, spec, training=quick, progress=False)
    assert sorted(pruned.mask.masks) == ["fc1", "output"]
    assert pruned.mask.sparsity > 0.3
    kept = [type(layer).__name__ for layer in pruned.model.layers]
    assert "BatchNormalization" in kept and "Dropout" in kept
    result = quantization_aware_training(
        pruned.model, QuantizationSpec.uniform(8, 1), data, quick, progress=False
    )
    names = {layer.name: type(layer).__name__ for layer in result.model.layers}
    assert names["bn1"] == "BatchNormalization" and names["dropout"] == "Dropout" and names["fc1"] == "QDense"
    assert PruningMask.from_model(result.model).n_kept <= pruned.mask.n_kept  # the zeros survived QAT


def test_a_project_built_before_layer_kinds_still_loads_its_reference(tmp_path):
    from fpgacompress.firmware.testbench import REFERENCE_FILE, ReferenceData, load_reference, save_reference

    outputs = {"output": np.ones((2, 5), np.float32), "softmax": np.full((2, 5), 0.2, np.float32)}
    save_reference(ReferenceData(np.zeros((2, 16)), outputs, "output", "softmax", "softmax", {}), tmp_path)
    with np.load(tmp_path / REFERENCE_FILE) as stored:
        older = {key: stored[key] for key in stored.files if key not in ("output_function", "inexact_layers")}
    np.savez_compressed(tmp_path / REFERENCE_FILE, **older)
    reference = load_reference(tmp_path)
    assert (reference.output_function, reference.inexact_layers, reference.softmax_layer) == (
        "softmax",
        {},
        "softmax",
    )
