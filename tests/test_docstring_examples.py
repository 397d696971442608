"""Every docstring example in the package runs: an example is run (doctest) or not written."""

import doctest
import importlib
import pkgutil

import pytest

import fpgacompress

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(fpgacompress.__path__, "fpgacompress.")
    if not name.endswith("__main__")  # importing it would run the command line
)


@pytest.mark.parametrize("module_name", ["fpgacompress", *MODULES])
def test_docstring_examples_run(module_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(module_name)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module_name):
        runner.run(test, out=report.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(report)
