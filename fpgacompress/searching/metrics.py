"""The numbers a search maximizes: accuracy, mean AUC, background rejection at a signal efficiency.

Example:
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    >>> background_rejection(scores, np.array([0, 1, 1, 0]), signal_index=1, signal_efficiency=0.5)
    1.0
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .spec import SearchObjective

__all__ = ["background_rejection", "objective_value", "chance_value", "signal_index"]


def background_rejection(
    probabilities: np.ndarray, labels: np.ndarray, signal_index: int, signal_efficiency: float
) -> float:
    """Fraction of background rejected by the cut on the signal score that keeps ``signal_efficiency``.

    The cut is the ``1 - signal_efficiency`` quantile of the signal jets' scores; a background jet
    passes when its score is at or above it.
    """
    scores = probabilities[:, signal_index]
    is_signal = labels == signal_index
    if not is_signal.any() or is_signal.all():
        return float("nan")
    cut = np.quantile(scores[is_signal], 1.0 - signal_efficiency)
    return float(np.mean(scores[~is_signal] < cut))


def signal_index(objective: SearchObjective, class_names: tuple[str, ...]) -> int:
    """The signal class's column; the last class when none is named."""
    if objective.signal_class is None:
        return len(class_names) - 1
    if objective.signal_class not in class_names:
        raise ConfigError(
            f"search.objective.signal_class {objective.signal_class!r} is not a class of the data. "
            f"Expected one of {list(class_names)}."
        )
    return class_names.index(objective.signal_class)


def objective_value(objective: SearchObjective, model, data) -> tuple[float, dict]:
    """The metric of ``model`` on the test split, and every metric for the trials table."""
    from ..metrics import score

    probabilities = np.asarray(model.predict(data.x_test, batch_size=4096, verbose=0))
    metrics = score(probabilities, data.y_test, data.class_names)
    signal = signal_index(objective, data.class_names)
    values = {
        "accuracy": metrics.accuracy,
        "mean_auc": metrics.mean_auc,
        "background_rejection": background_rejection(
            probabilities, data.y_test, signal, objective.signal_efficiency
        ),
    }
    return values[objective.metric], values


def chance_value(objective: SearchObjective, n_classes: int) -> float:
    """What a classifier that guesses scores: the value recorded for a trial that was not trained.

    An untrainable (over-budget) network has no accuracy of its own; scoring it as a guess keeps
    the sampler's model of the metric honest while the constraint tells it why.
    """
    if objective.metric == "accuracy":
        return 1.0 / n_classes
    if objective.metric == "mean_auc":
        return 0.5
    return 1.0 - objective.signal_efficiency
