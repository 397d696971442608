"""``fpgacompress report``: per-layer DSP / LUT / FF / BRAM / latency of a project or model.

When the project holds a real C-synthesis report, the parsed numbers are shown with the
estimate beside them (in brackets).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError
from .app import app
from .common import weights_option

STDOUT = Path("-")


@app.command()
@click.argument("project_or_model", type=click.Path(exists=True, path_type=Path))
@weights_option()
@click.option(
    "--board",
    help="Board name for utilization and the fits / does-not-fit verdict (see `fpgacompress boards`).",
)
@click.option("--reuse-factor", type=click.IntRange(min=1), help="Override every dense layer's reuse factor.")
@click.option(
    "--strategy",
    type=click.Choice(["latency", "resource"]),
    help="Override every dense layer's strategy (resource: uncalibrated, from hls4ml's template).",
)
@click.option(
    "--io-type",
    type=click.Choice(["io_parallel", "io_stream"]),
    help="Override the io_type (io_stream adds FIFOs between layers; uncalibrated).",
)
@click.option(
    "--clock-period-ns", type=float, help="Target clock period (default: the project's or board's)."
)
@click.option(
    "--hls-tool",
    metavar="FAMILY-VERSION",
    help="HLS tool and version to model, e.g. vitis-2024.1, vitis-2021.1, vivado-2019.2 (default: the version "
    "in the project's synthesis report, else its backend, else vitis-2024.1).",
)
@click.option(
    "--tmux",
    type=click.IntRange(min=1),
    help="Time-multiplexing period: the verdict also checks II <= clock x TMUX x 25 ns.",
)
@click.option(
    "--latency-budget-ns",
    type=click.FloatRange(min=0, min_open=True),
    help="The verdict also checks the latency.",
)
@click.option(
    "--multiplier-binding",
    type=click.Choice(["auto", "dsp", "fabric"]),
    default="auto",
    show_default=True,
    help="Multiplier implementation (config_op mul -impl).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, allow_dash=True),
    help="Write the report as JSON ('-': standard output).",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(path_type=Path, allow_dash=True),
    help="Write a Markdown table ('-': standard output).",
)
@click.option("--png", "png_path", type=click.Path(path_type=Path), help="Write a bar chart per layer.")
def report(
    project_or_model,
    weights_path,
    board,
    reuse_factor,
    strategy,
    io_type,
    clock_period_ns,
    hls_tool,
    tmux,
    latency_budget_ns,
    multiplier_binding,
    json_path,
    markdown_path,
    png_path,
):
    """Estimate (and, when synthesized, parse) the resources of PROJECT_OR_MODEL."""
    for option, path in (("--json", json_path), ("--markdown", markdown_path), ("--png", png_path)):
        if path is not None and path != STDOUT and not path.absolute().parent.is_dir():
            raise ConfigError(
                f"{option} {path}: the directory {path.parent} does not exist. Create it or choose another path."
            )
    from rich.console import Console

    from ..errors import ModelError
    from ..estimation import estimate
    from ..estimation.estimator import with_budgets
    from ..estimation.render import rich_table, to_markdown, write_json, write_markdown, write_png
    from ..reports import find_csynth_report, read_csynth_report

    source = project_or_model
    if not project_or_model.is_dir():
        from ..model_io import load_model

        source = load_model(project_or_model, weights_path)  # safe loading, every model format
    synthesized = project_or_model.is_dir() and find_csynth_report(project_or_model) is not None
    note = ""
    try:
        estimated = estimate(
            source,
            board=board,
            reuse_factor=reuse_factor,
            strategy=strategy,
            io_type=io_type,
            clock_period_ns=clock_period_ns,
            hls_tool=hls_tool,
            multiplier_binding=multiplier_binding,
            tmux=tmux,
            latency_budget_ns=latency_budget_ns,
        )
    except ModelError as error:
        if not synthesized:
            raise
        # A synthesized project the estimator cannot model (convolutions, no firmware): its own
        # report is still the answer.
        estimated, note = None, f"no estimate: {error}"
    primary, comparison = estimated, None
    if synthesized and reuse_factor is None and strategy is None and io_type is None:
        csynth = read_csynth_report(project_or_model, board=board or "")
        primary, comparison = with_budgets(csynth, tmux=tmux, latency_budget_ns=latency_budget_ns), estimated
    to_stdout = STDOUT in (json_path, markdown_path)
    console = Console(stderr=to_stdout)  # with '-', standard output carries only the JSON / Markdown
    console.print(rich_table(primary, comparison))
    bands = (comparison or primary).uncertainty_line if (comparison or primary) is not None else ""
    if bands:
        console.print(f"estimate: {bands}")
    if note:
        console.print(note)
    console.print(primary.verdict)
    if json_path == STDOUT:
        payload = {"report": primary.to_dict()}
        if comparison is not None:
            payload["comparison"] = comparison.to_dict()
        click.echo(json.dumps(payload, indent=2))
    if markdown_path == STDOUT:
        click.echo(to_markdown(primary, comparison))
    for path, writer in ((json_path, write_json), (markdown_path, write_markdown), (png_path, write_png)):
        if path is not None and path != STDOUT:
            console.print(f"wrote {writer(primary, path, comparison)}")
