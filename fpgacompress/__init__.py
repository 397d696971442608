"""fpgacompress: from a Keras jet tagger to a verified FPGA firmware project.

The chain, each stage usable alone from a trigger script:

* ``data``         — jet datasets and users' own inputs, the fixed test split, input standardization
* ``model_io``     — safe model loading (no code in a model file runs), .h5 / .keras / JSON + weights
* ``models``       — MLPs from a topology string (``"16-64-32-32-5"``)
* ``regularizers`` — L1 and Lp (0 < p < 1) kernel penalties that make weights prunable
* ``training``     — seeded, early-stopped training with a run directory
* ``pruning``      — iterative magnitude pruning with mask constraints, and TF-MOT
* ``autoprune``    — AutoPruner node masks and the physically smaller exported network
* ``variational``  — sparse variational dropout (Bayesian sparsification) exported with exact zeros
* ``quantization`` — QKeras quantization-aware training that keeps every pruned zero; trained ternary
  quantization and k-means weight sharing, exported bit-exact
* ``factorization`` — SVD low-rank factorization of Dense layers
* ``boards``       — FPGA boards as data, the LHC bunch-crossing budget
* ``firmware``     — hls4ml projects for a board, and their bit-exact C-simulation
* ``estimate``     — per-layer DSP / LUT / FF / BRAM / latency, calibrated on real synthesis
* ``reports``      — real Vivado / Vitis HLS C-synthesis reports
* ``runner``       — the whole chain from one recipe (``fpgacompress run``)
* ``output_dir``   — output directories: checked first, locked, replaced only when complete
* ``searching``    — Bayesian topology / compression search under a board's budget (``fpgacompress search``)

Importing this package does not import TensorFlow: the public names below are resolved on first
use, so ``fpgacompress --help`` stays fast.
"""

from __future__ import annotations

from .lazy_exports import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC_API: dict[str, str] = {
    # data and training
    "load_jets": "fpgacompress.data",
    "Dataset": "fpgacompress.data",
    "Standardizer": "fpgacompress.data",
    "calorimeter_images": "fpgacompress.calorimeter",
    "calorimeter_profiles": "fpgacompress.calorimeter",
    "build_mlp": "fpgacompress.models",
    "parse_topology": "fpgacompress.models",
    "L1": "fpgacompress.regularizers",
    "Lp": "fpgacompress.regularizers",
    "train": "fpgacompress.training",
    "train_recipe": "fpgacompress.training",
    "TrainResult": "fpgacompress.training",
    "evaluate": "fpgacompress.metrics",
    "Metrics": "fpgacompress.metrics",
    "TrainingConfig": "fpgacompress.config",
    "Recipe": "fpgacompress.recipe",
    "load_recipe": "fpgacompress.recipe",
    "save_model": "fpgacompress.model_io",
    "load_model": "fpgacompress.model_io",
    "load_standardizer": "fpgacompress.model_io",
    # pruning
    "prune": "fpgacompress.pruning",
    "strip": "fpgacompress.pruning",
    "PruneSpec": "fpgacompress.pruning",
    "AccuracyBudget": "fpgacompress.pruning",
    "LayerOverride": "fpgacompress.pruning",
    "TfmotSchedule": "fpgacompress.pruning",
    "PruneResult": "fpgacompress.pruning",
    "PruningMask": "fpgacompress.pruning",
    "apply_mask": "fpgacompress.pruning",
    "HardwareTarget": "fpgacompress.pruning",
    "ResourceBudget": "fpgacompress.pruning",
    "ResourceBudgetError": "fpgacompress.pruning",
    "diagonal_hessian": "fpgacompress.pruning",
    "weight_scores": "fpgacompress.pruning",
    # AutoPruner
    "autoprune": "fpgacompress.autopruning",
    "AutoPruneSpec": "fpgacompress.autopruning",
    "AutoPruneResult": "fpgacompress.autopruning",
    "NodeMask": "fpgacompress.autopruning",
    "export_reduced": "fpgacompress.autopruning",
    "retrain_reduced": "fpgacompress.autopruning",
    "insert_filter_masks": "fpgacompress.autopruning",
    "reduce_filter_network": "fpgacompress.autopruning",
    # layer kinds (what the firmware flow supports, one home per kind)
    "kind_of": "fpgacompress.layer_kinds",
    "LayerKind": "fpgacompress.layer_kinds",
    # sparse variational dropout
    "sparsify": "fpgacompress.variational",
    "SparsifySpec": "fpgacompress.variational",
    "SparsifyResult": "fpgacompress.variational",
    "VariationalDense": "fpgacompress.variational",
    "VariationalFeatureGate": "fpgacompress.variational",
    "export_sparse": "fpgacompress.variational",
    # quantization
    "quantize": "fpgacompress.quantization",
    "QuantizationSpec": "fpgacompress.quantization",
    "post_training_quantize": "fpgacompress.quantization",
    "PtqResult": "fpgacompress.quantization",
    "quantization_aware_training": "fpgacompress.quantization",
    "suggest_precision": "fpgacompress.quantization",
    "quantization_report": "fpgacompress.quantization",
    "QuantizationReport": "fpgacompress.quantization",
    "trained_ternary_quantization": "fpgacompress.quantization",
    "export_ttq": "fpgacompress.quantization",
    "weight_sharing": "fpgacompress.quantization",
    "export_codebook": "fpgacompress.quantization",
    # low-rank factorization
    "factorize": "fpgacompress.factorization",
    "factorize_and_fine_tune": "fpgacompress.factorization",
    "FactorizeSpec": "fpgacompress.factorization",
    # boards and firmware
    "Board": "fpgacompress.boards",
    "load_board": "fpgacompress.boards",
    "list_boards": "fpgacompress.boards",
    "BuildConfig": "fpgacompress.firmware",
    "build": "fpgacompress.firmware",
    "HlsProject": "fpgacompress.firmware",
    "load_project": "fpgacompress.firmware",
    "csim": "fpgacompress.firmware",
    "CsimResult": "fpgacompress.firmware",
    "run_synthesis": "fpgacompress.firmware",
    # resources
    "estimate": "fpgacompress.estimation",
    "ResourceReport": "fpgacompress.estimation",
    "LayerResources": "fpgacompress.estimation",
    "read_csynth_report": "fpgacompress.reports.csynth",
    # the whole chain
    "run": "fpgacompress.runner",
    "RunResult": "fpgacompress.runner",
    # search
    "search": "fpgacompress.searching.runner",
    "SearchResult": "fpgacompress.searching.runner",
    "SearchSpec": "fpgacompress.searching.spec",
    "SearchError": "fpgacompress.searching.storage",
}

__all__ = sorted(_PUBLIC_API)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
