"""Acceptance matrix: firmware logits equal the QKeras model's logits, bit for bit, on 1,000 real jets.

Ten configurations cover weight bits 4/6/8/16, ternary and binary weights, a 90%-pruned model,
an AutoPruner-reduced model, reuse factor 1 and 4, io_parallel and io_stream, latency and resource
strategy, and both backends. Every model is a real output of the project's own stages on the bundled
jets: a trained float tagger; ``prune()`` to 90 % zeros (iterative, one epoch per iteration);
``autoprune()`` keeping half the nodes and 12 of 16 features (its ``reduced_model`` and ``data``);
each then through ``quantization_aware_training()``. Epochs are few: exactness, not accuracy, is tested.

Every project is built first; the C-simulations then compile two at a time with ``-O1`` (the
fixed-point results do not depend on the optimization level; it halves compile time).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize:UserWarning"),
]

N_JETS = 1000
KEPT_FEATURES = 12  # AutoPruner keeps 12 of 16 inputs and half of each hidden layer: 12-32-16-16-5


@dataclass(frozen=True)
class Case:
    name: str
    model: str  # key of the models fixture
    settings: dict


CASES = [
    Case("w4-latency-rf1-parallel", "w4", {"strategy": "latency", "reuse_factor": 1}),
    Case("w6-latency-rf1-parallel", "w6", {"strategy": "latency", "reuse_factor": 1}),
    Case("w8-resource-rf4-parallel", "w8", {"strategy": "resource", "reuse_factor": 4}),
    Case(
        "w16-latency-rf4-parallel-vivado",
        "w16",
        {"strategy": "latency", "reuse_factor": 4, "backend": "vivado"},
    ),
    Case("ternary-latency-rf1-parallel", "ternary", {"strategy": "latency", "reuse_factor": 1}),
    Case("binary-resource-rf4-parallel", "binary", {"strategy": "resource", "reuse_factor": 4}),
    Case("pruned90-w6-latency-rf1-parallel", "pruned90", {"strategy": "latency", "reuse_factor": 1}),
    Case(
        "reduced-w6-resource-rf4-stream",
        "reduced",
        # io_stream layers are not pipelined across inputs: a layer's II is its latency (9-10 cycles
        # here, over the 6 of TMUX 1 at 240 MHz), so the stream cases run at TMUX 2
        {"strategy": "resource", "reuse_factor": 4, "io_type": "io_stream", "tmux": 2},
    ),
    Case(
        "w6-latency-rf1-stream",
        "w6",
        {"strategy": "latency", "reuse_factor": 1, "io_type": "io_stream", "tmux": 2},
    ),
    Case(
        "w8-resource-rf4-stream",
        "w8",
        {"strategy": "resource", "reuse_factor": 4, "io_type": "io_stream", "tmux": 2},
    ),
]


@pytest.fixture(scope="module")
def jets():
    from fpgacompress.data import load_jets

    return load_jets().subsample(max_train=6000, max_test=N_JETS, seed=1).standardized()[0]


@pytest.fixture(scope="module")
def compressed(jets):
    """The float tagger and what the pruning and AutoPruner stages make of it."""
    from fpgacompress.autopruning import AutoPruneSpec, autoprune
    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning import PruneSpec, prune
    from fpgacompress.training import train

    training = TrainingConfig(epochs=3, batch_size=256)
    base = train(build_mlp("16-64-32-32-5", seed=0), jets, training, progress=False).model
    pruned = prune(
        base,
        jets,
        PruneSpec(target_sparsity=0.9, fraction_per_iteration=0.55, epochs_per_iteration=1),
        training=training,
        progress=False,
    )
    reduced = autoprune(
        base,
        jets,
        AutoPruneSpec(keep=0.5, keep_features=KEPT_FEATURES, soft_epochs=2, hard_epochs=1),
        training=training.model_copy(update={"epochs": 1}),
        progress=False,
    )
    return base, pruned, reduced


@pytest.fixture(scope="module")
def models(jets, compressed):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.quantization import QuantizationSpec, quantization_aware_training

    base, pruned, reduced = compressed
    fine_tuning = TrainingConfig(epochs=1, batch_size=256)

    def quantized(model, bits=6, data=jets, **kind):
        spec = QuantizationSpec.uniform(bits, 0, activation_bits=8, activation_integer=3, **kind)
        return quantization_aware_training(model, spec, data, fine_tuning, progress=False).model

    return {
        "w4": (quantized(base, 4), jets.x_test),
        "w6": (quantized(base, 6), jets.x_test),
        "w8": (quantized(base, 8), jets.x_test),
        "w16": (quantized(base, 16), jets.x_test),
        "ternary": (quantized(base, weight_kind="ternary"), jets.x_test),
        "binary": (quantized(base, weight_kind="binary"), jets.x_test),
        "pruned90": (quantized(pruned.model, 6), jets.x_test),
        "reduced": (quantized(reduced.reduced_model, 6, data=reduced.data), reduced.data.x_test),
    }


@pytest.fixture(scope="module")
def matrix(models, tmp_path_factory):
    from fpgacompress.firmware import BuildConfig, build, csim

    root = tmp_path_factory.mktemp("csim_matrix")
    projects = {}
    for case in CASES:
        model, x_test = models[case.model]
        config = BuildConfig(board="serenity-vu13p", n_testbench_samples=N_JETS, **case.settings)
        projects[case.name] = build(model, None, config, x_test=x_test, out_dir=root / case.name)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(
            zip(
                projects,
                pool.map(lambda project: csim(project, optimization_level=1), projects.values()),
                strict=True,
            )
        )
    return projects, results


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_firmware_logits_are_bit_exact_on_1000_real_jets(matrix, case):
    projects, results = matrix
    result = results[case.name]
    assert result.n_samples == N_JETS
    assert result.bit_exact, result.summary()
    assert result.logits_layer == "output"
    # a hidden layer may differ only where Keras itself rounds (a type wider than float32's significand)
    differing = {name for name, count in result.layer_mismatches.items() if count}
    assert differing <= set(result.float32_inexact_layers), (
        result.layer_mismatches,
        result.float32_inexact_layers,
    )
    assert result.softmax_argmax_agreement is not None
    assert projects[case.name].manifest["settings"]["io_type"] == case.settings.get("io_type", "io_parallel")


def test_matrix_covers_the_acceptance_axes():
    settings = [case.settings for case in CASES]
    assert {case.model for case in CASES} >= {
        "w4",
        "w6",
        "w8",
        "w16",
        "ternary",
        "binary",
        "pruned90",
        "reduced",
    }
    assert {s["reuse_factor"] for s in settings} == {1, 4}
    assert {s.get("io_type", "io_parallel") for s in settings} == {"io_parallel", "io_stream"}
    assert {s["strategy"] for s in settings} == {"latency", "resource"}
    assert len(CASES) >= 10


def test_pruned_zeros_reach_the_firmware_weights(matrix, compressed, models):
    projects, _ = matrix
    _, pruned, _ = compressed
    assert pruned.mask.sparsity == pytest.approx(0.9, abs=1e-3), pruned.stop_reason
    model, _ = models["pruned90"]
    dense = [layer for layer in model.layers if hasattr(layer, "kernel_quantizer_internal")]
    float_kernels = [layer.kernel.numpy() for layer in dense]
    quantized_kernels = [np.asarray(layer.kernel_quantizer_internal(layer.kernel)) for layer in dense]
    float_zeros = sum(int((k == 0).sum()) for k in float_kernels) / sum(k.size for k in float_kernels)
    quantized_zeros = sum(int((k == 0).sum()) for k in quantized_kernels) / sum(
        k.size for k in quantized_kernels
    )
    assert float_zeros >= pruned.mask.sparsity, "pruned weights must survive quantization-aware fine-tuning"
    project = projects["pruned90-w6-latency-rf1-parallel"]
    weight_files = sorted((project.path / "firmware" / "weights").glob("w*.txt"))
    firmware = np.concatenate(
        [np.array(path.read_text().replace(",", " ").split(), dtype=float) for path in weight_files]
    )
    assert firmware.size == sum(k.size for k in quantized_kernels)
    assert (firmware == 0).mean() == quantized_zeros
    assert quantized_zeros >= float_zeros


def test_autopruner_reduced_model_is_the_firmware_topology(matrix, compressed, jets):
    projects, _ = matrix
    _, _, reduced = compressed
    assert reduced.topology == f"{KEPT_FEATURES}-32-16-16-5"
    assert reduced.data.feature_names == reduced.kept_features
    assert set(reduced.kept_features) < set(jets.feature_names)
    project = projects["reduced-w6-resource-rf4-stream"]
    testbench_inputs = (project.path / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    assert len(testbench_inputs) == N_JETS
    assert {len(line.split()) for line in testbench_inputs} == {KEPT_FEATURES}
