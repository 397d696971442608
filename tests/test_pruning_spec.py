"""PruneSpec validation and the pure-NumPy choice of weights to cut (no training here)."""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.errors import ConfigError
from fpgacompress.pruning.magnitude import layer_targets, next_mask, removable
from fpgacompress.pruning.mask import PruningMask
from fpgacompress.pruning.spec import AccuracyBudget, PruneSpec
from fpgacompress.recipe import parse_section


@pytest.mark.parametrize("target", [1.0, 1.5, -0.1])
def test_target_sparsity_outside_zero_one_is_refused(target):
    with pytest.raises(
        ConfigError, match=rf"target_sparsity must be a float in \[0, 1\).*Received: target_sparsity={target}"
    ):
        PruneSpec(target_sparsity=target)


def test_dict_payload_errors_name_the_dotted_path():
    with pytest.raises(
        ConfigError, match=r"layers\.output\.max_sparsity: max_sparsity must be a float in \[0, 1\)"
    ):
        parse_section(PruneSpec, {"layers": {"output": {"max_sparsity": 1.0}}}, "pruning spec")
    with pytest.raises(ConfigError, match=r"fraction_per_iteraton: unknown key"):
        PruneSpec(fraction_per_iteraton=0.2)
    with pytest.raises(ConfigError, match=r"method: Input should be 'iterative' or 'tfmot'"):
        PruneSpec(method="random")


def test_schedule_epochs_must_be_ordered():
    with pytest.raises(ConfigError, match=r"begin_epoch < end_epoch <= epochs.*end_epoch=12, epochs=10"):
        PruneSpec(schedule={"epochs": 10, "end_epoch": 12})
    assert PruneSpec(schedule={"epochs": 30}).schedule.resolved_end_epoch == 20


def test_layers_both_excluded_and_overridden_are_refused():
    with pytest.raises(ConfigError, match=r"\['fc1'\] are both excluded and given overrides"):
        PruneSpec(exclude=("fc1",), layers={"fc1": {"max_sparsity": 0.5}})


def test_unknown_layer_names_are_rejected_with_the_known_ones():
    spec = PruneSpec(exclude=("fc9",), layers={"outptu": {"max_sparsity": 0.5}})
    with pytest.raises(
        ConfigError, match=r"\['fc9', 'outptu'\] that are not prunable layers.*\['fc1', 'output'\]"
    ):
        spec.check_layers(["fc1", "output"])
    with pytest.raises(ConfigError, match="excludes every prunable layer"):
        PruneSpec(exclude=("fc1", "output")).check_layers(["fc1", "output"])


def test_accuracy_budget_absolute_and_relative():
    absolute = AccuracyBudget(max_drop=0.005)
    assert absolute.threshold(0.70) == pytest.approx(0.695)
    assert absolute.allows(0.695, 0.70) and not absolute.allows(0.6949, 0.70)
    relative = AccuracyBudget(max_drop=0.01, kind="relative")
    assert relative.threshold(0.70) == pytest.approx(0.693)


def _kernels(seed=0):
    generator = np.random.default_rng(seed)
    return {
        "fc1": generator.normal(size=(16, 32)),
        "fc2": generator.normal(size=(32, 8)),
        "output": generator.normal(size=(8, 5)),
    }


def _dense(kernels):
    return PruningMask({name: np.ones(kernel.shape, dtype=bool) for name, kernel in kernels.items()})


def test_layer_scope_cuts_the_smallest_weights_of_each_layer():
    kernels = _kernels()
    mask = next_mask(kernels, _dense(kernels), PruneSpec(target_sparsity=0.9, fraction_per_iteration=0.25))
    for name, kernel in kernels.items():
        kept = mask.masks[name]
        assert (~kept).sum() == round(0.25 * kernel.size)
        # every cut weight is smaller than every kept weight that was cuttable (not a column's strongest)
        cuttable_kept = removable(kernel, kept)
        assert np.abs(kernel[~kept]).max() <= np.abs(kernel[cuttable_kept]).min()


def test_global_scope_uses_one_threshold():
    kernels = _kernels()
    kernels["output"] = 5 + np.abs(kernels["output"])  # large output weights: a global threshold spares them
    mask = next_mask(kernels, _dense(kernels), PruneSpec(scope="global", fraction_per_iteration=0.3))
    cut = np.concatenate([np.abs(kernels[name][~m]) for name, m in mask.masks.items()])
    kept = np.concatenate([np.abs(kernels[name][m]) for name, m in mask.masks.items()])
    assert mask.sparsity == pytest.approx(0.3, abs=1 / mask.n_weights)
    assert cut.max() <= np.sort(kept)[40]  # only the 1-per-neuron protected weights may be smaller
    assert mask.layer_sparsity()["output"] == 0.0


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_repeated_cuts_land_on_the_target_and_keep_every_neuron_alive(scope):
    kernels = _kernels()
    spec = PruneSpec(target_sparsity=0.92, fraction_per_iteration=0.5, scope=scope)
    mask = _dense(kernels)
    for _ in range(30):
        mask = next_mask(kernels, mask, spec)
    assert abs(mask.sparsity - 0.92) <= 0.01
    for kept in mask.masks.values():
        assert kept.any(axis=0).all(), "an output neuron lost every weight"
    assert next_mask(kernels, mask, spec) is mask


def test_caps_and_exclusions_are_honoured():
    kernels = _kernels()
    spec = PruneSpec(
        target_sparsity=0.8,
        fraction_per_iteration=0.6,
        exclude=("fc2",),
        layers={"output": {"max_sparsity": 0.4}},
    )
    mask = _dense(kernels)
    for _ in range(20):
        mask = next_mask(kernels, mask, spec)
    assert mask.layer_sparsity()["fc2"] == 0.0
    assert mask.layer_sparsity()["output"] <= 0.4
    assert mask.layer_sparsity()["fc1"] > 0.9


def test_one_weight_per_neuron_limits_sparsity():
    kernels = {"output": np.arange(1.0, 11.0).reshape(2, 5)}  # 10 weights, 5 neurons: at most 50 % zeros
    mask = _dense(kernels)
    spec = PruneSpec(target_sparsity=0.9, fraction_per_iteration=0.9)
    for _ in range(5):
        mask = next_mask(kernels, mask, spec)
    assert mask.masks["output"].tolist() == [[False] * 5, [True] * 5]


def test_layer_targets_sum_to_the_overall_target():
    sizes = {"fc1": 1024, "fc2": 2048, "fc3": 1024, "output": 160}
    spec = PruneSpec(target_sparsity=0.9, layers={"output": {"max_sparsity": 0.6}}, exclude=())
    targets = layer_targets(sizes, spec)
    assert targets["output"] == 0.6
    assert sum(targets[name] * size for name, size in sizes.items()) / sum(sizes.values()) == pytest.approx(
        0.9
    )
