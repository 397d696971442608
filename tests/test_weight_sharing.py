"""Weight sharing: a k-means codebook of 2^b fixed-point values per layer, fine-tuned, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:The `keras.constraints.serialize:UserWarning")

CODEBOOK_BITS = 2


@pytest.fixture(scope="module")
def pruned(small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.pruning import PruneSpec, prune
    from fpgacompress.training import train

    data, _ = small_jets
    base = train(
        build_mlp("16-32-16-5", seed=0), data, TrainingConfig(epochs=4, batch_size=256), progress=False
    )
    return prune(
        base.model,
        data,
        PruneSpec(target_sparsity=0.5, fraction_per_iteration=0.5, epochs_per_iteration=1),
        training=TrainingConfig(epochs=1, batch_size=256),
        progress=False,
    )


@pytest.fixture(scope="module")
def shared(pruned, small_jets):
    from fpgacompress.config import TrainingConfig
    from fpgacompress.quantization import QuantizationSpec
    from fpgacompress.quantization.codebook import weight_sharing

    data, _ = small_jets
    spec = QuantizationSpec.uniform(8, 0, activation_integer=3)
    return weight_sharing(
        pruned.model,
        spec,
        data,
        TrainingConfig(epochs=2, batch_size=256),
        codebook_bits=CODEBOOK_BITS,
        progress=False,
    )


def test_every_layer_uses_at_most_2_to_the_b_fixed_point_values_and_keeps_its_zeros(shared, pruned):
    for layer in shared.exported.layers:
        if type(layer).__name__ != "QDense":
            continue
        kernel = np.asarray(layer.kernel_quantizer_internal(layer.kernel))
        np.testing.assert_array_equal(kernel, layer.kernel.numpy())  # the quantizer leaves them unchanged
        values = np.unique(kernel[kernel != 0])
        assert 1 <= len(values) <= 2**CODEBOOK_BITS == 4
        assert np.all((values * 2**7) == np.round(values * 2**7))  # fixed<8,1>: 7 fractional bits
        assert np.all(kernel[~pruned.mask.masks[layer.name]] == 0)
        assert shared.distinct_values[layer.name] == len(values)


def test_centroid_gradient_is_the_cluster_mean():
    import tensorflow as tf

    from fpgacompress.quantization.codebook import CodebookDense

    layer = CodebookDense(2, n_clusters=2, weight_bits=16, weight_integer=3, use_bias=False)
    layer.build((None, 3))
    layer.centroids.assign([0.5, -0.25])
    layer.codes.assign([[1, 2], [1, 0], [1, 2]])
    x = tf.ones((1, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    # cluster 1 holds 3 weights, cluster 2 holds 2: each weight's gradient is 1, the mean is 1
    np.testing.assert_allclose(tape.gradient(loss, layer.centroids).numpy(), [1.0, 1.0])


def test_codebook_layer_round_trips_through_a_file(shared, small_jets, tmp_path):
    from fpgacompress.model_io import load_model, save_model

    data, _ = small_jets
    for model, name in ((shared.model, "codebook.h5"), (shared.exported, "exported.h5")):
        reloaded = load_model(save_model(model, tmp_path / name))
        assert np.array_equal(reloaded.predict(data.x_test, verbose=0), model.predict(data.x_test, verbose=0))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--bits", "6", "--codebook-bits", "6"], "not narrower than the weights' type (6 bits"),
        (["--bits", "6", "--codebook-bits", "-1"], "at least 1 cluster"),
        (["--bits", "6", "--codebook-bits", "2", "--weights", "ttq"], "not both"),
    ],
)
def test_cli_refuses_impossible_codebooks_without_writing(pruned, tmp_path, capsys, arguments, message):
    from fpgacompress.cli import main
    from fpgacompress.model_io import save_model

    model_path = save_model(pruned.model, tmp_path / "pruned.h5")
    out = tmp_path / "run"
    assert main(["quantize", str(model_path), *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_zero_clusters_are_refused():
    from fpgacompress.errors import ConfigError
    from fpgacompress.quantization.codebook import check_codebook

    with pytest.raises(ConfigError, match="at least 1 cluster.*received 0 clusters"):
        check_codebook(0, 6)


@pytest.mark.slow
def test_weight_shared_firmware_is_bit_exact_on_1000_jets(shared, small_jets, tmp_path):
    from fpgacompress.firmware import BuildConfig, build, csim

    data, _ = small_jets
    config = BuildConfig(board="serenity-vu13p", n_testbench_samples=1000)
    project = build(shared.exported, None, config, x_test=data.x_test, out_dir=tmp_path / "fw")
    result = csim(project, optimization_level=1)
    assert result.n_samples == 1000
    assert result.bit_exact, result.summary()
