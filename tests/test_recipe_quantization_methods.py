"""The recipe's quantize stage with trained ternary weights or a codebook: the stage's model is the export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from fpgacompress.errors import ConfigError
from fpgacompress.recipe import load_recipe

pytestmark = pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize:UserWarning")

RECIPE = {
    "name": "methods",
    "data": {"max_train": 2000, "max_test": 1000},
    "model": {"topology": "16-16-8-5"},
    "training": {
        "epochs": 10,
        "batch_size": 256,
        "learning_rate": 3e-3,
        "early_stopping_patience": None,
        "learning_rate_schedule": "cosine",
    },
    "quantization": {
        "epochs": 4,
        "learning_rate": 2e-3,
        "precision": {
            "input": {"bits": 12, "integer": 4},
            "default": {
                "weight": {"bits": 6, "integer": 0},
                "bias": {"bits": 8, "integer": 3},
                "activation": {"bits": 8, "integer": 3},
            },
        },
    },
}


def _write(path, method: dict):
    recipe = {**RECIPE, "quantization": {**RECIPE["quantization"], **method}}
    path.write_text(yaml.safe_dump(recipe))
    return path


def _distinct_nonzero(model) -> dict[str, int]:
    return {
        layer.name: np.unique(np.asarray(layer.kernel_quantizer_internal(layer.kernel))[layer.kernel.numpy() != 0]).size
        for layer in model.layers
        if type(layer).__name__ == "QDense"
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, extra_file",
    [({"ttq": {"power_of_two": True}}, "ttq_scales.json"), ({"codebook_bits": 2}, "codebook.json")],
)
def test_quantize_stage_runs_ttq_or_codebook_and_hands_the_export_on(tmp_path, method, extra_file):
    from fpgacompress.model_io import load_model
    from fpgacompress.runner import run

    result = run(_write(tmp_path / "recipe.yaml", method), tmp_path / "run", progress=False, log=lambda line: None)
    stage = tmp_path / "run" / "quantize"
    assert result.stages["quantize"].directory == stage
    assert (stage / extra_file).is_file() and (stage / "quantization_report.json").is_file()
    distinct = _distinct_nonzero(load_model(stage / "model.h5"))
    if "ttq" in method:  # fc2 ternary (two nonzero values), fc1 and output keep their 6-bit weights
        assert distinct["fc2"] <= 2 and distinct["fc1"] > 2 and distinct["output"] > 2
        scales = json.loads((stage / "ttq_scales.json").read_text())
        assert scales["power_of_two"] and list(scales["layers"]) == ["fc2"]
        assert all(np.log2(value).is_integer() for value in scales["layers"]["fc2"].values())
    else:  # every layer shares 4 centroids
        assert max(distinct.values()) <= 4
    accuracy = json.loads((stage / "metrics.json").read_text())["accuracy"]
    float_accuracy = json.loads((tmp_path / "run" / "train" / "metrics.json").read_text())["accuracy"]
    assert float_accuracy > 0.3 and accuracy > float_accuracy - 0.1, (float_accuracy, accuracy)


def test_recipe_refuses_ttq_with_a_codebook_and_a_bad_threshold(tmp_path):
    with pytest.raises(ConfigError, match=r"quantization: give either ttq or codebook_bits, not both"):
        load_recipe(_write(tmp_path / "both.yaml", {"ttq": {}, "codebook_bits": 2}))
    with pytest.raises(ConfigError, match=r"quantization\.ttq\.threshold: .*less than 1"):
        load_recipe(_write(tmp_path / "threshold.yaml", {"ttq": {"threshold": 1.5}}))
    with pytest.raises(ConfigError, match=r"quantization\.ttq\.first_and_lst: unknown key"):
        load_recipe(_write(tmp_path / "typo.yaml", {"ttq": {"first_and_lst": True}}))
    with pytest.raises(ConfigError, match=r"quantization\.ttq: give either layers or first_and_last"):
        load_recipe(_write(tmp_path / "layers.yaml", {"ttq": {"layers": ["fc2"], "first_and_last": True}}))
    recipe = load_recipe(_write(tmp_path / "ok.yaml", {"ttq": {"layers": ["fc2"]}}))
    assert recipe.quantization.ttq.layers == ["fc2"] and recipe.training.learning_rate_schedule == "cosine"
