"""The one-page ``summary.md`` of a run, and the figures it shows.

Every model stage is compared side by side — accuracy, ROC AUC, sparsity, BOPs and the estimated
DSP / LUT / FF / latency of that stage's model on the recipe's board — followed by the firmware's
C-simulation verdict and the resource report of the built project.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .data import Dataset

__all__ = ["write_summary", "stage_estimates"]

_MODEL_STAGES = ("train", "autoprune", "factorize", "sparsify", "prune", "quantize")


def stage_estimates(result) -> dict[str, dict]:
    """Estimated resources of each model stage's model on the recipe's board (same build settings)."""
    from .estimation import estimate

    build = result.recipe.build
    settings = (
        {
            "reuse_factor": build.reuse_factor,
            "hls_tool": build.backend,
            "strategy": build.strategy,
            "io_type": build.io_type,
            "clock_period_ns": None if build.clock_mhz is None else 1000.0 / build.clock_mhz,
        }
        if build is not None
        else {}
    )
    board = build.board if build is not None else "serenity-vu13p"
    estimates = {}
    for name in _MODEL_STAGES:
        record = result.stages.get(name)
        if record is None:
            continue
        report = estimate(record.directory / "model.h5", board, **settings)
        estimates[name] = {
            **asdict(report.totals),
            "latency_ns": report.latency_ns,
            "fits": report.fits,
            "utilization": report.utilization,
        }
    return estimates


def write_summary(result, data: Dataset) -> Path:
    """Write ``summary.md`` and its figures into the run directory; returns the summary's path."""
    run_dir = result.run_dir
    estimates = stage_estimates(result)
    (run_dir / "stage_estimates.json").write_text(json.dumps(estimates, indent=2))
    figures = _figures(result, data, estimates)
    lines = [f"# Run summary: {result.recipe.name}", ""]
    build = result.recipe.build
    if build is not None:
        record = result.stages["build"]
        lines.append(
            f"Board **{record.results['board']}** ({record.results['part']}) at {record.results['clock_mhz']:g} MHz, "
            f"backend {build.backend}, strategy {build.strategy}, io_type {build.io_type}, "
            f"reuse factor {build.reuse_factor}, TMUX {build.tmux}."
        )
        lines.append("")
    if result.skipped:
        lines.append(f"Stages reused unchanged from an earlier run: {', '.join(result.skipped)}.")
        lines.append("")
    lines += ["## Stages side by side", ""]
    lines.append(
        "| stage | topology | test accuracy | mean AUC | sparsity | BOPs | est. DSP | est. LUT | est. FF "
        "| est. latency | fits |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in _MODEL_STAGES:
        record = result.stages.get(name)
        if record is None:
            continue
        stage = record.results
        estimate = estimates[name]
        lines.append(
            f"| {name} | {stage['topology']} | {stage['accuracy']:.4f} | {stage['mean_auc']:.4f} | "
            f"{stage['sparsity']:.1%} | {stage['bops']:,} | {estimate['dsp']:,} | {estimate['lut']:,} | "
            f"{estimate['ff']:,} | {estimate['latency_cycles']} cycles ({estimate['latency_ns']:.0f} ns) | "
            f"{_yes_no(estimate['fits'])} |"
        )
    lines += [
        "",
        "BOPs: sum over nonzero weights of weight bits x input bits (float layers counted at hls4ml's default "
        "16 bits). Estimates: `fpgacompress.estimation` on each stage's model with the build settings.",
        "",
    ]
    lines += _firmware_section(result)
    lines += ["## Figures", ""]
    lines += [f"![{title}]({path.relative_to(run_dir)})" for title, path in figures]
    lines.append("")
    lines += ["## Stage directories", ""]
    for name, record in result.stages.items():
        lines.append(f"- `{record.directory.name}/`: {name}, {record.seconds:.0f} s")
    path = run_dir / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _yes_no(fits) -> str:
    return "unknown" if fits is None else ("yes" if fits else "**no**")


def _firmware_section(result) -> list[str]:
    lines = ["## Firmware", ""]
    build = result.stages.get("build")
    if build is None:
        return [*lines, "No build section in the recipe: no firmware was generated.", ""]
    lines.append(f"- HLS project: `{build.directory.name}/hls_project/`")
    csim = result.stages.get("csim")
    if csim is None:
        lines.append("- C-simulation: not run (`csim: false`).")
    else:
        verdict = csim.results
        status = "**BIT-EXACT**" if verdict["bit_exact"] else f"**{verdict['logits_mismatches']} MISMATCHES**"
        lines.append(
            f"- C-simulation: logits ({verdict['logits_layer']}) {status} on {verdict['n_samples']} real test jets"
            + (
                ""
                if verdict["bit_exact"]
                else f"; first mismatch: sample {verdict['first_mismatch_sample']}, "
                f"layer {verdict['first_mismatch_layer']}"
            )
        )
        if verdict.get("softmax_argmax_agreement") is not None:
            lines.append(
                f"- Softmax (lookup table, approximate by design): argmax agrees on "
                f"{verdict['softmax_argmax_agreement']:.2%} of jets, largest difference "
                f"{verdict['softmax_max_abs_difference']:.3g}"
            )
    report = result.stages.get("report")
    if report is not None:
        totals = report.results["totals"]
        lines.append(
            f"- Resources (estimate of the built project): DSP {totals['dsp']:,}, LUT {totals['lut']:,}, "
            f"FF {totals['ff']:,}, BRAM_18K {totals['bram_18k']:,}, latency {totals['latency_cycles']} cycles "
            f"({report.results['latency_ns']:.0f} ns), II {totals['ii']}"
        )
        utilization = ", ".join(
            f"{name} {value:.1f}%" for name, value in report.results["utilization"].items()
        )
        lines.append(f"- Utilization: {utilization}")
        lines.append(
            f"- Verdict: **{'fits' if report.results['fits'] else 'does not fit'}**. {report.results['verdict']}"
        )
        lines.append(f"- Per-layer table: `{report.directory.name}/resources.md`")
    return [*lines, ""]


def _figures(result, data: Dataset, estimates: dict) -> list[tuple[str, Path]]:
    from .plots import plot_roc_curves

    run_dir = result.run_dir
    figures: list[tuple[str, Path]] = []
    model_stages = [name for name in _MODEL_STAGES if name in result.stages]
    curves = {}
    for name in (model_stages[0], model_stages[-1]) if len(model_stages) > 1 else model_stages[:1]:
        scores_path = result.stages[name].directory / "test_scores.npz"
        if scores_path.is_file():
            with np.load(scores_path) as scores:
                curves[name] = (scores["scores"], scores["labels"].astype(np.int64))
    if curves:
        figures.append(("ROC curves", plot_roc_curves(curves, data.class_names, run_dir / "roc.png")))
    figures.append(
        ("Accuracy, BOPs and DSP per stage", _plot_stages(result, estimates, run_dir / "stages.png"))
    )
    for name in model_stages:
        weights = result.stages[name].directory / "weights.png"
        if weights.is_file():
            figures.append((f"Weights after {name}", weights))
    prune = result.stages.get("prune")
    if prune is not None:
        figures += [
            ("Accuracy vs sparsity", path) for path in sorted(prune.directory.glob("*accuracy*sparsity*.png"))
        ]
    report = result.stages.get("report")
    if report is not None and (report.directory / "resources.png").is_file():
        figures.append(("Resources per layer against the board", report.directory / "resources.png"))
    return figures


def _plot_stages(result, estimates: dict, path: Path) -> Path:
    from .plots import pyplot, save_figure

    plt = pyplot()
    names = [name for name in _MODEL_STAGES if name in result.stages]
    accuracy = [result.stages[name].results["accuracy"] for name in names]
    bops = [result.stages[name].results["bops"] for name in names]
    dsp = [estimates[name]["dsp"] for name in names]
    figure, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for axis, values, label in (
        (axes[0], accuracy, "test accuracy"),
        (axes[1], bops, "BOPs"),
        (axes[2], dsp, "estimated DSP"),
    ):
        axis.bar(names, values, color="tab:blue")
        axis.set_title(label)
        if label == "test accuracy":
            axis.set_ylim(min(values) - 0.05, max(values) + 0.02)
        elif max(values) > 0:
            axis.set_yscale("log")
    return save_figure(figure, path)
