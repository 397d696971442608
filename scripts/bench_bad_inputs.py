"""The CLI on bad inputs a new user brings: message, exit code, time, and whether their files survived.

Usage:
    .venv/bin/python scripts/bench_bad_inputs.py [--out runs/bench_bad_inputs]

Every case is made here (no downloads) in a fresh directory and run as its own process
(``python -m fpgacompress ...``, so each time includes Python start-up and, where the command loads a
model, the TensorFlow import). A case passes when the process exits with the expected code, standard
error holds exactly one line starting with ``error:`` (or the interruption notice), every file that
existed before the command is still there unchanged, and no hidden staging directory, lock or stray
output is left. Prints a Markdown table for docs/benchmarks.md and writes ``results.json`` into --out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
    + ["training:", "  epochs: *i"]
)


def _snapshot(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _models(directory: Path) -> None:
    import numpy as np
    import tensorflow as tf

    from fpgacompress.model_io import save_model
    from fpgacompress.models import build_mlp

    marker = directory / "CODE_RAN"
    inputs = tf.keras.Input(shape=(16,), name="input")
    hidden = tf.keras.layers.Dense(8, activation="relu", name="fc1")(inputs)
    sneaky = tf.keras.layers.Lambda(
        lambda x, path=str(marker): (open(path, "w").write("ran"), x)[1],  # noqa: SIM115
        name="sneaky",
    )(hidden)
    lambda_model = tf.keras.Model(inputs, tf.keras.layers.Dense(5, activation="softmax", name="output")(sneaky))
    lambda_model.save(directory / "lambda.h5")
    (directory / "lambda.json").write_text(lambda_model.to_json())
    lambda_model.save_weights(directory / "lambda_weights.h5")
    marker.unlink()
    plain = build_mlp("16-8-5", seed=0)
    (directory / "models").mkdir()
    save_model(plain, directory / "models" / "tagger.h5")
    plain.save_weights(directory / "weights_only.h5")
    (directory / "arch_alone.json").write_text(plain.to_json())
    save_model(build_mlp("10-8-3", seed=0), directory / "ten_inputs.h5")
    with zipfile.ZipFile(directory / "keras3.keras", "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
    (directory / "not_a_zip.npz").write_bytes(b"these are not arrays")
    (directory / "damaged.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    np.save(directory / "inputs_only.npy", np.zeros((200, 16), np.float32))
    (directory / "a_file").write_text("in the way")
    (directory / "bomb.yaml").write_text(ALIAS_BOMB)
    (directory / "long.yaml").write_text("training:\n  epochs: [" + ", ".join(["12345678"] * 5000) + "]\n")
    (directory / "absent_data.yaml").write_text("name: t\ndata: {path: absent.npz}\ntraining: {epochs: 1}\n")
    (directory / "recipe.yaml").write_text("name: t\ntraining: {epochs: 1}\n")
    (directory / "run_kept").mkdir()
    (directory / "run_kept" / "keep.txt").write_text("an earlier run")


def _cases() -> list[tuple[str, list[str], int, str | None]]:
    """(bad input, arguments, expected exit code, expected directory the user expects to survive)."""
    tagger = "models/tagger.h5"
    return [
        ("Lambda layer whose code writes a file (.h5)", ["build", "lambda.h5", "--out", "fw"], 2, None),
        ("the same model through report", ["report", "lambda.h5"], 2, None),
        ("the same as JSON + weights, through quantize", ["quantize", "lambda.json", "--bits", "6", "--out", "q"], 2, None),
        ("weights-only .h5", ["report", "weights_only.h5"], 2, None),
        ("Keras-3 .keras file", ["build", "keras3.keras", "--out", "fw"], 2, None),
        ("JSON architecture without weights", ["build", "arch_alone.json", "--out", "fw"], 2, None),
        ("--preprocessing neither none, fit nor a file", ["build", tagger, "--preprocessing", "standard", "--out", "fw"], 2, None),
        ("--out = the model's own directory, --force", ["build", tagger, "--out", "models", "--force"], 2, None),
        ("--out . --force (run from the model's directory)", ["@models", "build", "tagger.h5", "--out", ".", "--force"], 2, None),
        ("--out an existing file", ["build", tagger, "--out", "a_file", "--force"], 2, None),
        ("--out locked by a running build", ["@lock:fw", "build", tagger, "--out", "fw", "--force"], 2, None),
        (".npz that is not a zip", ["build", tagger, "--data", "not_a_zip.npz", "--out", "fw"], 2, None),
        ("damaged .npz (zip header only)", ["build", tagger, "--data", "damaged.npz", "--out", "fw"], 2, None),
        ("--out whose parent is a file", ["build", tagger, "--out", "a_file/below/fw"], 2, None),
        ("--out on a read-only file system (/sys)", ["build", tagger, "--out", "/sys/fpgacompress/fw"], 2, None),
        ("run --out on a read-only file system", ["run", "recipe.yaml", "--out", "/sys/fpgacompress/run"], 2, None),
        ("report --json on a read-only file system", ["report", tagger, "--json", "/sys/fpgacompress/r.json"], 2, None),
        ("run with a missing data file (no recipe.json left)", ["run", "absent_data.yaml", "--out", "run_new"], 2, None),
        ("YAML alias bomb (9^9 values)", ["run", "bomb.yaml", "--out", "run_new"], 2, None),
        ("5,000-item value for an integer key", ["run", "long.yaml", "--out", "run_new"], 2, None),
        ("--input-precision 'fixed<0,0>'", ["build", tagger, "--input-precision", "fixed<0,0>", "--out", "fw"], 2, None),
        ("--clock-mhz 20 (under one cycle per bunch crossing)", ["build", tagger, "--clock-mhz", "20", "--out", "fw"], 2, None),
        ("16-feature data for a 10-input model", ["build", "ten_inputs.h5", "--out", "fw"], 2, None),
        ("unlabelled .npy for training (prune)", ["prune", tagger, "--data", "inputs_only.npy", "--out", "p"], 2, None),
        ("quantize --force with a missing data file", ["quantize", tagger, "--bits", "6", "--data", "absent.npz", "--out", "run_kept", "--force"], 2, "run_kept"),
        ("SIGTERM during a build", ["@sigterm", "build", tagger, "--out", "fw"], 130, None),
    ]  # fmt: skip


def _run_case(arguments: list[str], directory: Path) -> tuple[int, str, float]:
    cwd, lock, sigterm = directory, None, False
    while arguments[0].startswith("@"):
        option, arguments = arguments[0][1:], arguments[1:]
        if option == "sigterm":
            sigterm = True
        elif option.startswith("lock:"):
            lock = directory / option.split(":", 1)[1]
        else:
            cwd = directory / option
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "fpgacompress", *arguments]
    start = time.perf_counter()
    if lock is not None:
        from fpgacompress.output_dir import output_lock

        with output_lock(lock):
            result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        return result.returncode, result.stderr, time.perf_counter() - start
    if not sigterm:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        return result.returncode, result.stderr, time.perf_counter() - start
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not list(directory.glob(".fw.building-*")) and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=600)
    return process.returncode, stderr, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_bad_inputs"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template"
        template.mkdir()
        _models(template)
        for index, (case, arguments, expected_code, _kept) in enumerate(_cases()):
            directory = Path(scratch) / f"case{index}"
            subprocess.run(["cp", "-a", str(template), str(directory)], check=True)
            before = _snapshot(directory)
            code, stderr, seconds = _run_case(list(arguments), directory)
            after = _snapshot(directory)
            lines = [line for line in stderr.strip().splitlines() if line.strip()]
            one_line = len(lines) == 1 and (lines[0].startswith("error: ") or lines[0].startswith("Interrupted"))
            intact = all(after.get(name) == digest for name, digest in before.items())
            stray = sorted(set(after) - set(before)) + [
                path.name for path in directory.iterdir() if path.name.startswith(".") and path.name not in before
            ]
            ok = code == expected_code and one_line and intact and not stray and not (directory / "CODE_RAN").exists()
            rows.append(
                {
                    "case": case,
                    "command": "fpgacompress " + " ".join(part for part in arguments if not part.startswith("@")),
                    "exit_code": code,
                    "seconds": round(seconds, 2),
                    "message": lines[0] if lines else "",
                    "message_lines": len(lines),
                    "inputs_intact": intact,
                    "stray_files": stray,
                    "ok": ok,
                }
            )
            print(f"[{'ok' if ok else 'FAIL'}] {case}: exit {code}, {seconds:.1f} s", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| bad input | exit | time (s) | message (first 110 characters) | files intact, nothing left |")
    print("|---|---|---|---|---|")
    for row in rows:
        message = row["message"] if len(row["message"]) <= 110 else row["message"][:107] + "..."
        message = message.replace("|", "\\|")
        print(
            f"| {row['case']} | {row['exit_code']} | {row['seconds']:.1f} | {message} | "
            f"{'yes' if row['inputs_intact'] and not row['stray_files'] else 'NO'} |"
        )
    print(f"\n{sum(row['ok'] for row in rows)}/{len(rows)} cases as expected.")


if __name__ == "__main__":
    main()
