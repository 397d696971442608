"""build(): refusals before anything is written, atomic output, and what a project contains.

These tests write hls4ml projects but compile nothing (g++ runs in tests/test_csim*.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgacompress.boards import board_names
from fpgacompress.errors import BoardError, BuildError, ConfigError, ModelError
from fpgacompress.firmware import BuildConfig, build, load_project, valid_reuse_factors
from fpgacompress.recipe import parse_section


def _qkeras_tagger(topology=(16, 64, 32, 5), input_quantizer=True, activation="quantized_relu(8,3)"):
    """A small untrained QKeras tagger in the shape fpgacompress.quantization produces."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((topology[0],), name="input")
    x = (
        QActivation(quantized_bits(16, 5, alpha=1), name="input_quantizer")(inputs)
        if input_quantizer
        else inputs
    )
    for index, width in enumerate(topology[1:-1], start=1):
        x = QDense(
            width,
            kernel_quantizer=quantized_bits(6, 0, alpha=1),
            bias_quantizer=quantized_bits(6, 0, alpha=1),
            name=f"fc{index}",
        )(x)
        x = QActivation(activation, name=f"relu{index}")(x)
    x = QDense(
        topology[-1],
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        name="output",
    )(x)
    outputs = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def tagger():
    return _qkeras_tagger()


@pytest.fixture(scope="module")
def jets_x():
    from fpgacompress.data import load_jets

    data, _ = load_jets().subsample(max_train=1000, max_test=1000, seed=0).standardized()
    return data.x_test


def _nothing_written(tmp_path):
    return list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- refusals, before any file is written


def test_unknown_board_is_refused_listing_valid_boards(tagger, jets_x, tmp_path):
    with pytest.raises(BoardError) as error:
        build(tagger, "serenity-vu31p", x_test=jets_x, out_dir=tmp_path / "fw")
    assert str(error.value) == f"Unknown board 'serenity-vu31p'. Available: {', '.join(board_names())}."
    assert _nothing_written(tmp_path)


def test_invalid_reuse_factor_is_refused_listing_valid_ones(tagger, jets_x, tmp_path):
    with pytest.raises(ConfigError) as error:
        build(tagger, "serenity-vu13p", BuildConfig(reuse_factor=3), x_test=jets_x, out_dir=tmp_path / "fw")
    message = str(error.value)
    assert message.startswith(
        "Reuse factor 3 is not valid for layer 'fc1' (16 inputs x 64 outputs); valid for it: 1, 2, 4, 8, 16, 32,"
    )
    assert "Valid for every layer: 1, 2, 4, 8, 16" in message
    assert _nothing_written(tmp_path)


def test_initiation_interval_over_the_lhc_budget_is_refused(tagger, jets_x, tmp_path):
    config = BuildConfig(reuse_factor=8, strategy="resource")  # II 8 > 240 MHz x 25 ns = 6 cycles
    with pytest.raises(BoardError) as error:
        build(tagger, "serenity-vu13p", config, x_test=jets_x, out_dir=tmp_path / "fw")
    assert str(error.value).startswith(
        "Initiation interval 8 cycles (reuse factor 8) exceeds the LHC budget of 6 cycles at 240 MHz with TMUX 1"
    )
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("make_layer", "expected"),
    [
        (
            lambda: __import__("tensorflow").keras.layers.LayerNormalization(name="norm"),
            "Layer 'norm' of type LayerNormalization is not supported by the firmware flow: use BatchNormalization.",
        ),
        (
            lambda: __import__("qkeras").QActivation("quantized_ulaw(6)", name="ulaw"),
            "Layer 'ulaw' is a QActivation with 'quantized_ulaw'",
        ),
        (
            lambda: __import__("tensorflow").keras.layers.Activation("elu", name="elu"),
            "Layer 'elu' has activation 'elu', which the firmware build does not support. "
            "Supported: linear, relu, softmax, sigmoid, tanh",
        ),
    ],
    ids=["layer_norm", "quantized_ulaw", "elu"],
)
def test_unsupported_layer_or_quantizer_is_named(make_layer, expected, jets_x, tmp_path):
    import tensorflow as tf
    from qkeras import QDense, quantized_bits

    inputs = tf.keras.Input((16,), name="input")
    x = QDense(8, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="fc1")(inputs)
    x = make_layer()(x)
    outputs = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="output")(x)
    with pytest.raises(ModelError, match=expected):
        build(tf.keras.Model(inputs, outputs), "serenity-vu13p", x_test=jets_x, out_dir=tmp_path / "fw")
    assert _nothing_written(tmp_path)


