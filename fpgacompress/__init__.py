"""fpgacompress: from a Keras jet tagger to a verified FPGA firmware project.

The chain, each stage usable alone from a trigger script:

* ``data``         — jet datasets, the fixed test split, input standardization
* ``models``       — MLPs from a topology string (``"16-64-32-32-5"``)
* ``regularizers`` — L1 and Lp (0 < p < 1) kernel penalties that make weights prunable
* ``training``     — seeded, early-stopped training with a run directory
* ``recipe``       — the validated YAML recipe
* ``model_io``     — save / load models with every custom object

Importing this package does not import TensorFlow: the public names below are resolved on first
use, so ``fpgacompress --help`` stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC_API: dict[str, str] = {
    "load_jets": "fpgacompress.data",
    "Dataset": "fpgacompress.data",
    "Standardizer": "fpgacompress.data",
    "build_mlp": "fpgacompress.models",
    "parse_topology": "fpgacompress.models",
    "L1": "fpgacompress.regularizers",
    "Lp": "fpgacompress.regularizers",
    "train": "fpgacompress.training",
    "train_recipe": "fpgacompress.training",
    "TrainResult": "fpgacompress.training",
    "evaluate": "fpgacompress.metrics",
    "Metrics": "fpgacompress.metrics",
    "Recipe": "fpgacompress.recipe",
    "load_recipe": "fpgacompress.recipe",
    "TrainingConfig": "fpgacompress.recipe",
    "save_model": "fpgacompress.model_io",
    "load_model": "fpgacompress.model_io",
}

__all__ = sorted(_PUBLIC_API)


def __getattr__(name: str):
    if name in _PUBLIC_API:
        value = getattr(importlib.import_module(_PUBLIC_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fpgacompress' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC_API])
