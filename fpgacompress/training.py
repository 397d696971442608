"""Training a jet tagger: seeded, early-stopped, with a progress bar and a run directory.

The run directory holds what a reviewer needs: ``model.h5`` (+ its input standardization),
``history.json``, ``metrics.json`` (test accuracy and per-class ROC AUC), ``weights.png`` (the
weight distribution per layer) and ``history.png``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .config import TrainingConfig
from .data import Dataset, Standardizer
from .metrics import Metrics, evaluate

__all__ = [
    "TrainResult",
    "train",
    "train_recipe",
    "prepare_data",
    "check_topology_fits",
    "compile_model",
    "cosine_decay",
    "save_run",
]


@dataclass
class TrainResult:
    """A trained model with its per-epoch history and its metrics on the test split."""

    model: object
    history: dict[str, list[float]]
    metrics: Metrics
    standardizer: Standardizer | None = None
    run_dir: Path | None = None
    epochs_run: int = field(default=0)


def compile_model(model, learning_rate: float) -> None:
    """Adam + sparse categorical cross-entropy on integer labels; the softmax is in the model."""
    import tensorflow as tf

    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def cosine_decay(config: TrainingConfig):
    """The per-epoch learning rate of ``learning_rate_schedule: cosine``: half a cosine to zero.

    Example:
        >>> schedule = cosine_decay(TrainingConfig(epochs=4, learning_rate=1e-3))
        >>> [round(schedule(epoch), 6) for epoch in range(4)]
        [0.001, 0.000854, 0.0005, 0.000146]
    """
    import math

    def learning_rate(epoch: int, current: float | None = None) -> float:
        return config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))

    return learning_rate


def train(
    model,
    data: Dataset,
    config: TrainingConfig | None = None,
    *,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
    callbacks: list | tuple = (),
) -> TrainResult:
    """Fit ``model`` on the standardized ``data``, early-stopping on validation loss.

    ``config.learning_rate_schedule: cosine`` adds :func:`cosine_decay`, unless ``callbacks``
    already schedule the learning rate (pruning's ``restart`` schedule per iteration).

    With early stopping, the weights of the epoch of lowest validation loss are restored, also when
    training runs all of ``config.epochs``. Any constraint or regularizer already on the model
    (pruning masks, L1 / Lp) stays active: ``train`` only recompiles the optimizer.
    """
    import tensorflow as tf

    config = config or TrainingConfig()
    tf.keras.utils.set_random_seed(config.seed)
    compile_model(model, config.learning_rate)
    all_callbacks = list(callbacks)
    scheduled = any(isinstance(callback, tf.keras.callbacks.LearningRateScheduler) for callback in callbacks)
    if config.learning_rate_schedule == "cosine" and not scheduled:  # pruning's restarts take precedence
        all_callbacks.append(tf.keras.callbacks.LearningRateScheduler(cosine_decay(config)))
    if config.early_stopping_patience is not None:
        all_callbacks.append(
            tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping_patience)
        )
        if not any(getattr(callback, "keeps_best_epoch", False) for callback in callbacks):
            all_callbacks.append(best_epoch_keeper())
    if progress:
        from tqdm.keras import TqdmCallback

        all_callbacks.append(TqdmCallback(verbose=0, desc=f"training {model.name}"))
    fitted = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=all_callbacks,
    )
    history = {key: [float(value) for value in values] for key, values in fitted.history.items()}
    metrics = evaluate(model, data.x_test, data.y_test, data.class_names)
    result = TrainResult(
        model=model,
        history=history,
        metrics=metrics,
        standardizer=standardizer,
        epochs_run=len(history.get("loss", [])),
    )
    if run_dir is not None:
        result.run_dir = save_run(result, run_dir)
    return result


def best_epoch_keeper():
    """A Keras callback that restores, when training ends, the epoch of lowest validation loss.

    Keras' own ``EarlyStopping(restore_best_weights=True)`` restores them only when it stops
    early; a run that uses all its epochs would otherwise end on its last, not its best, epoch.
    """
    import numpy as np
    import tensorflow as tf

    class BestEpochKeeper(tf.keras.callbacks.Callback):
        keeps_best_epoch = True

        def __init__(self):
            super().__init__()
            self.best_loss, self.best_weights = np.inf, None

        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("val_loss")
            if loss is not None and loss < self.best_loss:
                self.best_loss, self.best_weights = loss, self.model.get_weights()

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return BestEpochKeeper()


def save_run(result: TrainResult, run_dir: str | Path) -> Path:
    """Write model, standardization, history, metrics and plots into ``run_dir``."""
    from .model_io import save_model
    from .plots import plot_history, plot_weight_distribution

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_model(result.model, run_dir / "model.h5", standardizer=result.standardizer)
    (run_dir / "history.json").write_text(json.dumps(result.history, indent=2))
    (run_dir / "metrics.json").write_text(
        json.dumps({**result.metrics.to_dict(), "epochs_run": result.epochs_run}, indent=2)
    )
    plot_weight_distribution(result.model, run_dir / "weights.png", title=f"{result.model.name}: weights")
    plot_history(result.history, run_dir / "history.png")
    return run_dir


def prepare_data(config) -> tuple[Dataset, Standardizer]:
    """Load the dataset a :class:`~fpgacompress.recipe.DataConfig` names, subsample, standardize."""
    from .data import load_jets

    data = load_jets(config.path, validation_fraction=config.validation_fraction, seed=config.seed)
    if config.max_train is not None or config.max_test is not None:
        data = data.subsample(config.max_train, config.max_test, seed=config.seed)
    return data.standardized()


def train_recipe(recipe, run_dir: str | Path | None = None, *, progress: bool = True) -> TrainResult:
    """Train the model a recipe describes (data, model, regularization and training sections)."""
    from .models import build_mlp, parse_topology

    data, standardizer = prepare_data(recipe.data)
    topology = parse_topology(recipe.model.topology)
    check_topology_fits(topology, data)
    model = build_mlp(
        topology,
        activation=recipe.model.activation,
        regularizer=recipe.regularization.build(),
        seed=recipe.training.seed,
        name=recipe.name.replace("-", "_"),
    )
    return train(model, data, recipe.training, standardizer=standardizer, run_dir=run_dir, progress=progress)


def check_topology_fits(topology, data: Dataset) -> None:
    from .errors import ConfigError

    if topology.n_inputs != data.n_features or topology.n_outputs != data.n_classes:
        raise ConfigError(
            f"Topology {topology} does not fit the data: it has {data.n_features} features and "
            f"{data.n_classes} classes, so the topology must start with {data.n_features} and end with "
            f"{data.n_classes}."
        )
