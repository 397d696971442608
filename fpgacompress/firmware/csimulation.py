"""``csim()``: compile the project's testbench with g++ and compare with Keras, bit for bit.

No Vivado needed: hls4ml ships the ``ap_fixed`` headers. The testbench written by ``build``
(``fpgacompress_csim.cpp``) prints every traced layer's output as exact hexadecimal doubles; they
are compared with the Keras outputs stored at build time with ``==``, never a tolerance. The logits
(the input of the final softmax) decide ``bit_exact``; the firmware softmax is a lookup-table
approximation and is reported separately (argmax agreement, largest absolute difference).
A convolutional layer's feature map is compared flattened channels_last and row-major
(``[row][column][channel]``, Keras' ``output.reshape(n, -1)``): the order in which hls4ml's streams
deliver pixels (all channels of one pixel per stream word) and its arrays store them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BuildError
from ..layer_kinds.dense import FLOAT_WEIGHTS
from .project import HlsProject, load_project
from .testbench import CSIM_SOURCE, load_reference

__all__ = ["CsimResult", "csim", "compile_command", "CSIM_BINARY", "COMPILE_LOG", "RUN_LOG", "TRACE_FILE"]

CSIM_BINARY = "fpgacompress_csim"
COMPILE_LOG = "csim_compile.log"
RUN_LOG = "csim_run.log"
TRACE_FILE = "tb_data/fpgacompress_csim_trace.dat"
COMPILE_TIMEOUT_S = 900
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class CsimResult:
    """Outcome of one C-simulation.

    Attributes:
        project: the project directory.
        n_samples: testbench samples simulated.
        logits_layer: the layer compared bit for bit (the softmax's input).
        logits_mismatches: samples whose firmware logits differ from Keras in any bit.
        first_mismatch_sample: index of the first such sample, or ``None``.
        first_mismatch_layer: earliest layer (model order) that differs on that sample, or ``None``.
        layer_mismatches: per compared layer, the number of samples that differ.
        float32_inexact_layers: layers whose firmware type is wider than float32's 24-bit significand:
            Keras computes them in float32 and may round, so a difference there is not a firmware
            error (it vanishes at the next quantizer; the logits decide).
        softmax_argmax_agreement: fraction of samples where the firmware's output table (softmax, or a
            sigmoid / tanh head) decides as Keras does: same argmax, or same side of 0.5 / 0 for one
            output (``None`` without such a head).
        softmax_max_abs_difference: largest |firmware - Keras| output-table value (``None`` without one).
        compile_seconds, run_seconds: wall time of g++ (0 when an up-to-date binary was reused) and of the run.
        compile_log: the g++ log kept in the project.
        output_function: the head's function (``softmax``, ``sigmoid``, ``tanh``) or ``None``.
        inexact_layers: layer -> why the firmware differs from Keras there by construction (float
            weights, batch norm, hidden lookup tables); empty when the design can be bit-exact.
        layer_differences: per compared layer, the largest and the mean |firmware - Keras| value.
    """

    project: Path
    n_samples: int
    logits_layer: str
    logits_mismatches: int
    first_mismatch_sample: int | None
    first_mismatch_layer: str | None
    layer_mismatches: dict[str, int]
    float32_inexact_layers: tuple[str, ...]
    softmax_argmax_agreement: float | None
    softmax_max_abs_difference: float | None
    compile_seconds: float
    run_seconds: float
    compile_log: Path
    output_function: str | None = "softmax"
    inexact_layers: dict[str, str] = field(default_factory=dict)
    layer_differences: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def bit_exact(self) -> bool:
        """True when every sample's logits are identical, bit for bit."""
        return self.logits_mismatches == 0

    @property
    def exact_by_construction(self) -> bool:
        """True when nothing in the design stops the firmware from matching Keras bit for bit."""
        return not self.inexact_layers

    @property
    def verdict(self) -> str:
        """``BIT-EXACT``, ``MISMATCHES`` (a firmware error), or why bit-exactness was never possible."""
        if self.bit_exact:
            return "BIT-EXACT"
        if self.exact_by_construction:
            return "MISMATCHES"
        if FLOAT_WEIGHTS in self.inexact_layers.values():
            return "float model: not bit-exact by construction"
        return "not bit-exact by construction"

    def passed(self, require_bit_exact: bool = False) -> bool:
        """Bit-exact, or (unless ``require_bit_exact``) a design that cannot be and was not expected to be."""
        return self.bit_exact or (not require_bit_exact and not self.exact_by_construction)

    def summary(self) -> str:
        """A few lines for a terminal: the verdict, the fidelity of inexact designs, the head's agreement."""
        logits = f"logits ({self.logits_layer}): {self.n_samples - self.logits_mismatches}/{self.n_samples} samples bit-exact"
        if self.exact_by_construction or self.bit_exact:
            lines = [
                logits + (" -- BIT-EXACT" if self.bit_exact else f" -- {self.logits_mismatches} MISMATCHES")
            ]
            if not self.bit_exact:
                lines.append(
                    f"first mismatch: sample {self.first_mismatch_sample}, layer '{self.first_mismatch_layer}'"
                )
        else:
            reasons = "; ".join(f"{name}: {reason}" for name, reason in list(self.inexact_layers.items())[:3])
            more = f" (+{len(self.inexact_layers) - 3} more)" if len(self.inexact_layers) > 3 else ""
            lines = [
                f"{self.verdict} ({reasons}{more})",
                logits,
                "fidelity (|firmware - Keras| per layer: max, mean):",
            ]
            lines += [
                f"  {name}: {largest:.4g}, {mean:.4g}"
                for name, (largest, mean) in self.layer_differences.items()
            ]
        if self.softmax_argmax_agreement is not None:
            decision = "argmax" if self.output_function == "softmax" else "decision"
            lines.append(
                f"{self.output_function} (lookup table, approximate): {decision} agrees on "
                f"{self.softmax_argmax_agreement:.2%} of samples, largest difference {self.softmax_max_abs_difference:.4g}"
            )
        return "\n".join(lines)


