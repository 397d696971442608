"""Contracts of the quantization spec, quantize(), the BOPs report and the precision suggestion."""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.errors import ConfigError, ModelError
from fpgacompress.quantization.spec import QuantizationSpec, load_spec, save_spec


@pytest.fixture
def model():
    from fpgacompress.models import build_mlp

    return build_mlp("16-64-32-32-5", seed=1)


def pruned_copy(model, fraction: float):
    """A copy of ``model`` with the smallest ``fraction`` of every kernel set to exactly zero."""
    import tensorflow as tf

    copy = tf.keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers:
        if getattr(layer, "kernel", None) is not None:
            kernel = layer.kernel.numpy()
            kernel[np.abs(kernel) < np.quantile(np.abs(kernel), fraction)] = 0
            layer.kernel.assign(kernel)
    return copy


# --- spec errors: one clear line each -------------------------------------------------------------


def test_unknown_layer_name_is_rejected_with_the_available_names(model):
    spec = QuantizationSpec.parse({"layer_name": {"fc9": {"weight": {"bits": 6}}}})
    with pytest.raises(ConfigError, match=r"names layer\(s\) \['fc9'\].*Quantizable layers: fc1, relu1, fc2"):
        spec.resolve(model)


def test_integer_bits_above_total_bits_are_rejected():
    with pytest.raises(
        ConfigError, match=r"layer_name\.fc1\.weight: integer bits must be <= 5 for 6 total bits"
    ):
        QuantizationSpec.parse({"layer_name": {"fc1": {"weight": {"bits": 6, "integer": 7}}}})
    with pytest.raises(ConfigError, match=r"default\.activation: integer bits must be <= 3 for 4 total bits"):
        QuantizationSpec.parse({"default": {"activation": {"bits": 4, "integer": 5}}})


def test_saturating_quantizers_keep_a_fractional_bit_so_hls4ml_saturates_too():
    # hls4ml turns ufixed<6,6> into uint<6>, which wraps on overflow where QKeras saturates
    with pytest.raises(
        ConfigError, match=r"must be <= 5 for 6 total bits \(one fractional bit is kept, else hls4ml wraps"
    ):
        QuantizationSpec.parse({"default": {"activation": {"bits": 6, "integer": 6}}})
    with pytest.raises(
        ConfigError, match=r"input: .*must be <= 6 for 8 total bits \(one is the sign bit; one fractional"
    ):
        QuantizationSpec.parse({"input": {"bits": 8, "integer": 7}})
    QuantizationSpec.parse(
        {"default": {"weight": {"bits": 6, "integer": 5}}}
    )  # constants never overflow: int<6> is fine


@pytest.mark.parametrize("kind", ["ternary", "binary"])
def test_ternary_and_binary_activations_are_rejected(kind):
    with pytest.raises(ConfigError, match=rf"activations can only be kind 'fixed'.*received kind='{kind}'"):
        QuantizationSpec.parse({"default": {"activation": {"kind": kind, "bits": 2}}})


@pytest.mark.parametrize("alpha", ["auto", "auto_po2", 0.5])
def test_alpha_other_than_one_is_refused_because_it_is_not_bit_exact(alpha):
    with pytest.raises(ConfigError, match=r"alpha=.* is refused: .*not be bit-exact.*use alpha: 1"):
        QuantizationSpec.parse({"default": {"weight": {"bits": 6, "alpha": alpha}}})


def test_bits_on_ternary_and_typos_are_errors(model):
    with pytest.raises(
        ConfigError, match=r"kind 'ternary' has a fixed width of 2 bit\(s\); remove bits/integer"
    ):
        QuantizationSpec.parse({"default": {"weight": {"kind": "ternary", "bits": 4}}})
    with pytest.raises(ConfigError, match=r"layer_name\.fc1\.wieght: unknown key"):
        QuantizationSpec.parse({"layer_name": {"fc1": {"wieght": {"bits": 6}}}})
    with pytest.raises(ConfigError, match=r"threshold applies to kind 'ternary' only; received kind='fixed'"):
        QuantizationSpec.parse({"default": {"weight": {"bits": 6, "threshold": 0.1}}})
    with pytest.raises(ConfigError, match=r"unknown layer type 'Conv3D'"):
        QuantizationSpec.parse({"layer_type": {"Conv3D": {"weight": {"bits": 6}}}})
    spec = QuantizationSpec.parse({"layer_name": {"relu1": {"weight": {"bits": 6}}}})
    with pytest.raises(ConfigError, match=r"layer_name\.relu1: layer 'relu1' \(Activation\) has no weights"):
        spec.resolve(model)


