"""Low-rank factorization: Dense(n->m) becomes Dense(n->r, linear, no bias) + Dense(r->m).

* ``lowrank`` — :func:`choose_rank` (fixed rank, retained singular-value energy or a products
  budget ``r*(n+m)``), :func:`factorize` (SVD split of a float model) and
  :func:`factorize_and_fine_tune` (the ``fpgacompress factorize`` stage with its run directory)
* ``spec``    — :class:`FactorizeSpec`, the recipe's ``factorize`` section

The pair is two ordinary Dense layers: pruning, QAT (``quantize`` requantizes the bottleneck to
``fixed<16,6>``), ``build``, ``csim`` and ``report`` treat them like any other layers.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_PUBLIC_API = {
    "BOTTLENECK_SUFFIX": "lowrank",
    "FactorizationResult": "lowrank",
    "FactorizeSpec": "spec",
    "choose_rank": "lowrank",
    "factorize": "lowrank",
    "factorize_and_fine_tune": "lowrank",
}

__all__ = sorted(_PUBLIC_API)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_API, globals())