def compile_command(project_name: str, optimization_level: int = 2) -> list[str]:
    """The g++ command that builds the testbench, run from the project directory.

    hls4ml's firmware reads its weights from ``WEIGHTS_DIR`` in C-simulation (faster to compile than
    weights inlined in headers); the path is relative to the project directory the binary runs in.
    """
    return [
        "g++", f"-O{optimization_level}", "-std=c++11", "-Ifirmware", "-Ifirmware/ap_types", '-DWEIGHTS_DIR="firmware/weights"',
        CSIM_SOURCE, f"firmware/{project_name}.cpp", "-o", CSIM_BINARY,
    ]  # fmt: skip


def _run(command: list[str], cwd: Path, log: Path, timeout_s: int, what: str) -> float:
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what} did not finish within {timeout_s} s in {cwd}.") from None
    elapsed = time.perf_counter() - start
    log.write_text(f"$ {' '.join(command)}\n{completed.stdout}{completed.stderr}")
    if completed.returncode != 0:
        last = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise BuildError(f"{what} failed with exit code {completed.returncode} ({last[0]}); full log: {log}.")
    return elapsed


def _read_trace(path: Path) -> dict[str, dict[int, np.ndarray]]:
    layers: dict[str, dict[int, np.ndarray]] = {}
    with path.open() as lines:
        for line in lines:
            sample, name, *values = line.split()
            layers.setdefault(name, {})[int(sample)] = np.array([float.fromhex(value) for value in values])
    return layers


def _binary_is_current(directory: Path) -> bool:
    binary = directory / CSIM_BINARY
    if not binary.is_file():
        return False
    sources = [directory / CSIM_SOURCE, *(directory / "firmware").rglob("*")]
    return all(source.stat().st_mtime < binary.stat().st_mtime for source in sources if source.is_file())


def csim(
    project: HlsProject | str | Path, *, optimization_level: int = 2, recompile: bool = False
) -> CsimResult:
    """Compile and run the project's bit-exact testbench; compare every layer with Keras.

    Args:
        project: an :class:`HlsProject` or its directory.
        optimization_level: g++ ``-O`` level. Fixed-point arithmetic is integer arithmetic, so the
            level changes compile time (``-O1`` is about half of ``-O2``), never the results.
        recompile: compile even when the binary is newer than every source (like ``make``, the
            default reuses it).

    Raises:
        BuildError: g++ is missing, compilation or the run fails (the log is kept in the project),
            or the project lacks the files ``build`` writes.
    """
    if not isinstance(project, HlsProject):
        project = load_project(project)
    directory = project.path
    if shutil.which("g++") is None:
        raise BuildError(
            "g++ is not on PATH; install a C++ compiler (e.g. apt install g++) to run the C-simulation."
        )
    if not (directory / CSIM_SOURCE).is_file():
        raise BuildError(
            f"{directory / CSIM_SOURCE} is missing; rebuild the project with 'fpgacompress build'."
        )
    reference = load_reference(directory)
    compile_log = directory / COMPILE_LOG
    compile_seconds = 0.0
    # Two csims of one project may run at once: each compiles to and traces into its own file, and
    # the binary is renamed into place (never overwritten while another process runs it).
    unique = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if recompile or not _binary_is_current(directory):
        command = compile_command(project.project_name, optimization_level)
        command[-1] = f"{CSIM_BINARY}.{unique}"
        try:
            compile_seconds = _run(command, directory, compile_log, COMPILE_TIMEOUT_S, "g++")
            os.replace(directory / command[-1], directory / CSIM_BINARY)
        finally:
            (directory / command[-1]).unlink(missing_ok=True)
    trace_path = directory / f"{TRACE_FILE}.{unique}"
    try:
        run_seconds = _run(
            [f"./{CSIM_BINARY}", "tb_data/tb_input_features.dat", str(trace_path.relative_to(directory))],
            directory,
            directory / RUN_LOG,
            RUN_TIMEOUT_S,
            "The C-simulation",
        )
        firmware = _read_trace(trace_path)
        os.replace(trace_path, directory / TRACE_FILE)
    finally:
        trace_path.unlink(missing_ok=True)
    inexact = _float32_inexact_layers(project.manifest)
    return _compare(directory, reference, firmware, inexact, compile_seconds, run_seconds, compile_log)


