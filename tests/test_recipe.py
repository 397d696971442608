"""Recipe validation: unknown keys and wrong types name their dotted path."""

from __future__ import annotations

import pytest

from fpgacompress.errors import ConfigError
from fpgacompress.recipe import Recipe, load_recipe


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_defaults_and_overrides(tmp_path):
    recipe = load_recipe(
        write(tmp_path, "training:\n  epochs: 7\nregularization:\n  kind: lp\n  strength: 1.0e-3\n")
    )
    assert recipe.training.epochs == 7 and recipe.regularization.kind == "lp"
    assert recipe.model.topology == Recipe().model.topology


def test_unknown_key_names_its_dotted_path(tmp_path):
    with pytest.raises(ConfigError, match=r"training\.epoch: unknown key"):
        load_recipe(write(tmp_path, "training:\n  epoch: 7\n"))


def test_wrong_type_names_its_dotted_path(tmp_path):
    with pytest.raises(ConfigError, match=r"training\.epochs: Input should be a valid integer.*'ten'"):
        load_recipe(write(tmp_path, "training:\n  epochs: ten\n"))


def test_out_of_range_value_names_its_dotted_path(tmp_path):
    with pytest.raises(ConfigError, match=r"regularization\.p: Input should be less than 1"):
        load_recipe(write(tmp_path, "regularization:\n  p: 1.5\n"))


def test_bad_topology_is_explained(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.topology: Topology must be layer widths joined by '-'"):
        load_recipe(write(tmp_path, "model:\n  topology: 16x64\n"))


def test_relative_data_path_is_taken_from_the_recipe_folder(tmp_path):
    recipe = load_recipe(write(tmp_path, "data:\n  path: jets.npz\n"))
    assert recipe.data.path == (tmp_path / "jets.npz").resolve()


@pytest.mark.parametrize(
    ("text", "message"), [("- a\n- b\n", "must be a mapping"), ("a: [\n", "not valid YAML")]
)
def test_malformed_recipe_files(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_recipe(write(tmp_path, text))


def test_missing_recipe(tmp_path):
    with pytest.raises(ConfigError, match="Recipe not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_the_recipes_training_epochs_do_not_become_the_pruning_length():
    # prune(training=...) honours an explicit epochs; the runner hands it only the optimizer settings.
    from fpgacompress.config import TrainingConfig
    from fpgacompress.pruning.api import _spec_with_training_epochs
    from fpgacompress.pruning.spec import PruneSpec

    recipe_training = TrainingConfig(epochs=40, batch_size=256, learning_rate=2e-3)
    spec = PruneSpec(target_sparsity=0.7)
    settings = recipe_training.optimizer_settings()
    assert _spec_with_training_epochs(spec, settings).epochs_per_iteration == spec.epochs_per_iteration
    assert (settings.batch_size, settings.learning_rate) == (256, 2e-3)
    assert _spec_with_training_epochs(spec, recipe_training).epochs_per_iteration == 40
