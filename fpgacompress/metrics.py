"""Classifier metrics a trigger developer compares models by: accuracy and per-class ROC AUC."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Metrics", "evaluate", "score"]


@dataclass(frozen=True)
class Metrics:
    """Accuracy and one-vs-rest ROC AUC per class on one split."""

    accuracy: float
    auc: dict[str, float]

    @property
    def mean_auc(self) -> float:
        return float(np.mean(list(self.auc.values())))

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "mean_auc": self.mean_auc, "auc": dict(self.auc)}

    def __str__(self) -> str:
        per_class = ", ".join(f"{name} {value:.3f}" for name, value in self.auc.items())
        return f"accuracy {self.accuracy:.4f}, mean AUC {self.mean_auc:.4f} ({per_class})"


def score(probabilities: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> Metrics:
    """Metrics from predicted class scores ``[rows, classes]`` and integer labels."""
    from sklearn.metrics import roc_auc_score

    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels))
    auc = {}
    for index, name in enumerate(class_names):
        is_class = labels == index
        # AUC is undefined when a class is absent (tiny test subsets); record NaN instead of failing.
        auc[name] = (
            float(roc_auc_score(is_class, probabilities[:, index]))
            if 0 < is_class.sum() < len(labels)
            else float("nan")
        )
    return Metrics(accuracy, auc)


def evaluate(
    model, x: np.ndarray, y: np.ndarray, class_names: tuple[str, ...], batch_size: int = 4096
) -> Metrics:
    """Metrics of a Keras model on ``(x, y)``."""
    probabilities = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    return score(probabilities, y, class_names)
