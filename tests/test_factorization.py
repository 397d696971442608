"""Low-rank factorization: SVD split, rank choice, refusals, QAT of the pair and bit-exact firmware."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize:UserWarning")


@pytest.fixture(scope="module")
def base(small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.training import train

    data, _ = small_jets
    return train(
        build_mlp("16-32-16-5", seed=0), data, TrainingConfig(epochs=4, batch_size=256), progress=False
    )


def test_rank_choice_by_energy_and_products_budget():
    from fpgacompress.factorization import choose_rank

    kernel = np.diag([3.0, 1.0, 0.1, 0.05])
    assert choose_rank(kernel, energy=0.85) == 1  # 9 / 10.0125 = 0.899
    assert choose_rank(kernel, energy=0.95) == 2
    assert choose_rank(np.zeros((16, 32)), max_products=100) == 2  # 2 * (16 + 32) = 96 <= 100
    assert choose_rank(np.zeros((16, 32)), rank=15) == 15


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rank": 16}, "rank must be in [1, 15]"),
        ({"rank": 0}, "rank must be in [1, 15]"),
        ({"energy": 1.0}, "in (0, 1)"),
        ({"max_products": 10}, "below one rank"),
        ({"rank": 2, "energy": 0.5}, "exactly one"),
    ],
)
def test_impossible_ranks_are_refused(options, message):
    from fpgacompress.errors import ConfigError
    from fpgacompress.factorization import choose_rank

    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        choose_rank(np.zeros((16, 32)), **options)


def test_factorized_pair_is_the_best_rank_r_approximation(base, small_jets):
    from fpgacompress.factorization import factorize

    data, _ = small_jets
    result = factorize(base.model, rank=4, layers=["fc1", "fc2"])
    model = result.model
    assert [layer.name for layer in model.layers[1:]] == [
        "fc1_bottleneck", "fc1", "relu1", "fc2_bottleneck", "fc2", "relu2", "output", "softmax",
    ]  # fmt: skip
    original = base.model.get_layer("fc1").kernel.numpy().astype(np.float64)
    product = model.get_layer("fc1_bottleneck").kernel.numpy() @ model.get_layer("fc1").kernel.numpy()
    u, s, vt = np.linalg.svd(original, full_matrices=False)
    np.testing.assert_allclose(product, (u[:, :4] * s[:4]) @ vt[:4], atol=1e-5)
    assert result.ranks == {"fc1": 4, "fc2": 4}
    assert result.products_after == 4 * 48 + 4 * 48 + 16 * 5 < result.products_before
    # the untouched output layer is copied exactly
    np.testing.assert_array_equal(
        model.get_layer("output").kernel.numpy(), base.model.get_layer("output").kernel.numpy()
    )


@pytest.fixture(scope="module")
def factorized_qat(base, small_jets, tmp_path_factory):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.factorization import factorize_and_fine_tune
    from fpgacompress.quantization import QuantizationSpec, quantization_aware_training

    data, standardizer = small_jets
    run_dir = tmp_path_factory.mktemp("factorize") / "run"
    factorized = factorize_and_fine_tune(
        base.model,
        data,
        TrainingConfig(epochs=2, batch_size=256),
        energy=0.8,
        run_dir=run_dir,
        progress=False,
    )
    spec = QuantizationSpec.uniform(8, 0, activation_integer=3)
    quantized = quantization_aware_training(
        factorized.model, spec, data, TrainingConfig(epochs=1, batch_size=256), progress=False
    )
    return factorized, quantized, run_dir


def test_fine_tuned_factorization_saves_products_and_round_trips(factorized_qat, small_jets):
    from fpgacompress.model_io import load_model

    data, _ = small_jets
    factorized, quantized, run_dir = factorized_qat
    assert factorized.products_after < factorized.products_before
    assert (run_dir / "factorization.json").is_file() and (run_dir / "metrics.json").is_file()
    reloaded = load_model(run_dir / "model.h5")
    assert np.array_equal(
        reloaded.predict(data.x_test, verbose=0), factorized.model.predict(data.x_test, verbose=0)
    )
    # QAT requantizes each bottleneck (fixed<16,6>) before the second factor
    names = [layer.name for layer in quantized.model.layers]
    for name in factorized.ranks:
        assert names.index(f"{name}_bottleneck_quantizer") == names.index(f"{name}_bottleneck") + 1


def test_factorize_cli_refuses_a_rank_at_min_n_m_without_writing(base, tmp_path, capsys):
    from fpgacompress.cli import main
    from fpgacompress.model_io import save_model

    model_path = save_model(base.model, tmp_path / "float.h5")
    out = tmp_path / "run"
    assert main(["factorize", str(model_path), "--rank", "16", "--layers", "fc1", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "rank must be in [1, 15]" in error
    assert len(error.strip().splitlines()) == 1 and not out.exists()
    assert main(["factorize", str(model_path), "--out", str(out)]) == 2
    assert "exactly one of --rank" in capsys.readouterr().err


@pytest.mark.slow
def test_factorized_pair_firmware_is_bit_exact_on_1000_jets(factorized_qat, small_jets, tmp_path):
    from fpgacompress.firmware import BuildConfig, build, csim

    data, _ = small_jets
    _, quantized, _ = factorized_qat
    config = BuildConfig(board="serenity-vu13p", n_testbench_samples=1000)
    project = build(quantized.model, None, config, x_test=data.x_test, out_dir=tmp_path / "fw")
    result = csim(project, optimization_level=1)
    assert result.n_samples == 1000
    assert result.bit_exact, result.summary()


def test_recipe_factorize_section_takes_exactly_one_rank_choice(tmp_path):
    import yaml

    from fpgacompress.errors import ConfigError
    from fpgacompress.recipe import load_recipe

    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"factorize": {"rank": 4, "energy": 0.9}}))
    with pytest.raises(ConfigError, match=r"factorize.*exactly one of rank, energy or max_products.*rank, energy"):
        load_recipe(path)
    path.write_text(yaml.safe_dump({"factorize": {"max_products": 300, "epochs": 2}}))
    assert load_recipe(path).factorize.max_products == 300


@pytest.mark.slow
def test_recipe_factorize_stage_hands_the_factorized_network_to_quantize(tmp_path):
    import yaml

    from fpgacompress.model_io import load_model
    from fpgacompress.runner import run

    recipe = {
        "name": "lowrank",
        "data": {"max_train": 2000, "max_test": 1000},
        "model": {"topology": "16-32-16-5"},
        "training": {"epochs": 4, "batch_size": 256, "learning_rate": 3e-3},
        "factorize": {"rank": 4, "layers": ["fc1"], "epochs": 2},
        "quantization": {"epochs": 2, "precision": {"default": {"weight": {"bits": 8, "integer": 1}}}},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    result = run(path, tmp_path / "run", progress=False)
    factorized = load_model(result.stages["factorize"].directory / "model.h5")
    assert factorized.get_layer("fc1_bottleneck").kernel.shape == (16, 4)
    assert factorized.get_layer("fc1").kernel.shape == (4, 32)
    assert result.stages["factorize"].results["products_after"] < result.stages["factorize"].results["products_before"]
    quantized = load_model(result.stages["quantize"].directory / "model.h5")
    assert "fc1_bottleneck" in [layer.name for layer in quantized.layers]
    assert "factorize" in result.summary_path.read_text()
