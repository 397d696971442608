"""Trained ternary quantization: {+W+, 0, -W-} per layer, zeros kept, exported and built bit-exact."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize:UserWarning")

SPEC_BITS = 6


@pytest.fixture(scope="module")
def base_and_pruned(small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning import PruneSpec, prune
    from fpgacompress.training import train

    data, _ = small_jets
    base = train(
        build_mlp("16-32-16-5", seed=0), data, TrainingConfig(epochs=4, batch_size=256), progress=False
    )
    pruned = prune(
        base.model,
        data,
        PruneSpec(target_sparsity=0.9, fraction_per_iteration=0.55, epochs_per_iteration=1),
        training=TrainingConfig(epochs=1, batch_size=256),
        progress=False,
    )
    return base, pruned


def _spec():
    from fpgacompress.quantization import QuantizationSpec

    return QuantizationSpec.uniform(SPEC_BITS, 0, activation_bits=8, activation_integer=3)


@pytest.fixture(scope="module")
def ttq_results(base_and_pruned, small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.quantization.ttq import trained_ternary_quantization

    data, standardizer = small_jets
    base, pruned = base_and_pruned
    config = TrainingConfig(epochs=3, batch_size=256, learning_rate_schedule="cosine")
    return {  # dense: the default (fc2 ternary, fc1 and output 6-bit); pruned: every layer ternary
        "dense": trained_ternary_quantization(base.model, _spec(), data, config, progress=False),
        "pruned": trained_ternary_quantization(
            pruned.model, _spec(), data, config, power_of_two=True, ternary_first_and_last=True, progress=False
        ),
    }


def _ternary_kernels(model):
    return {
        layer.name: np.asarray(layer.kernel_quantizer_internal(layer.kernel))
        for layer in model.layers
        if type(layer).__name__ == "QDense"
    }


@pytest.mark.parametrize("case", ["dense", "pruned"])
def test_exported_kernels_hold_exactly_three_values_per_layer(ttq_results, case):
    from fpgacompress.quantization.ttq import scale_grid

    result = ttq_results[case]
    step, largest = scale_grid(SPEC_BITS, 0)
    kernels = _ternary_kernels(result.exported)
    assert sorted(result.scales) == (["fc2"] if case == "dense" else ["fc1", "fc2", "output"])
    for name, (positive, negative) in result.scales.items():
        kernel = kernels[name]
        assert set(np.unique(kernel)) <= {positive, 0.0, -negative}
        for scale in (positive, negative):
            assert step <= scale <= largest and (scale / step).is_integer()  # on the fixed-point grid
            if case == "pruned":  # power-of-two scales: every product is a shift
                assert np.log2(scale).is_integer()


def test_ttq_keeps_every_pruned_zero_and_stays_close_to_the_float_model(ttq_results, base_and_pruned):
    base, pruned = base_and_pruned
    result = ttq_results["pruned"]
    for name, kernel in _ternary_kernels(result.exported).items():
        pruned_kernel = pruned.model.get_layer(name).kernel.numpy()
        assert np.all(kernel[pruned_kernel == 0] == 0)
    assert result.report.sparsity >= pruned.mask.sparsity
    # QKeras ternary alpha=1 lost 5-22 points on the jets; TTQ must stay near the float model
    assert ttq_results["dense"].training.metrics.accuracy > base.metrics.accuracy - 0.03


def test_ttq_layer_and_export_round_trip_through_a_file(ttq_results, small_jets, tmp_path):
    from fpgacompress.model_io import load_model, save_model
    from fpgacompress.quantization.ttq import TTQDense

    data, _ = small_jets
    result = ttq_results["pruned"]
    for model, name in ((result.model, "ttq.h5"), (result.exported, "exported.h5")):
        reloaded = load_model(save_model(model, tmp_path / name))
        assert np.array_equal(reloaded.predict(data.x_test, verbose=0), model.predict(data.x_test, verbose=0))
    reloaded = load_model(tmp_path / "ttq.h5")
    layer = next(layer for layer in reloaded.layers if isinstance(layer, TTQDense))
    assert layer.power_of_two and layer.weight_bits == SPEC_BITS
    assert layer.scales() == result.scales[layer.name]


def test_ttq_cli_writes_the_run_directory_and_refuses_bad_input(
    base_and_pruned, small_jets, tmp_path, capsys
):
    from fpgacompress.cli import main
    from fpgacompress.model_io import load_model, save_model

    base, _ = base_and_pruned
    model_path = save_model(base.model, tmp_path / "float.h5", standardizer=small_jets[1])
    out = tmp_path / "ttq"
    args = [str(model_path), "--bits", "6", "--weights", "ttq", "--epochs", "2", "--max-train", "2000"]
    assert main(["quantize", *args, "--learning-rate-schedule", "cosine", "--out", str(out), "--no-progress"]) == 0
    for name in ("model.h5", "model_ttq.h5", "ttq_scales.json", "metrics.json", "quantization_report.json"):
        assert (out / name).is_file(), name
    assert list(json.loads((out / "ttq_scales.json").read_text())["layers"]) == ["fc2"]  # first, last: 6-bit
    assert json.loads((out / "history.json").read_text())["lr"] == pytest.approx([1e-3, 5e-4])
    assert {type(layer).__name__ for layer in load_model(out / "model.h5").layers} >= {"QDense"}
    capsys.readouterr()
    assert main(["quantize", *args, "--ttq-threshold", "1.5", "--out", str(tmp_path / "bad")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "threshold" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
    both = ["--ttq-layers", "fc2", "--ttq-first-and-last", "--out", str(tmp_path / "both")]
    assert main(["quantize", *args, *both]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "not both" in error and not (tmp_path / "both").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["dense", "pruned"])
def test_ttq_firmware_is_bit_exact_on_1000_jets(ttq_results, small_jets, tmp_path, case):
    from fpgacompress.firmware import BuildConfig, build, csim

    data, _ = small_jets
    config = BuildConfig(board="serenity-vu13p", n_testbench_samples=1000)
    project = build(ttq_results[case].exported, None, config, x_test=data.x_test, out_dir=tmp_path / case)
    result = csim(project, optimization_level=1)
    assert result.n_samples == 1000
    assert result.bit_exact, result.summary()


def test_ttq_on_chosen_layers_keeps_the_others_fixed_point_and_refuses_unknown_names(base_and_pruned):
    from fpgacompress.errors import ConfigError
    from fpgacompress.quantization import quantize
    from fpgacompress.quantization.ttq import TTQDense, ternarize

    base, _ = base_and_pruned
    table = _spec().resolve(base.model)
    qmodel = quantize(base.model, table)
    mixed = ternarize(qmodel, table, layers=["fc2"])
    kinds = {layer.name: type(layer).__name__ for layer in mixed.layers}
    assert kinds["fc2"] == "TTQDense" and kinds["fc1"] == kinds["output"] == "QDense"
    assert isinstance(mixed.get_layer("fc2"), TTQDense)
    with pytest.raises(ConfigError, match=r"TTQ layers \['relu1'\] are not Dense layers"):
        ternarize(qmodel, table, layers=["relu1"])
    with pytest.raises(ConfigError, match=r"in \(0, 1\); received threshold=0.0"):
        ternarize(qmodel, table, threshold=0.0)


def test_ttq_keeps_the_first_and_last_layers_fixed_point_by_default(base_and_pruned, ttq_results):
    from fpgacompress.errors import ConfigError
    from fpgacompress.models import build_mlp
    from fpgacompress.quantization import quantize
    from fpgacompress.quantization.ttq import ternary_layer_names

    base, _ = base_and_pruned
    qmodel = quantize(base.model, _spec().resolve(base.model))
    assert ternary_layer_names(qmodel) == ["fc2"]
    assert ternary_layer_names(qmodel, ternary_first_and_last=True) == ["fc1", "fc2", "output"]
    assert ternary_layer_names(qmodel, ["output", "fc1"]) == ["fc1", "output"]
    exported = ttq_results["dense"].exported  # fc1 and output keep many 6-bit values, fc2 has three
    distinct = {name: np.unique(kernel).size for name, kernel in _ternary_kernels(exported).items()}
    assert distinct["fc2"] <= 3 and distinct["fc1"] > 3 and distinct["output"] > 3
    shallow = build_mlp("16-8-5", seed=0)
    shallow_q = quantize(shallow, _spec().resolve(shallow))
    with pytest.raises(ConfigError, match=r"no other Dense layer .*ternary_first_and_last=True"):
        ternary_layer_names(shallow_q)
    assert ternary_layer_names(shallow_q, ternary_first_and_last=True) == ["fc1", "output"]
    with pytest.raises(ConfigError, match=r"either the TTQ layers \(fc1\) or ternary_first_and_last"):
        ternary_layer_names(shallow_q, ["fc1"], ternary_first_and_last=True)


def test_cosine_schedule_decays_the_learning_rate_to_near_zero(small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.training import cosine_decay, train

    data, _ = small_jets
    config = TrainingConfig(epochs=4, batch_size=256, learning_rate=1e-3, learning_rate_schedule="cosine")
    schedule = cosine_decay(config)
    assert [round(schedule(epoch), 6) for epoch in range(4)] == [0.001, 0.000854, 0.0005, 0.000146]
    result = train(build_mlp("16-8-5", seed=0), data, config, progress=False)
    assert result.history["lr"] == pytest.approx([schedule(epoch) for epoch in range(4)])
