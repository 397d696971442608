"""AutoPruner contracts: exact k gates, serializable masks, exact export, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from fpgacompress.autopruning import (  # noqa: E402
    AutoPruneSpec,
    NodeMask,
    TopKAnnealing,
    autoprune,
    export_reduced,
    harden_node_masks,
    insert_node_masks,
    mask_model,
    node_masks,
    reduce_network,
    retrain_reduced,
)
from fpgacompress.autopruning.schedule import sharpness_at  # noqa: E402
from fpgacompress.errors import ConfigError, ModelError  # noqa: E402
from fpgacompress.model_io import load_model, load_standardizer, save_model  # noqa: E402
from fpgacompress.models import build_mlp  # noqa: E402
from fpgacompress.recipe import StrictConfig, TrainingConfig, parse_section  # noqa: E402
from fpgacompress.training import train  # noqa: E402

STANDARD_NAMES = ["input", "fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "output", "softmax"]


@pytest.fixture(scope="module")
def annealed(small_jets):
    """A 16-64-32-32-5 tagger node-masked to fc1=16, fc2=8 (fc3 untouched) and 6 features, trained."""
    data, _ = small_jets
    masked = insert_node_masks(build_mlp("16-64-32-32-5", seed=1), {"fc1": 16, "fc2": 8}, keep_features=6)
    train(
        masked,
        data,
        TrainingConfig(epochs=4, early_stopping_patience=None),
        progress=False,
        callbacks=[TopKAnnealing(soft_epochs=3, initial_sharpness=1.0, final_sharpness=30.0)],
    )
    return masked


def test_schedule_leaves_exactly_k_gates_open(annealed):
    counts = {mask.name: int(np.count_nonzero(mask.gate_values())) for mask in node_masks(annealed)}
    assert counts == {"input_feature_mask": 6, "fc1_node_mask": 16, "fc2_node_mask": 8}
    assert all(mask.hard for mask in node_masks(annealed))


def test_soft_gates_open_exactly_k_above_one_half():
    mask = NodeMask(keep_count=3)
    mask.build((None, 7))
    mask.scores.assign([0.3, -1.0, 2.0, 0.1, 0.9, -0.2, 0.0])
    gates = mask.soft_gates().numpy()
    assert np.flatnonzero(gates > 0.5).tolist() == [0, 2, 4]
    mask.harden()
    assert mask.kept_indices().tolist() == [0, 2, 4]
    assert np.count_nonzero(mask.gate_values()) == 3
    np.testing.assert_array_equal(mask.gate_values()[[0, 2, 4]], gates[[0, 2, 4]])  # no jump for kept nodes


def test_sharpness_ramps_geometrically_then_holds():
    values = [sharpness_at(epoch, 5, 1.0, 16.0) for epoch in range(7)]
    assert values == pytest.approx([1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0])


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_masked_model_round_trips_save_load(annealed, small_jets, tmp_path, suffix):
    data, _ = small_jets
    path = tmp_path / f"masked{suffix}"
    if suffix == ".h5":
        save_model(annealed, path)
    else:  # model_io.save_model passes include_optimizer, which the native format refuses
        annealed.save(path)
    loaded = load_model(path)
    assert [type(layer) for layer in node_masks(loaded)] == [NodeMask] * 3
    for original, restored in zip(node_masks(annealed), node_masks(loaded), strict=True):
        assert restored.get_config() == original.get_config()
        assert restored.hard
        np.testing.assert_array_equal(restored.gate_values(), original.gate_values())
    np.testing.assert_array_equal(
        loaded.predict(data.x_test, verbose=0), annealed.predict(data.x_test, verbose=0)
    )


def test_export_reproduces_masked_outputs(annealed, small_jets):
    data, _ = small_jets
    reduced = reduce_network(annealed)
    assert [layer.name for layer in reduced.model.layers] == STANDARD_NAMES
    assert not any(isinstance(layer, NodeMask) for layer in reduced.model.layers)
    assert reduced.topology == "6-16-8-32-5"
    assert len(reduced.kept_inputs) == 6
    assert reduced.kept_nodes["fc1"] == tuple(annealed.get_layer("fc1_node_mask").kept_indices())
    reference = annealed.predict(data.x_test, verbose=0)
    exported = reduced.model.predict(data.x_test[:, list(reduced.kept_inputs)], verbose=0)
    assert np.max(np.abs(reference - exported)) <= 1e-5


def test_export_folds_constant_nodes_into_next_bias(annealed, small_jets):
    """A kept node with an all-zero incoming column outputs relu(bias) * gate: folded, still exact."""
    data, _ = small_jets
    masked = tf.keras.models.clone_model(annealed)
    masked.set_weights(annealed.get_weights())
    node = int(masked.get_layer("fc2_node_mask").kept_indices()[0])
    kernel, bias = masked.get_layer("fc2").get_weights()
    kernel[:, node] = 0.0
    bias[node] = 0.7  # relu(0.7) > 0: dropping it without folding would change the outputs
    masked.get_layer("fc2").set_weights([kernel, bias])
    reduced = reduce_network(masked)
    assert reduced.folded_nodes["fc2"] == (node,)
    assert node not in reduced.kept_nodes["fc2"]
    assert reduced.topology == "6-16-7-32-5"
    reference = masked.predict(data.x_test, verbose=0)
    exported = reduced.model.predict(data.x_test[:, list(reduced.kept_inputs)], verbose=0)
    assert np.max(np.abs(reference - exported)) <= 1e-5


def test_export_refuses_soft_masks():
    masked = insert_node_masks(build_mlp("16-8-5", seed=0), {"fc1": 4})
    with pytest.raises(ModelError, match=r"fc1_node_mask are still soft.*harden_node_masks"):
        export_reduced(masked)
    harden_node_masks(masked)
    assert export_reduced(masked).layers[1].units == 4


def test_exported_model_converts_with_hls4ml(annealed, tmp_path):
    hls4ml = pytest.importorskip("hls4ml")
    reduced = export_reduced(annealed)
    # hls4ml reserves the name 'input' (build_mlp's input layer): the firmware stage renames it.
    x = inputs = tf.keras.Input(shape=reduced.inputs[0].shape[1:], name="features")
    for layer in reduced.layers[1:]:
        x = layer(x)
    reduced = tf.keras.Model(inputs, x)
    config = hls4ml.utils.config_from_keras_model(reduced, granularity="name", backend="Vitis")
    graph = hls4ml.converters.convert_from_keras_model(
        reduced, hls_config=config, output_dir=str(tmp_path / "hls"), backend="Vitis"
    )
    dense_widths = {
        layer.name: layer.get_attr("n_out") for layer in graph.get_layers() if layer.class_name == "Dense"
    }
    assert dense_widths == {"fc1": 16, "fc2": 8, "fc3": 32, "output": 5}


@pytest.mark.parametrize(
    ("spec_values", "message"),
    [
        ({"keep": 0}, r"keep must keep at least 1 node.*Received: 0"),
        ({"keep": {"fc1": 0}}, r"keep\['fc1'\] must keep at least 1 node"),
        ({"keep": 1.5}, r"keep as a fraction must be in \(0, 1\]. Received: 1.5"),
        ({"keep_features": 0}, r"keep_features must keep at least 1 node"),
        ({"keep": {}}, r"keep must name at least one layer"),
        (
            {"initial_sharpness": 10.0, "final_sharpness": 1.0},
            r"final_sharpness must be >= initial_sharpness",
        ),
        ({"retrain": "twice"}, r"retrain"),
    ],
)
def test_invalid_spec_is_a_config_error(spec_values, message):
    with pytest.raises(ConfigError, match=message):
        AutoPruneSpec(**spec_values)
    with pytest.raises(ConfigError, match=message):
        parse_section(AutoPruneSpec, spec_values, "recipe autoprune")


def test_recipe_section_errors_name_the_dotted_path():
    class Recipe(StrictConfig):
        autoprune: AutoPruneSpec | None = None

    with pytest.raises(ConfigError) as error:
        parse_section(Recipe, {"autoprune": {"keep": 2.0, "epochs": 3}}, "recipe r.yaml")
    assert str(error.value) == (
        "Invalid recipe r.yaml: autoprune.keep: keep as a fraction must be in (0, 1]. Received: 2.0; "
        "autoprune.epochs: unknown key"
    )


@pytest.mark.parametrize(
    ("spec_values", "message"),
    [
        (
            {"keep": {"fc1": 65}},
            r"keep\['fc1'\]=65 nodes, but the layer has only 64. Choose a count in 1..64.",
        ),
        ({"keep": 40}, r"keep for fc2=40 nodes, but the layer has only 32"),
        ({"keep": 0.5, "keep_features": 17}, r"keep_features=17 nodes, but the layer has only 16"),
        ({"keep": {"fc2": 0.01}}, r"keep\['fc2'\]=0.01 of 32 nodes rounds to 0 nodes"),
        ({"keep": {"output": 3}}, r"keep names layer\(s\) output that cannot be node-pruned.*fc1, fc2, fc3"),
    ],
)
def test_counts_beyond_the_layer_are_config_errors(spec_values, message):
    with pytest.raises(ConfigError, match=message):
        mask_model(build_mlp("16-64-32-32-5", seed=0), AutoPruneSpec(**spec_values))


def test_fractions_resolve_per_layer():
    masked = mask_model(build_mlp("16-64-32-32-5", seed=0), AutoPruneSpec(keep=0.25, keep_features=0.5))
    assert {mask.name: mask.keep_count for mask in node_masks(masked)} == {
        "input_feature_mask": 8,
        "fc1_node_mask": 16,
        "fc2_node_mask": 8,
        "fc3_node_mask": 8,
    }


def test_quantized_layers_are_refused():
    qkeras = pytest.importorskip("qkeras")
    inputs = tf.keras.Input((16,), name="input")
    outputs = qkeras.QDense(5, kernel_quantizer=qkeras.quantized_bits(6, 0, alpha=1), name="fc1")(inputs)
    with pytest.raises(ModelError, match=r"layer 'fc1' \(QDense\) does not fit here"):
        insert_node_masks(tf.keras.Model(inputs, outputs), {})


def test_autoprune_exports_a_consistent_data_pipeline(small_jets, tmp_path):
    data, scaler = small_jets
    spec = AutoPruneSpec(keep={"fc1": 8}, keep_features=4, soft_epochs=2, hard_epochs=1, retrain="fine_tune")
    result = autoprune(
        build_mlp("16-32-5", seed=0),
        data,
        spec,
        training=TrainingConfig(epochs=2),
        standardizer=scaler,
        run_dir=tmp_path / "run",
        progress=False,
    )
    assert result.topology == "4-8-5"
    assert result.keep_counts == {"fc1": 8}
    assert len(result.kept_features) == 4
    assert list(result.kept_features) == [name for name in data.feature_names if name in result.kept_features]
    assert set(result.feature_ranking[:4]) == set(result.kept_features)
    assert result.data.feature_names == result.kept_features
    assert result.standardizer.feature_names == result.kept_features
    assert result.export_max_abs_difference <= 1e-5
    assert result.metrics_retrained is not None
    # The saved reduced model carries the standardization of exactly its inputs.
    loaded = load_model(result.run_dir / "model.h5")
    assert load_standardizer(result.run_dir / "model.h5") == result.standardizer
    np.testing.assert_array_equal(
        loaded.predict(result.data.x_test, verbose=0),
        result.reduced_model.predict(result.data.x_test, verbose=0),
    )
    assert (result.run_dir / "autoprune.json").is_file()


def test_autoprune_rejects_model_that_does_not_fit_the_data(small_jets):
    data, _ = small_jets
    with pytest.raises(
        ModelError, match=r"takes 10 inputs and gives 5 outputs, but the data has 16 features"
    ):
        autoprune(build_mlp("10-8-5", seed=0), data, AutoPruneSpec(), progress=False)


@pytest.mark.parametrize("from_scratch", [False, True])
def test_retrain_reduced_leaves_the_export_untouched(small_jets, from_scratch):
    data, _ = small_jets
    masked = insert_node_masks(build_mlp("16-8-5", seed=0), {"fc1": 4}, keep_features=6)
    harden_node_masks(masked)
    reduced = reduce_network(masked)
    exported_weights = [np.array(w) for w in reduced.model.get_weights()]
    reduced_data = data.select_features([data.feature_names[i] for i in reduced.kept_inputs])
    one_step = TrainingConfig(epochs=1, batch_size=len(reduced_data.y_train), learning_rate=1e-6)
    retrained = retrain_reduced(
        reduced.model, reduced_data, one_step, from_scratch=from_scratch, progress=False
    )
    for before, after in zip(exported_weights, reduced.model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    # One tiny step from the exported weights stays next to them; a fresh start does not.
    distance = np.abs(retrained.model.get_layer("fc1").kernel.numpy() - exported_weights[0]).max()
    assert (distance > 1e-2) if from_scratch else (distance < 1e-4)
