"""``fpgacompress layers``: the Keras layers the flow handles, generated from :mod:`fpgacompress.layer_kinds`."""

from __future__ import annotations

import click

from .app import app


@app.command()
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (the README's layer table).")
def layers(markdown):
    """List the supported layer kinds: Keras classes, pruning, quantization, firmware exactness."""
    from ..layer_kinds import kinds_markdown, kinds_table

    if markdown:
        click.echo(kinds_markdown())
        return 0
    for row in kinds_table():
        click.echo(f"{row['kind']}: {row['keras']}")
        for column in ("supported", "pruning", "quantization", "firmware"):
            click.echo(f"    {column + ':':<14}{row[column]}")
    click.echo("Any other layer is refused before a file is written, naming it and what to use instead.")
    return 0
