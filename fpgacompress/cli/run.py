"""``fpgacompress run``: the whole chain from one recipe, resumable."""

from __future__ import annotations

from pathlib import Path

import click

from .app import app


@app.command()
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory (default: runs/<recipe name>). Re-using one resumes it.",
)
@click.option(
    "--data", type=click.Path(path_type=Path), default=None, help="Override the recipe's data file."
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress bars.")
def run(recipe, out, data, progress):
    """Run every stage RECIPE asks for; unchanged stages are reused, Ctrl-C keeps completed ones."""
    from ..recipe import load_recipe

    loaded = load_recipe(recipe)
    if data is not None:
        loaded = loaded.model_copy(update={"data": loaded.data.model_copy(update={"path": data.resolve()})})
    run_dir = out or Path("runs") / loaded.name
    from ..runner import run as run_recipe

    result = run_recipe(loaded, run_dir, progress=progress, log=click.echo)
    click.echo(result.summary_path.read_text().split("## Figures")[0].rstrip())
    if result.csim is not None and not result.csim["bit_exact"]:
        raise click.exceptions.Exit(1)