FLOAT32_SIGNIFICAND_BITS = 24


def _float32_inexact_layers(manifest: dict) -> tuple[str, ...]:
    names = []
    for layer in manifest.get("layers", []):
        match = re.fullmatch(
            r"ap_u?fixed<(\d+),.*>|ap_u?int<(\d+)>", layer.get("result", "").replace(" ", "")
        )
        width = (
            int(next(group for group in match.groups() if group)) if match else FLOAT32_SIGNIFICAND_BITS + 1
        )
        if width > FLOAT32_SIGNIFICAND_BITS:
            names.append(layer["name"])
    return tuple(names)


def _stack(samples: dict[int, np.ndarray], n_samples: int, name: str) -> np.ndarray:
    if sorted(samples) != list(range(n_samples)):
        raise BuildError(
            f"The C-simulation wrote layer '{name}' for {len(samples)} samples, expected {n_samples}."
        )
    return np.stack([samples[index] for index in range(n_samples)])


def _aligned_reference(reference, firmware) -> dict[str, np.ndarray]:
    """Keras' output for every traced firmware layer, like for like.

    A Keras step hls4ml removes (a dropout, a batch norm folded into the Dense before it) is part of
    the firmware layer before it, so that layer is compared with the removed step's output.
    """
    aligned, current = {}, None
    for name, output in reference.layer_outputs.items():
        if name in firmware:
            current = name
        if current is not None:
            aligned[current] = output
    return aligned


def _traced_logits_layer(reference, compared: list[str]) -> str | None:
    """The traced layer that holds the logits: the logits step, or the layer it was folded into."""
    found = None
    for name in reference.layer_outputs:
        if name in compared:
            found = name
        if name == reference.logits_layer:
            return found
    return None


def _decisions(values: np.ndarray, function: str | None) -> np.ndarray:
    """The class a head picks: the argmax, or for a one-output sigmoid / tanh the side of 0.5 / 0."""
    if values.shape[1] == 1:
        return values[:, 0] > (0.0 if function == "tanh" else 0.5)
    return np.argmax(values, axis=1)


def _compare(
    directory, reference, firmware, inexact, compile_seconds, run_seconds, compile_log
) -> CsimResult:
    n_samples = reference.n_samples
    aligned = _aligned_reference(reference, firmware)
    compared = [name for name in aligned if name != reference.softmax_layer]
    logits_layer = _traced_logits_layer(reference, compared)
    if logits_layer is None:
        raise BuildError(
            f"The C-simulation did not trace the logits layer '{reference.logits_layer}' "
            f"(traced: {', '.join(firmware)}); rebuild the project with 'fpgacompress build'."
        )
    differs: dict[str, np.ndarray] = {}
    differences: dict[str, tuple[float, float]] = {}
    for name in compared:
        expected = aligned[name].astype(np.float64).reshape(n_samples, -1)
        actual = _stack(firmware[name], n_samples, name)
        if actual.shape != expected.shape:
            raise BuildError(
                f"Layer '{name}' has {actual.shape[1]} outputs in firmware and {expected.shape[1]} in Keras."
            )
        differs[name] = np.any(
            actual != expected, axis=1
        )  # exact: ap_fixed -> double and float32 -> double are exact
        absolute = np.abs(actual - expected)
        differences[name] = (float(absolute.max()), float(absolute.mean()))
    logits_bad = differs[logits_layer]
    first_sample = int(np.argmax(logits_bad)) if logits_bad.any() else None
    first_layer = None
    if first_sample is not None:
        differing = [name for name in compared if differs[name][first_sample]]
        first_layer = next((name for name in differing if name not in inexact), differing[0])
    agreement = max_difference = None
    if reference.softmax_layer is not None and reference.softmax_layer in firmware:
        expected = reference.layer_outputs[reference.softmax_layer].astype(np.float64).reshape(n_samples, -1)
        actual = _stack(firmware[reference.softmax_layer], n_samples, reference.softmax_layer)
        function = reference.output_function
        agreement = float(np.mean(_decisions(actual, function) == _decisions(expected, function)))
        max_difference = float(np.max(np.abs(actual - expected)))
    return CsimResult(
        project=directory,
        n_samples=n_samples,
        logits_layer=logits_layer,
        logits_mismatches=int(logits_bad.sum()),
        first_mismatch_sample=first_sample,
        first_mismatch_layer=first_layer,
        layer_mismatches={name: int(differs[name].sum()) for name in compared},
        float32_inexact_layers=tuple(name for name in compared if name in inexact),
        softmax_argmax_agreement=agreement,
        softmax_max_abs_difference=max_difference,
        compile_seconds=compile_seconds,
        run_seconds=run_seconds,
        compile_log=compile_log,
        output_function=reference.output_function,
        inexact_layers=dict(reference.inexact_layers),
        layer_differences=differences,
    )