def test_stochastic_weight_quantizer_is_refused(jets_x, tmp_path):
    import tensorflow as tf
    from qkeras import QDense, stochastic_ternary

    inputs = tf.keras.Input((16,), name="input")
    outputs = QDense(5, kernel_quantizer=stochastic_ternary(alpha=1), name="output")(inputs)
    with pytest.raises(
        ModelError,
        match=r"kernel_quantizer 'stochastic_ternary'.*Supported weight quantizers: quantized_bits, quantized_po2, ternary, binary",
    ):
        build(tf.keras.Model(inputs, outputs), "serenity-vu13p", x_test=jets_x, out_dir=tmp_path / "fw")


def test_existing_output_directory_is_kept_unless_forced(tagger, jets_x, tmp_path):
    out = tmp_path / "fw"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"already exists.*--force"):
        build(tagger, "serenity-vu13p", x_test=jets_x, out_dir=out)
    assert (out / "keep.txt").read_text() == "mine"


def test_failed_build_leaves_no_directory_behind(tagger, jets_x, tmp_path, monkeypatch):
    import fpgacompress.firmware.project as project_module

    def disk_full(*args, **kwargs):  # fault injection: fail after hls4ml has written the project
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_module, "write_csim_testbench", disk_full)
    with pytest.raises(BuildError, match="No space left on device"):
        build(tagger, "serenity-vu13p", x_test=jets_x, out_dir=tmp_path / "fw")
    assert _nothing_written(tmp_path), [path.name for path in tmp_path.iterdir()]


def test_input_precision_conflicting_with_an_input_quantizer_is_refused(tagger, jets_x, tmp_path):
    with pytest.raises(ConfigError, match="conflicts with the model's input quantizer 'input_quantizer'"):
        build(
            tagger,
            "serenity-vu13p",
            BuildConfig(input_precision="fixed<12,4>"),
            x_test=jets_x,
            out_dir=tmp_path / "fw",
        )


def test_build_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ConfigError, match="reusefactor"):
        parse_section(BuildConfig, {"reusefactor": 2}, "build")
    with pytest.raises(ConfigError, match="strategy"):
        parse_section(BuildConfig, {"strategy": "fast"}, "build")
    with pytest.raises(ConfigError, match="tmux"):
        parse_section(BuildConfig, {"tmux": 0}, "build")


@pytest.mark.parametrize(
    ("n_in", "n_out"), [(16, 64), (64, 32), (32, 32), (32, 5), (10, 24), (24, 12), (12, 5)]
)
def test_valid_reuse_factors_match_hls4ml(n_in, n_out):
    from hls4ml.backends import get_backend

    assert valid_reuse_factors(n_in, n_out) == get_backend("Vitis").get_valid_reuse_factors(n_in, n_out)


# ---------------------------------------------------------------- what a project contains


