"""What a search leaves in its run directory: ``trials.csv``, ``pareto.csv``, ``best/`` (the best
trial's model saved like any stage's, with ``recipe.yaml`` for ``fpgacompress run``) and
``summary.md`` with its figures. Rewritten whole after every search call, so a resumed study's
outputs cover all its trials.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

import yaml

from .plots import budget_curve, plot_budget_curve, plot_history, plot_importances, plot_pareto
from .space import TrialSettings, settings_from_params
from .table import pareto_rows, resource_cost, trial_rows, write_csv

__all__ = ["SearchOutputs", "write_outputs", "best_recipe_payload"]


@dataclass
class SearchOutputs:
    n_complete: int
    n_trained: int
    best_number: int | None
    best_values: tuple[float, ...] | None
    best_model_path: Path | None
    best_recipe_path: Path | None
    summary_path: Path


def _best_row(rows: list[dict]) -> dict | None:
    candidates = [row for row in rows if row["state"] == "COMPLETE" and row["trained"] and row["feasible"]]
    if not candidates:
        return None
    # Highest metric; among equals the cheaper design.
    return max(candidates, key=lambda row: (row["value"], -(resource_cost(row) or 0.0)))


def best_recipe_payload(recipe, settings: TrialSettings, context) -> dict:
    """The recipe with the best trial's settings and no search section: ``fpgacompress run`` builds it."""
    from .trial import _quantization_spec

    payload = recipe.model_dump(mode="json")
    payload.pop("search", None)
    data = context.data
    payload["name"] = f"{recipe.name}-best"
    payload["model"]["topology"] = settings.topology(data.n_features, data.n_classes)
    payload["regularization"].update(
        kind=settings.regularization_kind, strength=settings.regularization_strength
    )
    if settings.target_sparsity:
        pruning = payload.get("pruning") or {"epochs_per_iteration": recipe.training.epochs}
        payload["pruning"] = {**pruning, "target_sparsity": settings.target_sparsity}
    if settings.weight_bits is not None or settings.activation_bits is not None:
        quantization = payload.get("quantization") or {}
        quantization["precision"] = _quantization_spec(settings, recipe).model_dump(mode="json")
        payload["quantization"] = quantization
    budget = recipe.search.budget
    build = payload.get("build") or {"board": budget.board}
    build.update(reuse_factor=settings.reuse_factor, tmux=budget.tmux)
    build["clock_mhz"] = context.clock_mhz
    build["board"] = budget.board
    payload["build"] = build
    return payload


def _save_best(study, best: dict, recipe, run_dir: Path, data, standardizer) -> tuple[Path, Path]:
    from .trial import TrialContext, evaluate_settings, save_trial_model, trial_directory

    context = TrialContext.from_recipe(recipe, data, standardizer, run_dir)
    trial = study.trials[best["number"]]
    settings = settings_from_params(trial.params, recipe.search.space, context.fixed)
    source = trial_directory(run_dir, best["number"])
    if not (source / "model.h5").is_file():
        # Trained on another machine (shared database, separate disks): train it again here, same seed.
        outcome = evaluate_settings(settings, context)
        if outcome.model is None:
            raise RuntimeError(f"trial {best['number']} no longer fits the budget when retrained")
        source = save_trial_model(outcome, context, best["number"])
    partial = run_dir / f"best.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    (partial / "metrics.json").write_text(
        json.dumps({key: best[key] for key in best if key != "infeasible"}, indent=2, default=str)
    )
    (partial / "recipe.yaml").write_text(
        yaml.safe_dump(best_recipe_payload(recipe, settings, context), sort_keys=False)
    )
    final = run_dir / "best"
    for _ in range(3):  # another worker of the same study may be replacing best/ at the same moment
        shutil.rmtree(final, ignore_errors=True)
        try:
            partial.rename(final)
            break
        except OSError:
            continue
    return final / "model.h5", final / "recipe.yaml"


