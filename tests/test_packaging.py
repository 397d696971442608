"""A non-editable install works: the wheel carries boards and HLS templates, and runs from anywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "fpgacompress",
    "boards",
    "hls_templates",
)


def _run(command, cwd, env, timeout=600):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_lists_boards_and_builds_from_another_directory(tmp_path):
    from fpgacompress.model_io import save_model
    from fpgacompress.models import build_mlp

    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "_data"))
        else:
            shutil.copy2(ROOT / name, source / name)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        tmp_path,
        env,
    )
    wheel = next((tmp_path / "dist").glob("fpgacompress-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path, env)
    # The stack (TensorFlow, hls4ml, ...) comes from this environment; fpgacompress only from the wheel.
    site_packages = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env
    ).stdout.strip()
    Path(site_packages, "stack.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(python), "-c", "import fpgacompress; print(fpgacompress.__file__)"], elsewhere, env)
    assert where.stdout.strip().startswith(site_packages), where.stdout
    boards = _run([str(venv / "bin" / "fpgacompress"), "boards"], elsewhere, env)
    assert "serenity-vu13p" in boards.stdout and "xcvu13p-flga2577-2-e" in boards.stdout

    save_model(build_mlp("16-8-5", seed=0), elsewhere / "tagger.h5")
    build = [
        str(venv / "bin" / "fpgacompress"),
        "build",
        "tagger.h5",
        "--out",
        "fw",
        "--n-testbench-samples",
        "50",
    ]
    _run(build, elsewhere, env)
    project = elsewhere / "fw"
    manifest = json.loads((project / "manifest.json").read_text())
    assert manifest["board"]["name"] == "serenity-vu13p"
    assert "xcvu13p-flga2577-2-e" in (project / "synth.tcl").read_text()  # from hls_templates/
    assert (project / "fpgacompress_csim.cpp").is_file() and (project / "README.md").is_file()
