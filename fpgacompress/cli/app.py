"""The click group every ``fpgacompress`` sub-command registers on.

Command modules import TensorFlow only inside their functions, so ``fpgacompress --help`` stays
fast and TensorFlow-free.
"""

from __future__ import annotations

import click


@click.group(
    name="fpgacompress",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(package_name="fpgacompress")
def app() -> None:
    """Compress Keras jet taggers and build bit-exact hls4ml firmware for L1-trigger FPGAs."""
