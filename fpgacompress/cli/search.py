"""``fpgacompress search``: topology and compression search under a board's budget, resumable."""

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
    help="Run directory (default: runs/<recipe name>-search). Re-running with it resumes the study.",
)
@click.option("--trials", type=int, default=None, help="Completed trials to reach (overrides search.trials).")
@click.option(
    "--workers", type=int, default=1, show_default=True, help="Local worker processes on the study."
)
@click.option(
    "--storage",
    default=None,
    help="Database URL shared by many machines, e.g. postgresql://user:password@host/db "
    "(default: a SQLite file in --out).",
)
@click.option("--study", "study_name", default=None, help="Study name (default: the recipe's name).")
@click.option(
    "--sampler",
    type=click.Choice(["gp", "tpe", "cmaes", "random", "grid"]),
    default=None,
    help="Overrides search.sampler (gp needs PyTorch: pip install 'fpgacompress[gp]').",
)
@click.option("--then-run", is_flag=True, help="Then run the recipe's chain on the best trial into OUT/run.")
@click.option(
    "--data", type=click.Path(path_type=Path), default=None, help="Override the recipe's data file."
)
def search(recipe, out, trials, workers, storage, study_name, sampler, then_run, data):
    """Search RECIPE's search: space, training only what the estimator says the board can hold.

    Run the same command on many machines with one --storage to share the study; Ctrl-C or a killed
    worker loses only the trials in flight, and re-running resumes.
    """
    from ..recipe import load_recipe
    from ..searching import search as run_search

    loaded = load_recipe(recipe)
    if data is not None:
        loaded = loaded.model_copy(update={"data": loaded.data.model_copy(update={"path": data.resolve()})})
    run_dir = out or Path("runs") / f"{loaded.name}-search"
    result = run_search(
        loaded,
        run_dir,
        trials=trials,
        workers=workers,
        storage=storage,
        study_name=study_name,
        sampler=sampler,
        then_run=then_run,
        log=click.echo,
    )
    click.echo(result.summary_path.read_text().split("## Pareto")[0].rstrip())