def _importances(study, rows) -> dict[str, float]:
    """fANOVA importances of the parameters for the metric, over the trained trials only.

    Trials refused before training carry a placeholder metric (a guess's score), which would
    make "is it over budget" look like the most important parameter; they are left out.
    """
    import optuna

    from .trial import trial_outcome

    trained = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if trial_outcome(trial).get("trained") and trial.params
    ]
    if len(trained) < 4:
        return {}
    view = optuna.create_study(directions=["maximize"] * len(study.directions))
    view.add_trials(trained)
    try:
        return optuna.importance.get_param_importances(
            view,
            evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
            target=lambda trial: trial.values[0],
        )
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def _number(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_outputs(study, recipe, run_dir: Path, data, standardizer, storage_label: str) -> SearchOutputs:
    from ..boards import load_board

    spec = recipe.search
    metric = spec.objective.metric
    board = load_board(spec.budget.board)
    rows = trial_rows(study)
    write_csv(rows, run_dir / "trials.csv")
    front = pareto_rows(rows)
    write_csv(front, run_dir / "pareto.csv")
    complete = [row for row in rows if row["state"] == "COMPLETE"]
    trained = [row for row in complete if row["trained"]]
    best = _best_row(rows)
    best_model = best_recipe = None
    if best is not None:
        best_model, best_recipe = _save_best(study, best, recipe, run_dir, data, standardizer)

    figures = run_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    plot_history(rows, metric, figures / "history.png")
    plot_pareto(rows, front, metric, figures / "pareto.png")
    curve = budget_curve(rows, board.lut)
    plot_budget_curve(curve, metric, board.name, figures / "budget.png")
    importances = _importances(study, rows)
    if importances:
        plot_importances(importances, figures / "importances.png")

    ratios = [
        row["overhead_seconds"] / row["train_seconds"]
        for row in trained
        if row.get("overhead_seconds") is not None and row.get("train_seconds")
    ]
    states = {
        state: sum(row["state"] == state for row in rows)
        for state in ("COMPLETE", "FAIL", "RUNNING", "WAITING")
    }
    lines = [
        f"# Search `{study.study_name}`",
        "",
        f"Storage: `{storage_label}` · sampler `{spec.sampler}` · objective: test {metric}"
        + (
            f" (signal {spec.objective.signal_class or data.class_names[-1]} at "
            f"{spec.objective.signal_efficiency:.0%} efficiency)"
            if metric == "background_rejection"
            else ""
        )
        + (f", minimized {spec.objective.cost}" if spec.objective.cost != "none" else "")
        + f" · board {board.name} ({board.lut:,} LUT, {board.dsp:,} DSP) · budget "
        + ", ".join(
            f"{name} {getattr(spec.budget, name):.2%}"
            for name in ("lut", "ff", "dsp", "bram_18k")
            if getattr(spec.budget, name) is not None
        )
        + (f", latency {spec.budget.latency_ns:g} ns" if spec.budget.latency_ns else "")
        + f", II within {spec.budget.tmux} bunch crossing(s)",
        "",
        f"Trials: {states['COMPLETE']} complete ({len(trained)} trained, {len(complete) - len(trained)} refused "
        f"before training by the estimate), {states['FAIL']} failed (retried: "
        f"{sum(row['retry_of'] is not None for row in rows)}), {states['RUNNING']} running.",
        "",
    ]
    if ratios:
        lines += [
            f"Search overhead (sampling, estimates, bookkeeping, saving) per trained trial: median "
            f"{statistics.median(ratios):.1%} of its training time.",
            "",
        ]
    if best is not None:
        lines += [
            "## Best trial within the budget",
            "",
            "| trial | topology | test "
            + metric
            + " | LUT | FF | DSP | BRAM18 | latency (ns) | II | model |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {best['number']} | {best['topology']} | {_number(best['value'])} | {best['lut']} | {best['ff']} | "
            f"{best['dsp']} | {best['bram_18k']} | {best['latency_ns']:.1f} | {best['ii']} | `best/model.h5` |",
            "",
            "Build it: `fpgacompress run "
            + str(best_recipe)
            + "` (or `fpgacompress search ... --then-run`).",
            "",
        ]
    else:
        lines += ["No trained trial is within the budget yet.", ""]
    lines += [
        "## Pareto front (metric vs LUT + 55 x DSP, within budget)",
        "",
        "| trial | topology | test " + metric + " | LUT + 55 DSP |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {row['number']} | {row['topology']} | {_number(row['value'])} | {row['lut_plus_55_dsp']:,.0f} |"
        for row in front
    ]
    lines += ["", f"## Best {metric} vs LUT budget ({board.name})", "", "| LUT budget | best |", "|---|---|"]
    lines += [f"| {percent:g} % | {_number(value)} |" for percent, value in curve]
    lines += [
        "",
        "## Figures",
        "",
        "![history](figures/history.png)",
        "",
        "![pareto](figures/pareto.png)",
        "",
        "![budget](figures/budget.png)",
        "",
    ]
    if importances:
        lines += ["![importances](figures/importances.png)", ""]
    summary = run_dir / "summary.md"
    partial = run_dir / f".summary.md.{os.getpid()}.partial"
    partial.write_text("\n".join(lines))
    partial.replace(summary)
    return SearchOutputs(
        n_complete=len(complete),
        n_trained=len(trained),
        best_number=None if best is None else best["number"],
        best_values=None
        if best is None
        else tuple(v for v in (best["value"], best["cost"]) if v is not None),
        best_model_path=best_model,
        best_recipe_path=best_recipe,
        summary_path=summary,
    )
