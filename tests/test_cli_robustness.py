"""The CLI on inputs a new user brings: preprocessing stated and applied once, data-safe output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fpgacompress.cli import main
from fpgacompress.data import Standardizer, load_jets
from fpgacompress.firmware.testbench import fixed_point_grid, load_reference
from fpgacompress.model_io import save_model

N_SAMPLES = 200


def _one_error_line(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error, error
    assert "Traceback" not in error
    return error


@pytest.fixture(scope="module")
def float_model_path(tmp_path_factory):
    """A float 16-8-5 model saved without a preprocessing.json, as models trained elsewhere come."""
    from fpgacompress.models import build_mlp

    path = tmp_path_factory.mktemp("model") / "tagger.h5"
    save_model(build_mlp("16-8-5", seed=0), path)
    return path


def _build(model_path, out, *extra) -> int:
    return main(
        ["build", str(model_path), "--out", str(out), "--n-testbench-samples", str(N_SAMPLES), *extra]
    )


def test_testbench_inputs_are_standardized_exactly_once(float_model_path, tmp_path, capsys):
    assert _build(float_model_path, tmp_path / "fw") == 0
    output = capsys.readouterr().out
    assert "preprocessing: inputs standardized with mean/std fitted on the training split" in output
    data = load_jets()
    scaler = Standardizer.fit(data.x_train, data.feature_names)
    seen_by_model = fixed_point_grid(scaler.transform(data.x_test[:N_SAMPLES]), "fixed<16,6>")
    testbench = load_reference(tmp_path / "fw").inputs
    np.testing.assert_array_equal(testbench, seen_by_model)
    np.testing.assert_allclose(testbench.mean(axis=0), seen_by_model.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(testbench.std(axis=0), seen_by_model.std(axis=0), rtol=0, atol=1e-6)
    assert np.abs(testbench).max() < 31  # nothing saturated at fixed<16,6>'s +-32
    manifest = json.loads((tmp_path / "fw" / "manifest.json").read_text())
    assert manifest["preprocessing"]["standardizer"]["mean"] == list(scaler.mean)
    assert "fitted on the training split" in manifest["preprocessing"]["statement"]


def test_preprocessing_none_and_file_are_applied_as_stated(float_model_path, tmp_path, capsys):
    data = load_jets()
    raw = data.x_test[:N_SAMPLES]
    assert _build(float_model_path, tmp_path / "none", "--preprocessing", "none") == 0
    assert "preprocessing: inputs used as given" in capsys.readouterr().out
    np.testing.assert_array_equal(
        load_reference(tmp_path / "none").inputs, fixed_point_grid(raw, "fixed<16,6>")
    )
    manifest = json.loads((tmp_path / "none" / "manifest.json").read_text())
    assert manifest["preprocessing"]["standardizer"] is None

    scaler = Standardizer(data.feature_names, tuple(float(v) for v in raw.mean(axis=0)), (3.0,) * 16)
    scaler.save(tmp_path / "scaling.json")
    assert _build(float_model_path, tmp_path / "file", "--preprocessing", str(tmp_path / "scaling.json")) == 0
    expected = fixed_point_grid(scaler.transform(raw), "fixed<16,6>")
    np.testing.assert_array_equal(load_reference(tmp_path / "file").inputs, expected)


def test_preprocessing_that_is_no_file_is_one_line(float_model_path, tmp_path, capsys):
    assert _build(float_model_path, tmp_path / "fw", "--preprocessing", "standard") == 2
    error = _one_error_line(capsys)
    assert (
        "--preprocessing takes none, fit or the path of a preprocessing.json. Received: 'standard'" in error
    )
    assert not (tmp_path / "fw").exists()


# ------------------------------------------------- --out never destroys input, and never half-written


def test_force_into_the_models_own_directory_is_refused_and_the_model_kept(float_model_path, capsys):
    directory = float_model_path.parent
    before = sorted(path.name for path in directory.iterdir())
    assert _build(float_model_path, directory, "--force") == 2
    error = _one_error_line(capsys)
    assert f"--out {directory} holds the input {float_model_path}" in error
    assert sorted(path.name for path in directory.iterdir()) == before


def test_force_into_the_current_directory_is_refused(float_model_path, monkeypatch, capsys):
    monkeypatch.chdir(float_model_path.parent)
    before = sorted(path.name for path in float_model_path.parent.iterdir())
    assert _build(float_model_path.name, ".", "--force") == 2
    assert "--out . is the current directory" in _one_error_line(capsys)
    assert sorted(path.name for path in float_model_path.parent.iterdir()) == before


def test_out_containing_the_data_is_refused(float_model_path, tmp_path, capsys):
    from fpgacompress.paths import BUNDLED_JETS

    (tmp_path / "in").mkdir()
    data = tmp_path / "in" / "jets.npz"
    data.write_bytes(BUNDLED_JETS.read_bytes())
    assert _build(float_model_path, tmp_path, "--data", str(data), "--force") == 2
    assert f"holds the input {data}" in _one_error_line(capsys)
    assert data.is_file()


def test_an_existing_file_as_out_is_called_a_file(float_model_path, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert _build(float_model_path, tmp_path / "notes.txt", "--force") == 2
    assert "--out " + str(
        tmp_path / "notes.txt"
    ) + " is an existing file, not a directory" in _one_error_line(capsys)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_force_keeps_the_old_run_until_the_new_one_is_complete(float_model_path, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    argv = ["quantize", str(float_model_path), "--bits", "6", "--data", str(tmp_path / "absent.npz")]
    assert main([*argv, "--out", str(out), "--force"]) == 2
    assert "Dataset file not found" in _one_error_line(capsys)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]


def test_forced_build_replaces_the_old_project_only_when_complete(float_model_path, tmp_path, capsys):
    out = tmp_path / "fw"
    assert _build(float_model_path, out) == 0
    (out / "old.txt").write_text("previous project")
    assert _build(float_model_path, out, "--force") == 0
    assert not (out / "old.txt").exists() and (out / "manifest.json").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fw"]  # no lock, staging or old copy left


def test_a_second_build_into_a_locked_out_is_refused(float_model_path, tmp_path, capsys):
    from fpgacompress.output_dir import output_lock

    out = tmp_path / "fw"
    with output_lock(out):  # what a first, still running build holds
        assert _build(float_model_path, out, "--force") == 2
        error = _one_error_line(capsys)
    assert f"Another fpgacompress process is writing {out}" in error
    assert not out.exists()


@pytest.mark.slow
def test_two_concurrent_builds_into_one_out_never_both_succeed(float_model_path, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "fw"
    command = [sys.executable, "-m", "fpgacompress", "build", str(float_model_path), "--out", str(out)]
    first, second = (
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    )
    results = [(process.wait(timeout=300), process.stderr.read()) for process in (first, second)]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(stderr for code, stderr in results if code == 2).strip()
    assert refused.startswith("error: ") and "\n" not in refused
    assert "already exists" in refused or "Another fpgacompress process is writing" in refused
    assert (out / "manifest.json").is_file()


def test_sigterm_leaves_no_hidden_building_directory(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from fpgacompress.models import build_mlp

    model_path = tmp_path / "big.h5"
    save_model(build_mlp("16-64-32-32-5", seed=0), model_path)
    out = tmp_path / "fw"
    process = subprocess.Popen(
        [sys.executable, "-m", "fpgacompress", "build", str(model_path), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while (
        not list(tmp_path.glob(".fw.building-*")) and process.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    assert list(tmp_path.glob(".fw.building-*")), "the build finished before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big.h5"]


# ------------------------------------------------- filesystem trouble: one line, exit 2, no traceback


def _unwritable_places(tmp_path):
    """Parents that cannot be created: a file in the way, and a read-only system tree where there is one."""
    (tmp_path / "a_file").write_text("in the way")
    places = [tmp_path / "a_file" / "below"]
    probe = __import__("pathlib").Path("/sys/fpgacompress-probe")
    try:
        probe.mkdir()
    except OSError:
        places.append(probe / "below")
    else:  # pragma: no cover - a writable /sys: do not leave anything there
        probe.rmdir()
    return places


def test_npz_that_is_not_a_zip_is_one_line(float_model_path, tmp_path, capsys):
    for content in (b"not a zip at all", b"PK\x03\x04" + b"\x00" * 64):
        bad = tmp_path / "jets.npz"
        bad.write_bytes(content)
        assert _build(float_model_path, tmp_path / "fw", "--data", str(bad)) == 2
        assert f"{bad} is not a .npz archive (not a zip file)" in _one_error_line(capsys)
    assert not (tmp_path / "fw").exists()


def test_out_whose_parent_cannot_be_created_is_one_line(float_model_path, tmp_path, capsys):
    for place in _unwritable_places(tmp_path):
        assert _build(float_model_path, place / "fw") == 2
        error = _one_error_line(capsys)
        assert f"Cannot create the parent directory of --out {place / 'fw'}" in error, error


def test_run_out_and_report_json_into_an_unwritable_place_are_one_line(float_model_path, tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: t\ntraining: {epochs: 1}\n")
    for place in _unwritable_places(tmp_path):
        assert main(["run", str(recipe), "--out", str(place / "run"), "--no-progress"]) == 2
        assert str(place) in _one_error_line(capsys)
        assert main(["report", str(float_model_path), "--json", str(place / "r.json")]) == 2
        assert f"--json {place / 'r.json'}: the directory {place} does not exist" in _one_error_line(capsys)
    if len(_unwritable_places(tmp_path)) > 1:  # an existing directory of a read-only tree: the write fails
        assert main(["report", str(float_model_path), "--json", "/sys/r.json"]) == 2
        assert "cannot read or write /sys/r.json" in _one_error_line(capsys)


def test_failed_run_leaves_no_recipe_json_behind(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: t\ndata: {{path: {tmp_path / 'absent.npz'}}}\ntraining: {{epochs: 1}}\n")
    assert main(["run", str(recipe), "--out", str(tmp_path / "run")]) == 2
    assert "Dataset file not found" in _one_error_line(capsys)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["recipe.yaml"]


def test_report_json_and_markdown_to_standard_output(float_model_path, capsys):
    assert main(["report", str(float_model_path), "--json", "-"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)  # standard output holds only the JSON
    assert [layer["name"] for layer in payload["report"]["layers"]][:1] == ["fc1"]
    assert "fc1" in captured.err  # the table went to standard error
    assert main(["report", str(float_model_path), "--markdown", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("### Resources") and "| fc1 |" in captured.out
    assert "┃" not in captured.out and "fc1" in captured.err


@pytest.mark.slow
def test_two_csims_of_one_project_at_once_both_succeed(tmp_path):
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    from fpgacompress.firmware import build, csim
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization.convert import quantize
    from fpgacompress.quantization.spec import QuantizationSpec

    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    data, _ = load_jets().subsample(max_test=200, seed=0).standardized()
    model = quantize(build_mlp("16-8-5", seed=0), QuantizationSpec.uniform(6, 0))
    project = build(model, "serenity-vu13p", x_test=data.x_test, out_dir=tmp_path / "fw")
    with ThreadPoolExecutor(2) as pool:  # both recompile and run at once ("Text file busy" before)
        results = list(pool.map(lambda _: csim(project, optimization_level=0, recompile=True), range(2)))
    assert all(result.bit_exact and result.n_samples == 200 for result in results)
    assert results[0].layer_mismatches == results[1].layer_mismatches
    names = {path.name for path in (tmp_path / "fw").rglob("fpgacompress_csim*")}
    assert names == {
        "fpgacompress_csim",
        "fpgacompress_csim.cpp",
        "fpgacompress_csim_trace.dat",
    }  # no temporaries


# ------------------------------------------------- recipes and options: short, fast, exact messages

ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
    + ["training:", "  epochs: *i"]
)


def test_yaml_alias_bomb_is_refused_fast_with_a_short_message(tmp_path, capsys):
    import time

    recipe = tmp_path / "bomb.yaml"
    recipe.write_text(ALIAS_BOMB)  # 9**9 = 387 million strings once expanded
    start = time.perf_counter()
    assert main(["run", str(recipe), "--out", str(tmp_path / "run")]) == 2
    elapsed = time.perf_counter() - start
    error = _one_error_line(capsys)
    assert elapsed < 2, elapsed
    assert len(error) < 300 and "expands to more than 100,000 values through YAML aliases" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bomb.yaml"]


def test_a_big_wrong_value_is_echoed_shortened(tmp_path, capsys):
    recipe = tmp_path / "long.yaml"
    recipe.write_text("training:\n  epochs: [" + ", ".join(["12345678"] * 5000) + "]\n")
    assert main(["run", str(recipe), "--out", str(tmp_path / "run")]) == 2
    error = _one_error_line(capsys)
    assert "training.epochs" in error and len(error) < 300, error


@pytest.mark.parametrize(
    "precision", ["fixed<0,0>", "fixed<1,1>", "ufixed<0,0>", "fixed<64,6>", "fixed<16,99>"]
)
def test_nonsense_input_precision_is_refused(float_model_path, tmp_path, capsys, precision):
    assert _build(float_model_path, tmp_path / "fw", "--input-precision", precision) == 2
    error = _one_error_line(capsys)
    assert f"input_precision: input_precision {precision} is not a usable input type" in error
    assert not (tmp_path / "fw").exists()


def test_a_clock_too_slow_for_any_design_says_so(float_model_path, tmp_path, capsys):
    assert _build(float_model_path, tmp_path / "fw", "--clock-mhz", "20") == 2
    error = _one_error_line(capsys)
    assert "reuse factor <= 0" not in error
    assert "less than one clock cycle per input, so no reuse factor fits: raise the clock or TMUX" in error


def test_config_classes_built_from_python_raise_the_projects_error_with_the_path():
    from fpgacompress.config import TrainingConfig
    from fpgacompress.errors import ConfigError
    from fpgacompress.firmware.settings import BuildConfig
    from fpgacompress.quantization.spec import QuantizationSpec

    with pytest.raises(ConfigError, match=r"^Invalid BuildConfig: reuse_factor: .*received 0"):
        BuildConfig(reuse_factor=0)
    with pytest.raises(ConfigError, match=r"^Invalid TrainingConfig: epochs: .*received -1"):
        TrainingConfig(epochs=-1)
    with pytest.raises(ConfigError, match=r"Invalid QuantizationSpec: default\.bits: unknown key"):
        QuantizationSpec(default={"bits": 6})


# ------------------------------------------------- any number of features, the user's own test-bench data


@pytest.fixture(scope="module")
def ten_input_files(tmp_path_factory):
    """A 10-input QKeras model and its inputs as .npy, .csv and .npz (X with one-hot y)."""
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization.convert import quantize
    from fpgacompress.quantization.spec import QuantizationSpec

    directory = tmp_path_factory.mktemp("ten")
    model = quantize(build_mlp("10-16-3", seed=1), QuantizationSpec.uniform(6, 0))
    save_model(model, directory / "model.h5")
    rng = np.random.default_rng(2)
    x = rng.normal(loc=3.0, scale=2.0, size=(600, 10)).astype(np.float32)
    labels = rng.integers(0, 3, 600)
    np.save(directory / "inputs.npy", x)
    np.savez(directory / "inputs.npz", X=x, y=np.eye(3)[labels])
    header = ",".join([f"feature_{index}" for index in range(10)] + ["class"])
    rows = [
        ",".join([*(f"{value:.9g}" for value in row), str(label)])
        for row, label in zip(x, labels, strict=True)
    ]
    (directory / "inputs.csv").write_text("\n".join([header, *rows]) + "\n")
    return directory


@pytest.mark.parametrize("data_file", ["inputs.npy", "inputs.csv", "inputs.npz"])
def test_build_takes_test_bench_inputs_of_any_width_from_the_users_file(
    ten_input_files, tmp_path, capsys, data_file
):
    out = tmp_path / "fw"
    argv = ["--data", str(ten_input_files / data_file), "--n-testbench-samples", "100"]
    assert main(["build", str(ten_input_files / "model.h5"), "--out", str(out), *argv]) == 0
    data = load_jets(ten_input_files / data_file, require_labels=False)
    scaler = Standardizer.fit(data.x_train, data.feature_names)
    reference = load_reference(out)
    quantizer_input = reference.inputs  # the model's input quantizer output: on its grid, from these rows
    assert reference.inputs.shape == (100, 10)
    expected_scaled = scaler.transform(data.x_test[:100])
    assert np.max(np.abs(quantizer_input - expected_scaled)) < 2**-9  # quantized_bits(16, 5): step 2**-10


def test_data_whose_width_differs_from_the_model_is_one_line(ten_input_files, tmp_path, capsys):
    assert main(["build", str(ten_input_files / "model.h5"), "--out", str(tmp_path / "fw")]) == 2
    error = _one_error_line(capsys)
    assert "The bundled jet sample has 16 features but the model takes 10 inputs. Pass --data" in error
    assert not (tmp_path / "fw").exists()


@pytest.mark.slow
def test_ten_input_model_from_a_csv_is_bit_exact_in_csim(ten_input_files, tmp_path, capsys):
    import shutil

    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    out = tmp_path / "fw"
    argv = ["--data", str(ten_input_files / "inputs.csv"), "--csim"]
    assert main(["build", str(ten_input_files / "model.h5"), "--out", str(out), *argv]) == 0
    assert "120/120 samples bit-exact -- BIT-EXACT" in capsys.readouterr().out  # the 20 % test split of 600


def test_a_filesystem_error_during_build_is_not_blamed_on_hls4ml(tmp_path, monkeypatch):
    import fpgacompress.firmware.project as project_module
    from fpgacompress.errors import BuildError
    from fpgacompress.firmware import build
    from fpgacompress.models import build_mlp

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "fw" / "fpgacompress_csim.cpp"))

    monkeypatch.setattr(project_module, "write_csim_testbench", disk_full)
    with pytest.raises(BuildError) as raised:
        build(
            build_mlp("16-8-5", seed=0), "serenity-vu13p", x_test=load_jets().x_test, out_dir=tmp_path / "fw"
        )
    message = str(raised.value)
    assert message.startswith(f"Cannot write the project for {tmp_path / 'fw'}: ") and "hls4ml" not in message
    assert "No space left on device" in message
    assert list(tmp_path.iterdir()) == []


def test_replacing_an_out_that_is_a_link_keeps_what_it_points_to(tmp_path):
    from fpgacompress.output_dir import staged_output

    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    (tmp_path / "out").symlink_to(target)
    with staged_output(tmp_path / "out", force=True) as staging:
        (staging / "new.txt").write_text("new run")
    assert (tmp_path / "out" / "new.txt").read_text() == "new run" and not (tmp_path / "out").is_symlink()
    assert (target / "keep.txt").read_text() == "mine"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["elsewhere", "out"]
