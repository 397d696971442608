"""Testbench data and the bit-exact testbench source, both produced from the Python model.

The firmware and Keras must see *identical* inputs, or a mismatch says nothing about the firmware.
So the testbench feeds values already on the firmware's input grid: the output of the model's
input quantizer (``QActivation(quantized_bits)``) when it has one, else the standardized jets
floored onto ``input_precision`` and clipped to its range. Keras then runs on those same values and
its output of every layer is kept as the reference the C-simulation is compared with.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import numpy as np

from ..errors import ConfigError
from ..paths import HLS_TEMPLATES_DIR
from .hls_config import input_quantizer_layer
from .settings import DEFAULT_INPUT_PRECISION

__all__ = [
    "ReferenceData",
    "fixed_point_grid",
    "compute_reference",
    "save_reference",
    "load_reference",
    "write_csim_testbench",
    "REFERENCE_FILE",
    "CSIM_SOURCE",
]

REFERENCE_FILE = "tb_data/fpgacompress_reference.npz"
CSIM_SOURCE = "fpgacompress_csim.cpp"


@dataclass(frozen=True)
class ReferenceData:
    """What the Python model computes on the testbench inputs.

    Attributes:
        inputs: ``(n, n_features)`` float32 values on the firmware input grid.
        layer_outputs: Keras output of every layer, by layer name, in model order.
        logits_layer: the step whose output the final table activation reads (else the model output).
        softmax_layer: the final softmax / sigmoid / tanh step (a lookup table in firmware), or ``None``.
        output_function: that step's function (``softmax``, ``sigmoid``, ``tanh``), or ``None``.
        inexact_layers: step name -> why the firmware differs from Keras there by construction
            (float weights, batch norm, hidden lookup tables); empty for a bit-exact design.
    """

    inputs: np.ndarray
    layer_outputs: dict[str, np.ndarray]
    logits_layer: str
    softmax_layer: str | None
    output_function: str | None = None
    inexact_layers: dict[str, str] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])


def fixed_point_grid(x: np.ndarray, precision: str) -> np.ndarray:
    """``x`` floored onto the ``fixed<W,I>`` / ``ufixed<W,I>`` grid and clipped to its range.

    Example:
        >>> fixed_point_grid(np.array([0.3, -40.0]), "fixed<8,3>").tolist()
        [0.28125, -4.0]
    """
    match = re.fullmatch(r"(u?)fixed<(\d+),(-?\d+)>", precision.replace(" ", ""))
    if match is None:
        raise ConfigError(
            f"input_precision must look like fixed<16,6> or ufixed<8,0>. Received: {precision!r}."
        )
    unsigned, width, integer = match.group(1) == "u", int(match.group(2)), int(match.group(3))
    fractional = width - integer
    step = 2.0**-fractional
    low = 0.0 if unsigned else -(2.0 ** (integer - 1))
    high = (2.0**integer if unsigned else 2.0 ** (integer - 1)) - step
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) / step) * step, low, high).astype(np.float32)


OUTPUT_TABLE_FUNCTIONS = ("softmax", "sigmoid", "tanh")


def compute_reference(model, x: np.ndarray, input_precision: str | None) -> ReferenceData:
    """Testbench inputs on the firmware grid and every step's Keras output on them.

    Each layer's kind computes its reference like for like with what hls4ml traces: a Dense with a
    fused softmax gives its pre-activation output under its own name and the softmax under
    ``NAME_softmax``, as hls4ml splits it.

    Args:
        model: the model as hls4ml will see it (after :func:`~.hls_config.prepare_for_hls4ml`).
        x: standardized inputs, ``(n, n_features)``.
        input_precision: grid of models without an input quantizer (``None``: hls4ml's fixed<16,6>).
    """
    import tensorflow as tf

    from ..layer_kinds import kind_of, model_steps

    x = np.asarray(x, dtype=np.float32)
    quantizer = input_quantizer_layer(model)
    if quantizer is not None:
        inputs = np.asarray(quantizer(tf.constant(x)), dtype=np.float32)
    else:
        inputs = fixed_point_grid(x, input_precision or DEFAULT_INPUT_PRECISION)
    # layer by layer, eagerly: the same calls the model makes, with every intermediate kept
    layer_outputs, tensor = {}, tf.constant(inputs)
    for layer in model.layers[1:]:
        for name, output in kind_of(layer).reference(layer, tensor):
            layer_outputs[name] = np.asarray(output, dtype=np.float32)
            tensor = output
    steps = model_steps(model)
    output_function = steps[-1].function if steps[-1].function in OUTPUT_TABLE_FUNCTIONS else None
    logits_layer = steps[-2].name if output_function is not None else steps[-1].name
    # the output table is judged by its decisions; every other approximate step makes the logits differ
    inexact = {step.name: step.inexact_reason for step in steps if step.inexact_reason}
    if output_function is not None:
        inexact.pop(steps[-1].name, None)
    return ReferenceData(
        inputs,
        layer_outputs,
        logits_layer,
        steps[-1].name if output_function is not None else None,
        output_function,
        inexact,
    )


def save_reference(reference: ReferenceData, project_dir: Path) -> Path:
    """Store the reference in the project, so ``csim`` needs only the project directory."""
    path = Path(project_dir) / REFERENCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(reference.layer_outputs)
    np.savez_compressed(
        path,
        inputs=reference.inputs,
        layer_names=np.array(names),
        logits_layer=np.array(reference.logits_layer),
        softmax_layer=np.array(reference.softmax_layer or ""),
        output_function=np.array(reference.output_function or ""),
        inexact_layers=np.array(json.dumps(reference.inexact_layers)),
        **{f"layer_{index}": reference.layer_outputs[name] for index, name in enumerate(names)},
    )
    return path


def load_reference(project_dir: Path) -> ReferenceData:
    """The reference a build stored in ``project_dir``."""
    with np.load(Path(project_dir) / REFERENCE_FILE) as stored:
        names = [str(name) for name in stored["layer_names"]]
        softmax_layer = str(stored["softmax_layer"]) or None
        return ReferenceData(
            inputs=stored["inputs"],
            layer_outputs={name: stored[f"layer_{index}"] for index, name in enumerate(names)},
            logits_layer=str(stored["logits_layer"]),
            softmax_layer=softmax_layer,
            # projects built before layer kinds: a final softmax at most, nothing known to be inexact
            output_function=(str(stored["output_function"]) or None)
            if "output_function" in stored.files
            else ("softmax" if softmax_layer else None),
            inexact_layers=json.loads(str(stored["inexact_layers"]))
            if "inexact_layers" in stored.files
            else {},
        )


def write_csim_testbench(hls_model, project_dir: Path) -> tuple[str, ...]:
    """Write ``fpgacompress_csim.cpp`` for ``hls_model`` and return the traced layer names, in order.

    The calling code mirrors hls4ml's own testbench writer (same variable declarations and
    ``copy_data``), so it works for io_parallel and io_stream alike.
    """
    project_name = hls_model.config.get_project_name()
    inputs = hls_model.get_input_variables()
    outputs = hls_model.get_output_variables()
    indent = " " * 8
    call_lines, offset = [], 0
    for variable in inputs:
        call_lines.append(f"{indent}{variable.definition_cpp()};")
        call_lines.append(
            f"{indent}nnet::copy_data<float, {variable.type.name}, {offset}, {variable.size_cpp()}>(in, {variable.name});"
        )
        offset += variable.size()
    call_lines += [f"{indent}{variable.definition_cpp()};" for variable in outputs]
    arguments = ", ".join(variable.name for variable in [*inputs, *outputs])
    call_lines.append(f"{indent}{project_name}({arguments});")

    traced, registrations, dumps = [], [], []
    for layer in hls_model.get_layers():
        if not (layer.get_attr("function_cpp", None) and layer.get_attr("trace", False)):
            continue
        for variable in layer.get_variables():
            traced.append(layer.name)
            registrations.append(
                f'    (*nnet::trace_outputs)["{layer.name}"] = std::calloc({variable.size_cpp()}, sizeof(double));'
            )
            dumps.append(f'{indent}dump_layer(out, sample, "{layer.name}", {variable.size_cpp()});')
    template = Template((HLS_TEMPLATES_DIR / CSIM_SOURCE).read_text())
    source = template.substitute(
        project_name=project_name,
        n_inputs=offset,
        call="\n".join(call_lines),
        trace_registrations="\n".join(registrations),
        trace_dumps="\n".join(dumps),
    )
    (Path(project_dir) / CSIM_SOURCE).write_text(source)
    return tuple(traced)
