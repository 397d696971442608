"""Quantization-aware fine-tuning that keeps every pruned weight at exactly zero.

The float model's zeros define a :class:`~fpgacompress.pruning.mask.PruningMask`; :func:`quantize`
builds the QKeras model with a ``KernelMask`` constraint on every pruned kernel, and training then
sees the quantized forward pass (straight-through gradients) while the mask keeps the zeros. After
training the mask is checked against the model: a regrown weight is an error, never a silent one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainingConfig
from ..data import Dataset, Standardizer
from ..errors import ModelError
from ..pruning.mask import PruningMask
from ..training import TrainResult, best_epoch_keeper, save_run, train
from .convert import quantize
from .report import QuantizationReport, quantization_report
from .spec import QuantizationSpec, QuantizationTable, save_spec

__all__ = ["QuantizationResult", "quantization_aware_training"]


@dataclass(frozen=True)
class QuantizationResult:
    """The fine-tuned QKeras model with its precision table, cost report and training record."""

    model: object
    table: QuantizationTable
    mask: PruningMask
    report: QuantizationReport
    training: TrainResult


def quantization_aware_training(
    model,
    spec: QuantizationSpec,
    data: Dataset,
    config: TrainingConfig | None = None,
    *,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> QuantizationResult:
    """Quantize ``model`` as ``spec`` says and fine-tune it on ``data`` with its zeros held.

    The weights of the epoch with the lowest validation loss are kept, also when training runs all
    of ``config.epochs`` (Keras' early stopping restores them only when it stops early): a quantized
    network's accuracy jumps from epoch to epoch as single weights cross a rounding boundary, even
    at the small last rates of a cosine schedule, so the last epoch is a random draw among them.

    ``run_dir`` receives what ``train`` writes (``model.h5``, metrics, history, plots) plus
    ``quantization_spec.yaml``, ``quantization_table.json`` and ``quantization_report.json``.
    """
    mask = PruningMask.from_model(model)
    table = spec.resolve(model)
    quantized = quantize(model, table)
    training = train(
        quantized, data, config, standardizer=standardizer, progress=progress, callbacks=[best_epoch_keeper()]
    )
    regrown = mask.violations(quantized)
    if regrown:
        raise ModelError(
            f"Pruned weights regrew during quantization-aware training: {regrown} (layer: count)."
        )
    report = quantization_report(quantized)
    result = QuantizationResult(quantized, table, mask, report, training)
    if run_dir is not None:
        run_dir = Path(run_dir)
        training.run_dir = save_run(training, run_dir)
        save_spec(spec, run_dir / "quantization_spec.yaml")
        (run_dir / "quantization_table.json").write_text(json.dumps(table.to_dict(), indent=2))
        (run_dir / "quantization_report.json").write_text(json.dumps(report.to_dict(), indent=2))
    return result

