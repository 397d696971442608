"""The end-to-end recipe: a tiny chain from training to a bit-exact C-simulation, resumable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from fpgacompress.errors import ConfigError, DataError
from fpgacompress.recipe import load_recipe

TINY_RECIPE = {
    "name": "tiny",
    "data": {"max_train": 3000, "max_test": 1000},
    "model": {"topology": "16-16-8-5"},
    "regularization": {"kind": "l1", "strength": 1.0e-4},
    "training": {"epochs": 3, "batch_size": 256, "early_stopping_patience": None},
    "autoprune": {"keep": {"fc1": 12, "fc2": 6}, "keep_features": 12, "soft_epochs": 2, "hard_epochs": 1},
    "pruning": {
        "target_sparsity": 0.5,
        "fraction_per_iteration": 0.3,
        "max_iterations": 2,
        "epochs_per_iteration": 1,
    },
    "quantization": {
        "epochs": 2,
        "precision": {
            "input": {"bits": 12, "integer": 4},
            "default": {
                "weight": {"bits": 6, "integer": 0},
                "bias": {"bits": 8, "integer": 3},
                "activation": {"bits": 8, "integer": 3},
            },
        },
    },
    "build": {"board": "serenity-vu13p", "clock_mhz": 360, "n_testbench_samples": 200},
}


def write_recipe(path, recipe):
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from fpgacompress.runner import run

    folder = tmp_path_factory.mktemp("tiny")
    recipe_path = write_recipe(folder / "tiny.yaml", TINY_RECIPE)
    lines: list[str] = []
    result = run(recipe_path, folder / "run", progress=False, log=lines.append)
    return result, lines, recipe_path


@pytest.mark.slow
def test_tiny_recipe_runs_end_to_end_to_a_bit_exact_firmware(tiny_run):
    result, lines, _ = tiny_run
    assert list(result.stages) == ["train", "autoprune", "prune", "quantize", "build", "csim", "report"]
    assert result.skipped == ()
    assert result.csim["bit_exact"] and result.csim["n_samples"] == 200
    assert result.csim["softmax_argmax_agreement"] >= 0.99  # the softmax tables are indexed finely
    assert result.report["fits"] is True and "fits" in result.report["verdict"].lower()
    assert result.report["totals"]["latency_cycles"] > 0
    quantize = result.stages["quantize"].results
    prune = result.stages["prune"].results
    assert quantize["topology"] == "12-12-6-5"  # AutoPruner kept 12 features, 12 and 6 nodes
    assert prune["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert quantize["sparsity"] >= prune["sparsity"]  # QAT kept every pruned zero
    assert quantize["bops"] < result.stages["train"].results["bops"]
    run_dir = result.run_dir
    for name in (
        "summary.md",
        "roc.png",
        "stages.png",
        "recipe.json",
        "stage_estimates.json",
        "build/hls_project/manifest.json",
        "report/resources.md",
        "report/resources.png",
        "prune/mask.npz",
        "quantize/quantization_table.json",
        "train/weights.png",
        "autoprune/weights.png",
        "prune/weights.png",
        "quantize/weights.png",
    ):
        assert (run_dir / name).is_file(), name
    summary = result.summary_path.read_text()
    assert "**BIT-EXACT**" in summary and "**fits**" in summary
    assert "| quantize | 12-12-6-5 |" in summary
    assert not list(run_dir.glob("*.partial"))
    assert any(line.startswith("[csim] done") for line in lines)
    # the report uses the build's clock (360 MHz), not a default
    report = json.loads((run_dir / "report/resources.json").read_text())
    assert json.dumps(report).count("2.77") >= 1


@pytest.mark.slow
def test_editing_the_build_section_does_not_retrain(tiny_run, tmp_path):
    from fpgacompress.runner import run

    result, _, recipe_path = tiny_run
    edited = {**TINY_RECIPE, "build": {**TINY_RECIPE["build"], "reuse_factor": 2}}
    model_before = (result.run_dir / "quantize" / "model.h5").stat().st_mtime_ns
    again = run(write_recipe(tmp_path / "edited.yaml", edited), result.run_dir, progress=False)
    assert again.skipped == ("train", "autoprune", "prune", "quantize")
    assert (again.run_dir / "quantize" / "model.h5").stat().st_mtime_ns == model_before
    assert again.stages["build"].results["settings"]["reuse_factor"] == 2
    assert again.csim["bit_exact"]


def test_interrupted_run_keeps_completed_stages_and_resumes(tmp_path, monkeypatch):
    import fpgacompress.runner as runner

    recipe = {
        "name": "interrupted",
        "data": {"max_train": 1000, "max_test": 500},
        "model": {"topology": "16-8-5"},
        "training": {"epochs": 1},
        "pruning": {"target_sparsity": 0.3, "max_iterations": 1, "epochs_per_iteration": 1},
    }
    recipe_path = write_recipe(tmp_path / "recipe.yaml", recipe)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_prune", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run(recipe_path, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "train" / "stage.json").is_file()
    assert not (tmp_path / "run" / "prune").exists() and not (tmp_path / "run" / "prune.partial").exists()

    monkeypatch.undo()
    resumed = runner.run(recipe_path, tmp_path / "run", progress=False)
    assert resumed.skipped == ("train",)
    assert resumed.stages["prune"].results["sparsity"] == pytest.approx(0.3, abs=0.01)


def test_malformed_recipe_names_every_bad_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pruning: {target_sparsity: 1.2, typo: 3}\nbuild: {reuse_factor: 0}\n")
    with pytest.raises(ConfigError) as error:
        load_recipe(path)
    message = str(error.value)
    assert "pruning.target_sparsity: target_sparsity must be a float in [0, 1)" in message
    assert "pruning.typo: unknown key" in message
    assert "build.reuse_factor: Input should be greater than or equal to 1" in message


def test_missing_data_file_is_reported_before_anything_runs(tmp_path):
    from fpgacompress.runner import run

    recipe = write_recipe(tmp_path / "recipe.yaml", {"data": {"path": "absent.npz"}})
    with pytest.raises(DataError, match="Dataset file not found: .*absent.npz"):
        run(recipe, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "train").exists()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ({"board": "serenity-vu31p"}, "error: Unknown board 'serenity-vu31p'. Available: alveo-u250"),
        (
            {"reuse_factor": 16, "clock_mhz": 240},
            "error: Initiation interval 16 cycles (reuse factor 16) exceeds",
        ),
    ],
)
def test_cli_refuses_a_bad_build_section_before_training(tmp_path, build, message):
    recipe = write_recipe(tmp_path / "recipe.yaml", {"build": build})
    result = subprocess.run(
        [sys.executable, "-m", "fpgacompress", "run", str(recipe), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
