"""``fpgacompress build --csim`` and ``fpgacompress csim`` from a saved model, as a user runs them.

One g++ compile (slow): the tampering test reuses the up-to-date binary, and proves the comparison
is exact by changing a single logit by one least significant bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, small_jets):
    import tensorflow as tf

    from fpgacompress.model_io import save_model
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization import QuantizationSpec, quantize

    data, standardizer = small_jets
    tf.keras.utils.set_random_seed(0)
    model = build_mlp("16-16-5", seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=2, batch_size=256, verbose=0)
    qmodel = quantize(model, QuantizationSpec.uniform(8, 1, activation_bits=8, activation_integer=3))
    path = tmp_path_factory.mktemp("model") / "tagger.h5"
    save_model(qmodel, path, standardizer)
    return path


@pytest.fixture(scope="module")
def built(saved_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "fw"
    code = main([
        "build", str(saved_model), "--board", "serenity-vu9p", "--reuse-factor", "2", "--strategy", "resource",
        "--io-type", "io_stream", "--tmux", "2", "--out", str(out), "--csim",
    ])  # fmt: skip  (io_stream Resource: a layer's II is its latency, TMUX 2 holds it)
    return code, out


def test_build_with_csim_is_bit_exact_and_exits_zero(built, capsys):
    code, out = built
    assert code == 0
    assert (out / "fpgacompress_csim").is_file()
    assert (out / "csim_compile.log").read_text().startswith("$ g++ -O2 -std=c++11")


def test_csim_cli_reports_bit_exact(built, capsys):
    _, out = built
    assert main(["csim", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "logits (output): 1000/1000 samples bit-exact -- BIT-EXACT" in printed
    assert "softmax (lookup table, approximate): argmax agrees on" in printed
    assert "g++ 0.0 s" in printed  # the binary from 'build --csim' is up to date: reused, not recompiled


def test_one_changed_bit_is_a_mismatch_naming_sample_and_layer(built, capsys, tmp_path):
    import shutil

    from fpgacompress.firmware.testbench import REFERENCE_FILE

    _, out = built
    tampered = tmp_path / "fw"
    shutil.copytree(out, tampered)  # copies keep the binary newer than its sources: no recompilation
    with np.load(tampered / REFERENCE_FILE) as stored:
        arrays = dict(stored)
    names = [str(name) for name in arrays["layer_names"]]
    logits_key = f"layer_{names.index('output')}"
    arrays[logits_key][7, 2] += np.float32(2.0**-20)  # far below any float tolerance
    np.savez_compressed(tampered / REFERENCE_FILE, **arrays)

    assert main(["csim", str(tampered)]) == 1
    printed = capsys.readouterr().out
    assert "999/1000 samples bit-exact -- 1 MISMATCHES" in printed
    assert "first mismatch: sample 7, layer 'output'" in printed


def test_csim_of_a_directory_that_is_not_a_project_is_a_one_line_error(tmp_path, capsys):
    assert main(["csim", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path} is not an fpgacompress HLS project (no manifest.json). "
        "Pass the --out directory of 'fpgacompress build'."
    )


def test_build_synth_says_plainly_when_the_hls_tool_is_missing(saved_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no vitis_hls here (nor anywhere on this machine)
    code = main(
        ["build", str(saved_model), "--out", str(tmp_path / "fw"), "--synth", "--n-testbench-samples", "10"]
    )
    assert code == 0
    assert (
        "synthesis: vitis_hls is not on PATH, so synthesis is not available here" in capsys.readouterr().out
    )


def test_build_cli_refuses_an_unknown_board_without_writing(saved_model, tmp_path, capsys):
    assert main(["build", str(saved_model), "--board", "nope", "--out", str(tmp_path / "fw")]) == 2
    assert capsys.readouterr().err.startswith(
        "error: Unknown board 'nope'. Available: alveo-u250, serenity-ku15p"
    )
    assert not (tmp_path / "fw").exists()