def test_name_overrides_type_overrides_default(model):
    spec = QuantizationSpec.parse(
        {
            "default": {"weight": {"bits": 8, "integer": 0}, "activation": {"bits": 8, "integer": 3}},
            "layer_type": {"Dense": {"weight": {"kind": "ternary"}}},
            "layer_name": {
                "output": {"weight": {"bits": 10, "integer": 1}},
                "relu2": {"activation": {"bits": 5}},
            },
        }
    )
    table = spec.resolve(model)
    assert table.layers["fc1"].weight.describe() == "ternary"
    assert table.layers["output"].weight.describe() == "fixed<10,2>"
    assert table.layers["fc1"].bias.describe() == "fixed<8,1>"  # bias not overridden anywhere: default
    assert table.layers["relu1"].activation.describe() == "ufixed<8,3>"
    assert table.layers["relu2"].activation.describe() == "ufixed<5,0>"
    assert "softmax" not in table.layers


def test_spec_round_trips_through_yaml(tmp_path):
    spec = QuantizationSpec.parse(
        {
            "input": None,
            "layer_type": {"Dense": {"weight": {"kind": "binary"}}},
            "layer_name": {"fc1": {"bias": {"bits": 4}}},
        }
    )
    assert load_spec(save_spec(spec, tmp_path / "spec.yaml")) == spec
    (tmp_path / "bad.yaml").write_text("default: [1, 2")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_spec(tmp_path / "bad.yaml")


# --- quantize(): QKeras layers, names, weights, zeros ---------------------------------------------


