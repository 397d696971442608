"""Build step that ships the top-level ``boards/`` and ``hls_templates/`` inside the package.

Everything else is in ``pyproject.toml``. The two folders stay the source (one file per board, the
HLS templates beside the code that fills them); a wheel carries copies under ``fpgacompress/_data/``,
which :mod:`fpgacompress.paths` prefers when present, so a non-editable install works from any
directory. An editable install reads the top-level folders directly.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED_FOLDERS = ("boards", "hls_templates")


class BuildPyWithDataFolders(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent
        for folder in SHIPPED_FOLDERS:
            target = Path(self.build_lib) / "fpgacompress" / "_data" / folder
            shutil.copytree(source / folder, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithDataFolders})