@pytest.fixture(scope="module")
def project(tagger, jets_x, tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "fw"
    config = BuildConfig(
        board="serenity-ku15p", reuse_factor=2, strategy="resource", tmux=1, n_testbench_samples=1000
    )
    return build(tagger, None, config, x_test=jets_x, out_dir=out)


def test_project_has_hls4ml_files_our_templates_and_testbench(project):
    for name in ("firmware/myproject.cpp", "firmware/ap_types/ap_fixed.h", "build_prj.tcl", "myproject_test.cpp",
                 "fpgacompress_csim.cpp", "synth.tcl", "README.md", "manifest.json", "build.log",
                 "tb_data/tb_input_features.dat", "tb_data/tb_output_predictions.dat", "tb_data/fpgacompress_reference.npz"):  # fmt: skip
        assert (project.path / name).is_file(), name
    assert not list(project.path.parent.glob(".fw.building-*"))


def test_synthesis_script_has_the_boards_part_and_clock(project):
    script = (project.path / "synth.tcl").read_text()
    assert "set_part {xcku15p-ffva1760-2-e}" in script
    assert "create_clock -period 4.16667 -name default" in script  # 240 MHz
    assert "vitis_hls -f synth.tcl" in script
    readme = (project.path / "README.md").read_text()
    assert "fpgacompress csim ." in readme and "serenity-ku15p" in readme


def test_testbench_holds_1000_real_jets_on_the_input_grid(project, jets_x):
    lines = (project.path / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    # written as the shortest decimals that read back (strtof, as the testbench does) to the float32 values
    inputs = np.array([line.split() for line in lines], dtype=np.float32).astype(np.float64)
    assert inputs.shape == (1000, 16)
    scaled = inputs * 2.0**10  # fixed<16,6>: 10 fractional bits, from quantized_bits(16, 5)
    assert np.array_equal(scaled, np.round(scaled))
    assert np.max(np.abs(inputs - jets_x[:1000])) <= 2.0**-10


def test_manifest_records_versions_board_settings_and_timing(project):
    manifest = json.loads((project.path / "manifest.json").read_text())
    assert set(manifest["versions"]) >= {"python", "fpgacompress", "hls4ml", "tensorflow", "qkeras", "numpy"}
    assert manifest["board"]["part"] == "xcku15p-ffva1760-2-e"
    assert manifest["settings"]["reuse_factor"] == 2 and manifest["settings"]["strategy"] == "resource"
    assert manifest["timing"] == {
        "clock_mhz": 240.0, "clock_period_ns": 4.166667, "tmux": 1,
        "estimated_initiation_interval": 2, "max_initiation_interval": 6,
    }  # fmt: skip
    assert manifest["input_precision"] == "fixed<16,6>"
    assert (
        manifest["testbench"]["logits_layer"] == "output"
        and manifest["testbench"]["softmax_layer"] == "softmax"
    )
    fc1 = next(layer for layer in manifest["layers"] if layer["name"] == "fc1")
    assert fc1["weight"] == "ap_fixed<6,1>" and fc1["reuse_factor"] == 2
    loaded = load_project(project.path)
    assert loaded.board == project.board and loaded.settings == project.settings


def test_load_project_refuses_a_directory_that_is_not_a_project(tmp_path):
    with pytest.raises(BuildError, match=r"is not an fpgacompress HLS project \(no manifest.json\)"):
        load_project(tmp_path)


def test_model_without_input_quantizer_uses_the_given_input_precision(jets_x, tmp_path):
    model = _qkeras_tagger(topology=(16, 8, 5), input_quantizer=False)
    project = build(
        model,
        "zcu102",
        BuildConfig(input_precision="fixed<10,4>", n_testbench_samples=50),
        x_test=jets_x,
        out_dir=tmp_path / "fw",
    )
    assert project.manifest["input_precision"] == "fixed<10,4>"
    inputs = np.loadtxt(project.path / "tb_data" / "tb_input_features.dat", dtype=np.float32).astype(
        np.float64
    )
    assert inputs.shape == (50, 16)
    assert inputs.min() >= -8 and inputs.max() <= 8 - 2.0**-6
    assert np.array_equal(inputs * 64, np.floor(inputs * 64))


@pytest.mark.parametrize(
    ("n_in", "input_precision", "bias_precision", "expected"),
    [
        (16, "ufixed<8,3,RND_CONV,SAT>", "fixed<6,1>", "fixed<14,9>"),  # 16 x 8 + 1 = 129 needs 8 bits + sign
        (64, "ufixed<8,3>", "fixed<6,1,TRN,WRAP>", "fixed<16,11>"),  # 64 x 8 + 1 = 513 needs 10 bits + sign
        (16, "fixed<16,6>", "fixed<6,1>", "fixed<21,11>"),  # 16 x 32 + 1 = 513, 10 fractional bits
    ],
)
def test_binary_layers_get_an_exact_accumulator(n_in, input_precision, bias_precision, expected):
    from fpgacompress.firmware.hls_config import binary_dense_precision

    assert binary_dense_precision(n_in, input_precision, bias_precision) == expected


def test_binary_layer_after_an_unquantized_input_is_refused():
    from fpgacompress.firmware.hls_config import binary_dense_precision

    with pytest.raises(ModelError, match=r"Binary weights need a fixed-point input.*Received input auto"):
        binary_dense_precision(16, "auto", "fixed<6,1>")


def test_project_holds_the_model_load_model_reloads(project, tagger, jets_x):
    from fpgacompress.model_io import load_model

    reloaded = load_model(project.path / "model.h5")
    assert json.loads((project.path / "manifest.json").read_text())["model"] == "model.h5"
    np.testing.assert_array_equal(
        reloaded.predict(jets_x[:64], verbose=0), tagger.predict(jets_x[:64], verbose=0)
    )