def test_quantize_keeps_names_and_a_float_softmax(model):
    from fpgacompress.quantization import quantize

    quantized = quantize(model, QuantizationSpec.uniform(6, activation_integer=2))
    assert [(layer.name, type(layer).__name__) for layer in quantized.layers] == [
        ("input", "InputLayer"),
        ("input_quantizer", "QActivation"),
        ("fc1", "QDense"),
        ("relu1", "QActivation"),
        ("fc2", "QDense"),
        ("relu2", "QActivation"),
        ("fc3", "QDense"),
        ("relu3", "QActivation"),
        ("output", "QDense"),
        ("softmax", "Activation"),
    ]
    assert str(quantized.get_layer("fc1").kernel_quantizer_internal) == "quantized_bits(6,0,0,alpha=1)"
    assert str(quantized.get_layer("relu1").quantizer) == "quantized_relu(6,2)"
    for name in ("fc1", "fc2", "fc3", "output"):  # float weights are copied exactly
        for copied, original in zip(
            quantized.get_layer(name).get_weights(), model.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(copied, original)


@pytest.mark.parametrize(
    "kind,levels", [("fixed", None), ("ternary", {-1.0, 0.0, 1.0}), ("binary", {-1.0, 1.0})]
)
def test_quantized_weights_lie_on_the_fixed_point_grid(model, kind, levels):
    from fpgacompress.quantization import quantize
    from fpgacompress.quantization.convert import quantized_kernel

    quantized = quantize(model, QuantizationSpec.uniform(6, 1, weight_kind=kind))
    kernel = quantized_kernel(quantized.get_layer("fc2"))
    if levels is None:  # fixed<6,2>: multiples of 2**-4 in [-2, 2)
        steps = kernel * 2**4
        np.testing.assert_array_equal(steps, np.round(steps))
        assert kernel.min() >= -2 and kernel.max() < 2
    else:
        assert set(np.unique(kernel)) <= levels


@pytest.mark.parametrize("kind", ["fixed", "ternary"])
def test_pruned_zeros_are_constrained_in_the_quantized_model(model, kind):
    from fpgacompress.pruning.mask import KernelMask, PruningMask
    from fpgacompress.quantization import quantize
    from fpgacompress.quantization.convert import quantized_kernel

    pruned = pruned_copy(model, 0.8)
    quantized = quantize(pruned, QuantizationSpec.uniform(4, weight_kind=kind))
    assert PruningMask.from_model(pruned).violations(quantized) == {}
    for layer in ("fc1", "fc2", "fc3", "output"):
        assert isinstance(quantized.get_layer(layer).kernel_constraint, KernelMask)
        zeros = pruned.get_layer(layer).kernel.numpy() == 0
        assert np.all(quantized_kernel(quantized.get_layer(layer))[zeros] == 0)  # the quantizer maps 0 to 0


def test_binary_weights_on_a_pruned_layer_are_refused(model):
    from fpgacompress.quantization import quantize

    spec = QuantizationSpec.parse({"layer_name": {"fc2": {"weight": {"kind": "binary"}}}})
    with pytest.raises(
        ConfigError, match=r"Layer 'fc2' has 1638 pruned \(zero\) weights, but binary weights have no zero"
    ):
        quantize(pruned_copy(model, 0.8), spec)
    quantize(model, spec)  # a dense model takes binary weights


def test_quantize_refuses_models_it_cannot_map(model):
    import tensorflow as tf

    from fpgacompress.quantization import quantize

    fused = tf.keras.Sequential(
        [tf.keras.Input((16,)), tf.keras.layers.Dense(5, activation="elu", name="fc1")]
    )
    with pytest.raises(ModelError, match="Layer 'fc1' has activation 'elu'.* It cannot be quantized."):
        quantize(fused, QuantizationSpec())
    already = quantize(model, QuantizationSpec())
    with pytest.raises(ModelError, match="Layer 'input_quantizer' is a QActivation, not a float layer"):
        quantize(already, QuantizationSpec())
    inputs = tf.keras.Input((16,))
    branch = tf.keras.layers.Dense(4, name="a")(inputs)
    joined = tf.keras.layers.Concatenate(name="join")([branch, tf.keras.layers.Dense(4, name="b")(inputs)])
    with pytest.raises(
        ModelError, match=r"does not follow the previous layer|'join' \(Concatenate\) cannot be quantized"
    ):
        quantize(tf.keras.Model(inputs, joined), QuantizationSpec())


def test_quantize_takes_an_autopruner_reduced_topology():
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization import quantize

    reduced = build_mlp("12-9-5-5", seed=0)
    quantized = quantize(reduced, QuantizationSpec.uniform(8))
    assert quantized.get_layer("fc1").kernel.shape == (12, 9)
    assert quantized.predict(np.zeros((2, 12), np.float32), verbose=0).shape == (2, 5)


# --- report: BOPs, sparsity, multiplications -------------------------------------------------------


def test_bops_count_nonzero_weights_times_weight_and_input_bits(model):
    from fpgacompress.quantization import quantization_report, quantize
    from fpgacompress.quantization.convert import quantized_kernel

    spec = QuantizationSpec.parse(
        {
            "input": {"bits": 12, "integer": 3},
            "default": {"weight": {"bits": 6}, "activation": {"bits": 5, "integer": 2}},
            "layer_name": {"fc3": {"weight": {"kind": "ternary"}}},
        }
    )
    quantized = quantize(pruned_copy(model, 0.5), spec)
    report = quantization_report(quantized)
    nonzero = {
        name: int(np.count_nonzero(quantized_kernel(quantized.get_layer(name))))
        for name in ("fc1", "fc2", "fc3", "output")
    }
    expected = (
        nonzero["fc1"] * 6 * 12 + nonzero["fc2"] * 6 * 5 + nonzero["fc3"] * 2 * 5 + nonzero["output"] * 6 * 5
    )
    assert report.total_bops == expected
    by_name = {layer.name: layer for layer in report.layers}
    assert by_name["fc1"].input_bits == 12 and by_name["fc2"].input_bits == 5
    assert by_name["fc3"].multiplications == 0  # ternary: additions only
    assert by_name["fc2"].multiplications == nonzero["fc2"]
    assert by_name["fc1"].sparsity >= 0.5  # zeros after quantization include the pruned half
    assert report.input_quantizer == "fixed<12,4>"
    assert "total" in report.table() and str(expected) in report.table()


def test_a_float_model_is_counted_at_the_hls4ml_default_16_bits(model):
    from fpgacompress.quantization import quantization_report

    report = quantization_report(model)
    assert report.total_bops == (16 * 64 + 64 * 32 + 32 * 32 + 32 * 5) * 16 * 16
    assert report.input_quantizer == "float (16 bits)"


# --- precision suggestion ---------------------------------------------------------------------------


def test_integer_bits_cover_the_magnitude_within_the_budget():
    from fpgacompress.quantization.suggest import integer_bits

    assert integer_bits(0.7, 8, signed=True) == 0
    assert integer_bits(1.0, 8, signed=True) == 1  # [-1, 1) does not hold +1.0
    assert integer_bits(3.2, 8, signed=False) == 2
    assert integer_bits(100.0, 6, signed=True) == 5  # clamped: one bit is the sign
    assert integer_bits(0.0, 6, signed=False) == 0
    assert integer_bits(100.0, 6, signed=False, saturating=True) == 5
    assert integer_bits(100.0, 6, signed=True, saturating=True) == 4


def test_suggest_precision_follows_weight_and_activation_ranges(model, small_jets):
    from fpgacompress.quantization import suggest_precision

    data, _ = small_jets
    fc2 = model.get_layer("fc2")
    fc2.kernel.assign(fc2.kernel * 0 + np.float32(3.0))  # |w| = 3 -> with headroom 3.75 -> 2 integer bits
    spec = suggest_precision(model, data, total_bits=8, headroom=1.25)
    assert spec.layer_name["fc2"].weight.integer == 2
    assert spec.layer_name["fc1"].weight.integer == 0  # LeCun-uniform weights stay below 1
    relu2 = spec.layer_name["relu2"].activation
    assert relu2.bits == 8 and relu2.integer >= 3  # 64 inputs * 3.0 weights push relu2 far above 1
    assert spec.input.bits == 8 and spec.input.integer >= 1  # standardized inputs exceed 1 sigma
    spec.resolve(model)  # every suggested name is a layer of the model
    with pytest.raises(ConfigError, match="total_bits must be between 2 and 32; received 1"):
        suggest_precision(model, data, total_bits=1)


def test_ternary_suggestion_sets_thresholds_and_widens_relu_ranges(model, small_jets):
    from fpgacompress.quantization import quantize, suggest_precision
    from fpgacompress.quantization.convert import quantized_kernel

    data, _ = small_jets
    fixed = suggest_precision(model, data, total_bits=8)
    ternary = suggest_precision(model, data, total_bits=8, weight_kind="ternary")
    kernel = model.get_layer("fc2").kernel.numpy()
    assert ternary.layer_name["fc2"].weight.threshold == pytest.approx(0.7 * np.abs(kernel).mean())
    # +-1 weights are far larger than LeCun-uniform ones: the ReLU after them needs more integer bits
    assert ternary.layer_name["relu2"].activation.integer > fixed.layer_name["relu2"].activation.integer
    quantized = quantize(model, ternary)
    levels = quantized_kernel(quantized.get_layer("fc2"))
    assert set(np.unique(levels)) == {-1.0, 0.0, 1.0}  # QAT starts with live weights, not all zeros
    assert 0.2 < np.mean(levels != 0) < 0.8


def test_weight_quantile_lets_the_few_largest_weights_saturate_for_resolution(model, small_jets):
    from fpgacompress.quantization import quantize, suggest_precision
    from fpgacompress.quantization.convert import quantized_kernel

    data, _ = small_jets
    fc1 = model.get_layer("fc1")
    kernel = np.full(fc1.kernel.shape, 0.3, np.float32)  # 1024 weights of 0.3 ...
    kernel[0, 0] = 5.0  # ... and one outlier
    kernel[1, :] = 0.0  # pruned zeros do not count towards the quantile
    fc1.kernel.assign(kernel)
    largest = suggest_precision(model, data, total_bits=6)
    quantile = suggest_precision(model, data, total_bits=6, weight_quantile=0.99)
    assert largest.layer_name["fc1"].weight.integer == 3  # 5.0 needs [-8, 8): a step of 1/4
    assert quantile.layer_name["fc1"].weight.integer == 0  # 0.3 fits [-1, 1): a step of 1/32
    levels = quantized_kernel(quantize(model, quantile).get_layer("fc1"))
    assert levels[0, 0] == pytest.approx(1 - 1 / 32)  # the outlier saturates
    assert np.all(levels[1, :] == 0) and np.abs(levels[2:, :] - 0.3).max() <= 1 / 64  # the rest resolved
    assert np.all(quantized_kernel(quantize(model, largest).get_layer("fc1"))[2:, :] == 0.25)  # 0.3 -> 1/4
    with pytest.raises(ConfigError, match=r"weight_quantile must be in \(0, 1\]; received 0"):
        suggest_precision(model, data, total_bits=6, weight_quantile=0)
