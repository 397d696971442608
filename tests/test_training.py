"""``train``: the weights it returns are those of its best validation epoch."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")


def test_train_keeps_the_best_epoch_also_when_it_runs_all_its_epochs(small_jets):
    import tensorflow as tf

    from fpgacompress.config import TrainingConfig
    from fpgacompress.models import build_mlp
    from fpgacompress.training import train

    data, _ = small_jets
    # patience longer than the run: Keras' EarlyStopping never fires, so it would restore nothing;
    # a rate far too high makes the validation loss wander, so the last epoch is not the best.
    config = TrainingConfig(epochs=5, batch_size=64, learning_rate=0.5, early_stopping_patience=10)
    result = train(build_mlp("16-16-5", seed=0), data, config, progress=False)
    losses = result.history["val_loss"]
    assert result.epochs_run == 5 and int(np.argmin(losses)) != len(losses) - 1, losses
    result.model.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy())
    kept = result.model.evaluate(data.x_val, data.y_val, batch_size=1024, verbose=0)
    assert kept == pytest.approx(min(losses), rel=1e-4)
