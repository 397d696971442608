"""Pruning that sees the hardware: OBD Hessian, resource ranking, patterns, budget mode, schedules, epochs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fpgacompress.cli import main
from fpgacompress.errors import ConfigError
from fpgacompress.model_io import load_model, save_model
from fpgacompress.models import build_mlp
from fpgacompress.pruning.api import prune
from fpgacompress.pruning.budget import ResourceBudget, ResourceBudgetError
from fpgacompress.pruning.hessian import diagonal_hessian
from fpgacompress.pruning.magnitude import next_mask
from fpgacompress.pruning.mask import PruningMask
from fpgacompress.pruning.saliency import multiplier_groups, weight_scores
from fpgacompress.pruning.schedules import polynomial_targets
from fpgacompress.pruning.spec import PruneSpec
from fpgacompress.recipe import TrainingConfig
from fpgacompress.regularizers import L1
from fpgacompress.training import train

QUICK = TrainingConfig(epochs=2, batch_size=256, early_stopping_patience=None, seed=0)


@pytest.fixture(scope="module")
def trained(small_jets):
    data, _ = small_jets
    return train(build_mlp("16-16-8-5", regularizer=L1(1e-4), seed=0), data, QUICK, progress=False).model


# --- Hessian ---------------------------------------------------------------------------------------


def test_gauss_newton_diagonal_equals_the_hand_computed_softmax_hessian():
    # For one Dense layer into a softmax, the cross-entropy is convex in the weights and the
    # Gauss-Newton matrix is the Hessian: H[(i,j),(i,j)] = mean_n x_ni**2 * p_nj * (1 - p_nj).
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    inputs = tf.keras.Input((4,))
    logits = tf.keras.layers.Dense(3, name="dense")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Activation("softmax")(logits))
    model.get_layer("dense").set_weights([rng.normal(size=(4, 3)), rng.normal(size=3)])

    kernel, bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("dense").get_weights())
    z = x @ kernel + bias
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = (x**2).T @ (p * (1 - p)) / len(x)

    hessian = diagonal_hessian(model, x, batch_size=128, max_samples=None)["dense"]
    np.testing.assert_allclose(hessian, expected, rtol=1e-5)


def test_gauss_newton_diagonal_through_a_hidden_relu_matches_j_transpose_h_j():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    model = build_mlp("3-4-3", seed=1)
    hessian = diagonal_hessian(model, x, batch_size=7, max_samples=None)

    kernels = [model.get_layer(name).kernel for name in ("fc1", "output")]
    expected = [np.zeros(kernel.shape) for kernel in kernels]
    for row in x:
        with tf.GradientTape(persistent=True) as tape:
            hidden = tf.nn.relu(row[None] @ kernels[0] + model.get_layer("fc1").bias)
            logits = hidden @ kernels[1] + model.get_layer("output").bias
            classes = [logits[0, index] for index in range(3)]
        p = tf.nn.softmax(logits)[0].numpy().astype(np.float64)
        curvature = np.diag(p) - np.outer(p, p)
        for index, kernel in enumerate(kernels):
            jacobian = np.stack([tape.gradient(value, kernel).numpy().ravel() for value in classes]).astype(
                float
            )
            expected[index] += np.einsum("cp,cd,dp->p", jacobian, curvature, jacobian).reshape(kernel.shape)
        del tape
    np.testing.assert_allclose(hessian["fc1"], expected[0] / len(x), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(hessian["output"], expected[1] / len(x), rtol=1e-4, atol=1e-9)


# --- resource ranking ------------------------------------------------------------------------------


def test_resource_ranking_cuts_the_costlier_of_two_equally_salient_weights():
    # Input 2 is input 1 scaled by 5/3, so weights 0.5 (one CSD digit: a wire) and 0.3 (five digits:
    # a DSP at 16-bit inputs) have the same OBD saliency 1/2 H w**2; only their hardware cost differs.
    x1 = np.random.default_rng(2).normal(size=(500, 1)).astype(np.float32)
    x = np.hstack([x1, x1 * 5 / 3])
    inputs = tf.keras.Input((2,))
    logits = tf.keras.layers.Dense(2, name="dense")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Activation("softmax")(logits))
    model.get_layer("dense").set_weights([np.array([[0.5, -0.5], [0.3, -0.3]]), np.zeros(2)])

    saliency = weight_scores(model, "obd", x, hessian_samples=None)["dense"]
    np.testing.assert_allclose(saliency[0], saliency[1], rtol=1e-5)  # equally salient
    scores = weight_scores(model, "resource", x, hessian_samples=None)
    assert (scores["dense"][1] < scores["dense"][0]).all()

    spec = PruneSpec(target_sparsity=0.5, fraction_per_iteration=0.5, scope="global")
    cut = next_mask(scores, PruningMask({"dense": np.ones((2, 2), bool)}), spec)
    np.testing.assert_array_equal(cut.masks["dense"], [[True, True], [False, False]])


# --- patterns, schedules, budget parsing -------------------------------------------------------------


def test_multiplier_groups_follow_hls4ml_resource_strategy_order():
    groups = multiplier_groups((3, 2), reuse_factor=2)  # kernel.T.ravel() = w00 w10 w20 w01 w11 w21
    np.testing.assert_array_equal(groups, [[0, 1], [0, 2], [1, 2]])
    with pytest.raises(ConfigError, match="reuse_factor must divide the kernel size 3x2=6"):
        multiplier_groups((3, 2), reuse_factor=4)


def test_polynomial_schedule_front_loads_the_cuts_and_lands_on_the_target():
    targets = polynomial_targets(0.0, 0.93, 4)
    assert targets[-1] == 0.93 and targets[0] > 0.5
    steps = np.diff((0.0, *targets))
    assert (steps > 0).all() and (np.diff(steps) < 0).all()


def test_resource_budget_parses_limits_and_names_a_bad_term():
    budget = ResourceBudget.parse("lut<=2%, dsp<=0")
    assert budget.limits({"lut": 1000, "dsp": 50}) == {"lut": 20.0, "dsp": 0.0}
    with pytest.raises(ConfigError, match=r"term 'luts<2'.*like lut<=2%,dsp<=0"):
        ResourceBudget.parse("luts<2")
    with pytest.raises(ConfigError, match="needs a board"):
        PruneSpec(resource_budget="lut<=2%")


# --- end to end: criteria and patterns keep exact zeros ----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("criterion", "hardware"),
    [("obd", {}), ("resource", {}), ("obd", {"reuse_factor": 4})],
)
def test_criteria_reach_the_target_and_zeros_survive_retraining_save_load_and_qat(
    trained, small_jets, tmp_path, criterion, hardware
):
    from fpgacompress.quantization import QuantizationSpec, quantization_aware_training

    data, _ = small_jets
    spec = PruneSpec(
        criterion=criterion,
        target_sparsity=0.6,
        sparsity_schedule="polynomial",
        learning_rate_schedule="restart",
        max_iterations=2,
        fine_tune_epochs=1,
        hardware=hardware,
        hessian_samples=1024,
    )
    result = prune(trained, data, spec, training=QUICK.model_copy(update={"epochs": 1}), progress=False)
    assert result.mask.sparsity >= 0.6 - 0.01
    assert [record.epochs_trained for record in result.records[1:]] == [1, 1, 1]
    assert result.stop_reason.endswith("then fine-tuned for 1 epochs") and result.final is result.records[-1]
    if hardware:  # every multiplier group is kept or cut whole
        for name, kept in result.mask.masks.items():
            groups = multiplier_groups(kept.shape, 4)
            for group in np.unique(groups):
                assert kept[groups == group].all() or not kept[groups == group].any(), name

    train(result.model, data, QUICK, progress=False)
    assert result.mask.violations(result.model) == {}
    reloaded = load_model(save_model(result.model, tmp_path / "pruned.h5"))
    assert result.mask.violations(reloaded) == {}
    quantized = quantization_aware_training(
        reloaded, QuantizationSpec.uniform(6), data, QUICK, progress=False
    )
    assert result.mask.violations(quantized.model) == {}


# --- budget mode -----------------------------------------------------------------------------------


def test_budget_mode_stops_once_the_estimated_design_fits(trained, small_jets):
    from fpgacompress.estimation import estimate

    data, _ = small_jets
    before = estimate(trained, "serenity-vu13p").totals
    limit = int(0.6 * before.lut)
    spec = PruneSpec(
        criterion="resource",
        target_sparsity=0.97,
        fraction_per_iteration=0.5,
        hardware={"board": "serenity-vu13p"},
        resource_budget=f"lut<={limit}",
        hessian_samples=1024,
    )
    result = prune(trained, data, spec, training=QUICK.model_copy(update={"epochs": 1}), progress=False)
    assert estimate(result.model, "serenity-vu13p").totals.lut <= limit
    assert result.stop_reason == f"estimated design fits the budget lut<={limit} on serenity-vu13p"
    assert 0 < result.mask.sparsity < 0.97


@pytest.mark.slow
def test_budget_out_of_reach_is_one_error_line_exit_2_and_no_output(trained, tmp_path, capsys):
    model_path = save_model(trained, tmp_path / "tagger.h5")
    out = tmp_path / "pruned"
    code = main([
        "prune", str(model_path), "--board", "serenity-vu13p", "--budget", "lut<=10,dsp<=0",
        "--criterion", "resource", "--max-accuracy-drop", "0", "--epochs-per-iteration", "1",
        "--max-iterations", "2", "--max-train", "1000", "--out", str(out), "--no-progress",
    ])  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(error) == 1
    assert error[0].startswith("error: Cannot prune the design into lut<=10,dsp<=0 on serenity-vu13p")
    assert not out.exists()


def test_budget_error_is_a_fpgacompress_error():
    from fpgacompress.errors import FpgacompressError

    assert issubclass(ResourceBudgetError, FpgacompressError)


# --- TrainingConfig(epochs=N) is honoured --------------------------------------------------------------


@pytest.mark.slow
def test_training_epochs_set_the_retraining_length(trained, small_jets):
    data, _ = small_jets
    spec = PruneSpec(target_sparsity=0.5, fraction_per_iteration=0.5, max_iterations=1)
    result = prune(trained, data, spec, training=QUICK.model_copy(update={"epochs": 3}), progress=False)
    assert [record.epochs_trained for record in result.records] == [0, 3]

    tfmot = PruneSpec(method="tfmot", target_sparsity=0.5)
    result = prune(trained, data, tfmot, training=QUICK.model_copy(update={"epochs": 2}), progress=False)
    assert len(result.records) == 1 + 2

    explicit = PruneSpec(
        target_sparsity=0.5, fraction_per_iteration=0.5, max_iterations=1, epochs_per_iteration=1
    )
    with pytest.warns(UserWarning, match="sets epochs_per_iteration=1, so training.epochs=3 is not used"):
        result = prune(
            trained, data, explicit, training=QUICK.model_copy(update={"epochs": 3}), progress=False
        )
    assert [record.epochs_trained for record in result.records] == [0, 1]


# --- friction fixes outside pruning --------------------------------------------------------------------


def test_estimate_takes_clock_mhz_like_build_config(trained):
    from fpgacompress.estimation import estimate

    assert estimate(trained, clock_mhz=200).clock_period_ns == 5.0
    with pytest.raises(ConfigError, match="takes one clock"):
        estimate(trained, clock_mhz=200, clock_period_ns=5.0)


def test_uniform_spec_gives_relus_room_above_one():
    from fpgacompress.quantization import QuantizationSpec

    spec = QuantizationSpec.uniform(6)
    assert spec.default.weight.integer == 0 and spec.default.activation.integer == 3
    assert QuantizationSpec.uniform(3).default.activation.integer == 2  # capped: one fractional bit kept
    assert QuantizationSpec.uniform(6, activation_integer=1).default.activation.integer == 1
