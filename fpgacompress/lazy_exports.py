"""Public names resolved on first use, so that importing a package does not import TensorFlow.

Each package lists ``public name -> submodule`` once and gets its module ``__getattr__`` and
``__dir__`` from :func:`lazy_exports` (PEP 562).

Example:
    >>> __getattr__, __dir__ = lazy_exports(__name__, {"prune": "api", "PruneSpec": "spec"}, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, public_api: dict[str, str], namespace: dict
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``; ``public_api`` maps names to submodules.

    A submodule is given relative to ``package`` (``"spec"``) or absolute (``"fpgacompress.data"``).
    A resolved name is bound in ``namespace``, so it is looked up once.
    """

    def __getattr__(name: str):
        if name not in public_api:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        home = public_api[name]
        module = importlib.import_module(home if home.startswith("fpgacompress") else f"{package}.{home}")
        value = getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *public_api])

    return __getattr__, __dir__
