"""What a pruning run returns and leaves on disk: records per iteration, the final model and mask.

A :class:`PruneRecord` is one point of the accuracy-vs-sparsity curve (iteration 0 is the unpruned
baseline). :func:`save_result` writes the run directory a reviewer reads: ``model.h5`` (+ input
standardization), ``mask.npz``, ``records.json`` and ``accuracy_vs_sparsity.png``; the weight
distribution of every iteration (``weights_iteration_NN.png``) is drawn while pruning runs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data import Standardizer
from ..metrics import Metrics
from ..plots import pyplot, save_figure
from .mask import PruningMask
from .spec import PruneSpec

__all__ = ["PruneRecord", "PruneResult", "save_result", "plot_accuracy_vs_sparsity", "plot_iteration_weights"]


@dataclass(frozen=True)
class PruneRecord:
    """One pruning step: how sparse the model is and how well it still classifies.

    ``iteration`` counts pruning iterations (``iterative``) or epochs (``tfmot``); 0 is the
    unpruned model. ``epochs_trained`` counts the epochs since the previous record, so their sum
    is the run's training cost. ``within_budget`` is judged on ``val_accuracy``.
    """

    iteration: int
    sparsity: float
    layer_sparsity: dict[str, float]
    val_accuracy: float
    test_accuracy: float
    test_auc: dict[str, float]
    epochs_trained: int
    within_budget: bool = True

    @property
    def test_mean_auc(self) -> float:
        return float(np.mean(list(self.test_auc.values())))

    @classmethod
    def measure(
        cls,
        iteration: int,
        mask: PruningMask,
        val_accuracy: float,
        test: Metrics,
        epochs_trained: int,
        within_budget: bool = True,
    ) -> PruneRecord:
        return cls(
            iteration=iteration,
            sparsity=mask.sparsity,
            layer_sparsity=mask.layer_sparsity(),
            val_accuracy=float(val_accuracy),
            test_accuracy=test.accuracy,
            test_auc=dict(test.auc),
            epochs_trained=epochs_trained,
            within_budget=within_budget,
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "test_mean_auc": self.test_mean_auc}

    def __str__(self) -> str:
        return (
            f"iteration {self.iteration}: {self.sparsity:.1%} zeros, val accuracy {self.val_accuracy:.4f}, "
            f"test accuracy {self.test_accuracy:.4f}, mean AUC {self.test_mean_auc:.4f}"
            + ("" if self.within_budget else " (over budget)")
        )


@dataclass(frozen=True)
class PruneResult:
    """The pruned model (kernels constrained by ``mask``), its mask, and the whole curve.

    ``final`` is the record of the returned model: the last one within the accuracy budget, which
    is not the last record when the budget stopped the run.
    """

    model: object
    mask: PruningMask
    records: tuple[PruneRecord, ...]
    final: PruneRecord
    stop_reason: str
    spec: PruneSpec

    @property
    def baseline(self) -> PruneRecord:
        return self.records[0]

    @property
    def accuracy_drop(self) -> float:
        """Test accuracy lost against the unpruned model (fraction, 0.005 = half a point)."""
        return self.baseline.test_accuracy - self.final.test_accuracy

    def to_dict(self) -> dict:
        return {
            "method": self.spec.method,
            "stop_reason": self.stop_reason,
            "final_iteration": self.final.iteration,
            "sparsity": self.final.sparsity,
            "test_accuracy": self.final.test_accuracy,
            "baseline_test_accuracy": self.baseline.test_accuracy,
            "test_accuracy_drop": self.accuracy_drop,
            "mask": self.mask.to_dict(),
            "spec": self.spec.model_dump(mode="json"),
            "records": [record.to_dict() for record in self.records],
        }


def plot_iteration_weights(
    model, run_dir: str | Path, iteration: int, record: PruneRecord | None = None
) -> Path:
    """``weights_iteration_NN.png``: the seed talk's figure sequence, one per iteration."""
    from ..plots import plot_weight_distribution

    title = f"iteration {iteration}"
    if record is not None:
        title += f": {record.sparsity:.0%} zeros, val accuracy {record.val_accuracy:.3f}"
    return plot_weight_distribution(
        model, Path(run_dir) / f"weights_iteration_{iteration:02d}.png", title=title
    )


def plot_accuracy_vs_sparsity(
    curves: dict[str, tuple[PruneRecord, ...]],
    path: str | Path,
    reference_accuracy: float | None = None,
    title: str = "accuracy vs sparsity",
) -> Path:
    """Test accuracy against the fraction of zero weights, one line per run (e.g. per method).

    ``reference_accuracy`` (default: the first curve's unpruned model) is drawn as a solid line,
    with a dotted line half a point below it: the usual "no visible loss" target.
    """
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    for label, records in curves.items():
        sparsity = [100 * record.sparsity for record in records]
        accuracy = [100 * record.test_accuracy for record in records]
        axis.plot(sparsity, accuracy, marker="o", markersize=3, label=label)
    if reference_accuracy is None:
        reference_accuracy = next(iter(curves.values()))[0].test_accuracy
    axis.axhline(100 * reference_accuracy, color="black", linewidth=0.8, label="reference")
    axis.axhline(
        100 * reference_accuracy - 0.5, color="grey", linestyle=":", linewidth=0.8, label="reference - 0.5 pt"
    )
    axis.set_xlabel("weights at zero [%]")
    axis.set_ylabel("test accuracy [%]")
    axis.set_title(title)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return save_figure(figure, path)


def save_result(result: PruneResult, run_dir: str | Path, standardizer: Standardizer | None = None) -> Path:
    """Write model, mask, records and the accuracy-vs-sparsity plot into ``run_dir``."""
    from ..model_io import save_model

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_model(result.model, run_dir / "model.h5", standardizer=standardizer)
    result.mask.save(run_dir / "mask.npz")
    (run_dir / "records.json").write_text(json.dumps(result.to_dict(), indent=2))
    plot_accuracy_vs_sparsity({result.spec.method: result.records}, run_dir / "accuracy_vs_sparsity.png")
    return run_dir
