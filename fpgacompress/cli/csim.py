"""``fpgacompress csim``: compile a built project's testbench with g++ and compare with Python bit for bit."""

from __future__ import annotations

from pathlib import Path

import click

from .app import app

MISMATCH_EXIT_CODE = 1


@app.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
def csim(project_dir):
    """C-simulate PROJECT (written by 'fpgacompress build'); exit 1 if any logit differs from Python."""
    from ..firmware import csim as run_csim

    result = run_csim(project_dir)
    click.echo(result.summary())
    click.echo(
        f"g++ {result.compile_seconds:.1f} s, simulation {result.run_seconds:.1f} s; compile log {result.compile_log}"
    )
    return 0 if result.bit_exact else MISMATCH_EXIT_CODE
