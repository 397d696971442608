"""The command line: TensorFlow-free help, one-line errors with exit code 2, and a real training run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fpgacompress.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fpgacompress", *args], capture_output=True, text=True, timeout=600
    )


def test_help_and_import_do_not_import_tensorflow():
    code = (
        "import sys, fpgacompress, fpgacompress.cli\n"
        "from fpgacompress.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert "Commands:" in result.stdout and "train" in result.stdout


def test_bad_option_value_is_one_line_and_exit_code_2(capsys):
    assert main(["train", "--topology", "16-x-5", "--out", "unused"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Invalid options: model.topology") and "\n" not in error


def test_missing_data_file_is_one_line_and_exit_code_2(tmp_path):
    result = run_cli("train", "--data", str(tmp_path / "absent.npz"), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: Dataset file not found: {tmp_path / 'absent.npz'}. Give the path of a .npz, .csv, .arff or .parquet file."
    )
    assert "Traceback" not in result.stderr


def test_unknown_command_exits_2():
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "No such command" in result.stderr


def test_existing_output_directory_is_refused(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.slow
def test_train_command_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "train",
        "--epochs",
        "4",
        "--max-train",
        "4000",
        "--regularizer",
        "l1",
        "--strength",
        "1e-4",
        "--out",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    for name in (
        "model.h5",
        "model.preprocessing.json",
        "history.json",
        "metrics.json",
        "weights.png",
        "history.png",
    ):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.45 and metrics["mean_auc"] > 0.75  # 5 classes: chance is 0.2 / 0.5
    assert set(metrics["auc"]) == {"g", "q", "w", "z", "t"}
