"""``fpgacompress csim``: compile a built project's testbench with g++ and compare with Python bit for bit."""

from __future__ import annotations

from pathlib import Path

import click

from .app import app

MISMATCH_EXIT_CODE = 1


@app.command()
@click.argument("project_dir", metavar="PROJECT", type=click.Path(path_type=Path))
@click.option(
    "--require-bit-exact",
    is_flag=True,
    help="Exit 1 also for a design that cannot be bit-exact (float weights, batch norm): CI gates.",
)
def csim(project_dir, require_bit_exact):
    """C-simulate PROJECT (written by 'fpgacompress build') and compare with Python bit for bit.

    Exit 1 if any logit differs from Python in a design that should be bit-exact. A float model
    (or one with a batch norm, a hidden lookup table) cannot be: it gets a fidelity report (largest
    and mean difference per layer, decision agreement) and exit 0, unless --require-bit-exact.
    """
    from ..firmware import csim as run_csim

    result = run_csim(project_dir)
    click.echo(result.summary())
    click.echo(
        f"g++ {result.compile_seconds:.1f} s, simulation {result.run_seconds:.1f} s; compile log {result.compile_log}"
    )
    return 0 if result.passed(require_bit_exact) else MISMATCH_EXIT_CODE
