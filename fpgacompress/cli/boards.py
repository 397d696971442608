"""``fpgacompress boards``: list the boards a firmware project can be built for."""

from __future__ import annotations

import click

from .app import app


@app.command()
@click.option("--verbose", "-v", is_flag=True, help="Also print each board's description and source table.")
def boards(verbose):
    """List the FPGA boards in boards/ with their part, clock and device totals."""
    from ..boards import list_boards, max_initiation_interval

    header = f"{'board':<16} {'part':<24} {'clock':>9} {'max II':>6} {'LUT':>9} {'FF':>9} {'DSP':>6} {'BRAM18K':>8} {'URAM':>5}"
    click.echo(header)
    for board in list_boards():
        click.echo(
            f"{board.name:<16} {board.part:<24} {board.default_clock_mhz:>5g} MHz "
            f"{max_initiation_interval(board.default_clock_mhz):>6} {board.lut:>9} {board.ff:>9} "
            f"{board.dsp:>6} {board.bram_18k:>8} {board.uram:>5}"
        )
        if verbose:
            click.echo(f"    {board.description}")
            click.echo(f"    source: {board.source}")
    click.echo(
        "max II: initiation interval (cycles) that accepts one input per 25 ns bunch crossing at TMUX 1."
    )
