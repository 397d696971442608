"""Topology and compression search under a board's resource and latency budget (``fpgacompress search``).

Modules: :mod:`.spec` (the ``search:`` recipe section), :mod:`.space` (a trial's settings),
:mod:`.budget` (estimate vs budget as constraint values), :mod:`.metrics` (accuracy, mean AUC,
background rejection), :mod:`.trial` (estimate, then train only what fits), :mod:`.samplers`
(Optuna's GP, TPE, CMA-ES, random, grid), :mod:`.storage` (SQLite file or a shared database, with
heartbeat and retry), :mod:`.runner` (``search``: workers and resume), :mod:`.table`,
:mod:`.plots` and :mod:`.outputs` (trials.csv, pareto.csv, best/, summary.md).
"""

from ..lazy_exports import lazy_exports

_PUBLIC_API = {
    "search": "runner",
    "SearchResult": "runner",
    "run_worker": "runner",
    "SearchSpec": "spec",
    "SearchSpace": "spec",
    "SearchObjective": "spec",
    "SearchBudget": "spec",
    "TrialSettings": "space",
    "SearchError": "storage",
    "StorageError": "storage",
    "background_rejection": "metrics",
}

__all__ = sorted(_PUBLIC_API)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
