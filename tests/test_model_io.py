"""Saving and loading models with our regularizers, mask constraints and input standardization."""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.data import Standardizer
from fpgacompress.errors import ModelError
from fpgacompress.model_io import load_model, load_standardizer, save_model
from fpgacompress.models import build_mlp
from fpgacompress.pruning.mask import PruningMask, apply_mask
from fpgacompress.regularizers import L1, Lp


def test_model_with_both_regularizers_round_trips(tmp_path):
    import tensorflow as tf

    model = build_mlp("16-8-5", regularizer=L1(1e-4), seed=1)
    hidden = model.get_layer("fc1")
    model_with_lp = tf.keras.models.clone_model(
        model,
        clone_function=lambda layer: layer.__class__.from_config(
            {**layer.get_config(), "kernel_regularizer": Lp(1e-3, p=0.1)}
            if layer is hidden
            else layer.get_config()
        ),
    )
    model_with_lp.set_weights(model.get_weights())
    scaler = Standardizer(("a",) * 16, tuple(float(i) for i in range(16)), (2.0,) * 16)

    path = save_model(model_with_lp, tmp_path / "model.h5", standardizer=scaler)
    loaded = load_model(path)

    assert isinstance(loaded.get_layer("fc1").kernel_regularizer, Lp)
    assert loaded.get_layer("fc1").kernel_regularizer.get_config() == {"lp": 1e-3, "p": 0.1, "epsilon": 1e-4}
    assert isinstance(loaded.get_layer("output").kernel_regularizer, L1)
    x = np.random.default_rng(0).normal(size=(32, 16)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model_with_lp.predict(x, verbose=0))
    assert load_standardizer(path) == scaler


def test_mask_constraint_keeps_zeros_through_training_and_save_load(tmp_path):
    model = build_mlp("16-12-5", regularizer=L1(1e-4), seed=2)
    keep = np.random.default_rng(3).random((16, 12)) > 0.6
    masked = apply_mask(model, PruningMask({"fc1": keep}))
    x = np.random.default_rng(4).normal(size=(512, 16)).astype(np.float32)
    y = np.random.default_rng(5).integers(0, 5, 512)
    masked.compile("adam", "sparse_categorical_crossentropy")
    masked.fit(x, y, epochs=3, verbose=0)
    assert PruningMask({"fc1": keep}).violations(masked) == {}

    loaded = load_model(save_model(masked, tmp_path / "masked.h5"))
    loaded.compile("adam", "sparse_categorical_crossentropy")
    loaded.fit(x, y, epochs=2, verbose=0)
    kernel = loaded.get_layer("fc1").kernel.numpy()
    assert np.count_nonzero(kernel[~keep]) == 0
    assert np.count_nonzero(kernel[keep]) > 0


def test_corrupt_model_file_gives_a_clear_error(tmp_path):
    broken = tmp_path / "model.h5"
    broken.write_bytes(b"this is not an HDF5 file")
    with pytest.raises(ModelError, match="Cannot load .*model.h5 as a Keras model"):
        load_model(broken)


def test_missing_model_file_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="Model file not found"):
        load_model(tmp_path / "nothing.h5")


def test_native_keras_format_round_trips(tmp_path):
    model = build_mlp("16-8-5", regularizer=Lp(1e-3, p=0.2), seed=3)
    loaded = load_model(save_model(model, tmp_path / "model.keras"))
    x = np.random.default_rng(1).normal(size=(16, 16)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.get_layer("fc1").kernel_regularizer, Lp)
