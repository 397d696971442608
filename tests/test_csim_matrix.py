"""Acceptance matrix: firmware logits equal the QKeras model's logits, bit for bit, on 1,000 real jets.

Ten configurations cover weight bits 4/6/8/16, ternary and binary weights, a 90%-pruned model,
a reduced (smaller-topology, fewer-inputs, as AutoPruner exports) model, reuse factor 1 and 4,
io_parallel and io_stream, latency and resource strategy, and both backends. The models are
trained briefly on the bundled jets and quantized with ``fpgacompress.quantization.quantize``, so
weights and activations are realistic, not random.

Every project is built first; the C-simulations then compile two at a time with ``-O1`` (the
fixed-point results do not depend on the optimization level; it halves compile time).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest

pytestmark = pytest.mark.slow

N_JETS = 1000


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
        {"strategy": "resource", "reuse_factor": 4, "io_type": "io_stream"},
    ),
    Case("w6-latency-rf1-stream", "w6", {"strategy": "latency", "reuse_factor": 1, "io_type": "io_stream"}),
    Case("w8-resource-rf4-stream", "w8", {"strategy": "resource", "reuse_factor": 4, "io_type": "io_stream"}),
]
REDUCED_FEATURES = 12  # 12-24-12-5: every layer accepts reuse factor 4


def _train(model, x, y, epochs=3):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=256, verbose=0)
    return model


@pytest.fixture(scope="module")
def jets():
    from fpgacompress.data import load_jets

    return load_jets().subsample(max_train=6000, max_test=N_JETS, seed=1).standardized()[0]


@pytest.fixture(scope="module")
def models(jets):
    import tensorflow as tf

    from fpgacompress.models import build_mlp
    from fpgacompress.quantization import QuantizationSpec, quantize

    tf.keras.utils.set_random_seed(0)
    base = _train(build_mlp("16-64-32-32-5", seed=0), jets.x_train, jets.y_train)

    def quantized(model, bits=6, data=jets, **kind):
        spec = QuantizationSpec.uniform(bits, 0, activation_bits=8, activation_integer=3, **kind)
        return _train(quantize(model, spec), data.x_train, data.y_train, epochs=1)

    pruned = tf.keras.models.clone_model(base)
    weights = []
    for array in base.get_weights():
        if array.ndim == 2:  # kernels: keep the largest 10% of each layer
            threshold = np.quantile(np.abs(array), 0.9)
            array = np.where(np.abs(array) > threshold, array, 0.0).astype(array.dtype)
        weights.append(array)
    pruned.set_weights(weights)

    features = list(jets.feature_names[:REDUCED_FEATURES])
    reduced_data = jets.select_features(features)
    reduced = _train(
        build_mlp(f"{REDUCED_FEATURES}-24-12-5", seed=0), reduced_data.x_train, reduced_data.y_train
    )
    return {
        "w4": (quantized(base, 4), jets.x_test),
        "w6": (quantized(base, 6), jets.x_test),
        "w8": (quantized(base, 8), jets.x_test),
        "w16": (quantized(base, 16), jets.x_test),
        "ternary": (quantized(base, weight_kind="ternary"), jets.x_test),
        "binary": (quantized(base, weight_kind="binary"), jets.x_test),
        "pruned90": (quantized(pruned, 6), jets.x_test),
        "reduced": (quantized(reduced, 6, data=reduced_data), reduced_data.x_test),
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


def test_pruned_zeros_reach_the_firmware_weights(matrix, models):
    projects, _ = matrix
    model, _ = models["pruned90"]
    dense = [layer for layer in model.layers if hasattr(layer, "kernel_quantizer_internal")]
    float_kernels = [layer.kernel.numpy() for layer in dense]
    quantized_kernels = [np.asarray(layer.kernel_quantizer_internal(layer.kernel)) for layer in dense]
    float_zeros = sum(int((k == 0).sum()) for k in float_kernels) / sum(k.size for k in float_kernels)
    quantized_zeros = sum(int((k == 0).sum()) for k in quantized_kernels) / sum(
        k.size for k in quantized_kernels
    )
    assert float_zeros >= 0.89, "pruned weights must survive quantization-aware fine-tuning"
    project = projects["pruned90-w6-latency-rf1-parallel"]
    weight_files = sorted((project.path / "firmware" / "weights").glob("w*.txt"))
    firmware = np.concatenate(
        [np.array(path.read_text().replace(",", " ").split(), dtype=float) for path in weight_files]
    )
    assert firmware.size == sum(k.size for k in quantized_kernels)
    assert (firmware == 0).mean() == quantized_zeros
    assert quantized_zeros >= float_zeros
