"""The public API: every documented name resolves to the function or class, never to a module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import fpgacompress


def test_every_public_name_is_a_function_or_class_even_after_all_submodules_are_imported():
    # Importing a submodule binds its name on the parent package; a public function sharing that
    # name would then be shadowed by the module (the bug this test guards against).
    for module in pkgutil.walk_packages(fpgacompress.__path__, "fpgacompress."):
        if not module.name.startswith(("fpgacompress.cli", "fpgacompress.__main__")):
            importlib.import_module(module.name)
    for name in fpgacompress.__all__:
        value = getattr(fpgacompress, name)
        assert not inspect.ismodule(value), f"fpgacompress.{name} is a module, not the public object"
    from fpgacompress.firmware import csim
    from fpgacompress.quantization import quantize

    assert callable(csim) and callable(quantize)


def test_every_public_function_has_a_docstring():
    undocumented = [name for name in fpgacompress.__all__ if not inspect.getdoc(getattr(fpgacompress, name))]
    assert undocumented == []
