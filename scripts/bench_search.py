"""Benchmark of ``fpgacompress search``: the talks' experiment on the shared jets.

1. A grid over three hidden-layer widths (5 x 5 x 5 = 125 networks, 2..32 log-spaced), each trained
   by the real search (``sampler: grid``): short float training on a subsample, test accuracy, and
   the estimate on a Serenity KU15P at the build's default precision (ap_fixed<16,6>).
2. GP-BO, TPE and random search on the same space, >= 3 seeds each, with the grid's results as the
   lookup table: a sampler's trial costs a table lookup of a real training result (the sampled
   widths snapped to the nearest grid width in log scale). Reported: trainings to reach the grid's
   best accuracy within 0.2 points.
3. Best accuracy under LUT budgets of 0.5, 1, 2, 5 % of the KU15P, searched with the budget as a
   constraint (over-budget points are not trained, as in the product).
4. Wall time of K = 1, 2, 4 local workers to the same number of real trials.
5. Search overhead (sampling, estimates, bookkeeping) against training time, from the grid's trials
   and from the GP sampler's own time per suggestion.
6. ``--phases overhead``: the overhead measured from the outside, at the benchmark's training size and at
   a realistic one, side by side in one run: a fresh grid study per size, and for each trial after the
   first the wall time from the previous trial's completion to its own (Optuna's timestamps: the
   worker's whole loop, storage round trips, heartbeat, stale-trial checks, sampling, both estimates,
   saving the model) minus its ``train_seconds`` (building, training, scoring the network).

Usage (results in OUT/results.json and printed as Markdown; re-running resumes the grid):
    nice -n 10 python scripts/bench_search.py --out runs/bench_search
    nice -n 10 python scripts/bench_search.py --out runs/bench_overhead --phases overhead
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import time
from pathlib import Path

import yaml

WIDTHS = (2, 4, 8, 16, 32)
SAMPLERS = ("gp", "tpe", "random")
BUDGET_PERCENTS = (0.5, 1.0, 2.0, 5.0)
KU15P_LUT = 522_720


def recipe_payload(args, sampler: str, trials: int, lut_budget: float = 1.0) -> dict:
    shared = Path(os.environ.get("FPGACOMPRESS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    return {
        "name": "bench-search",
        "data": {
            "path": str(shared / "data" / "jets_hlf.npz"),
            "max_train": args.max_train,
            "max_test": args.max_test,
        },
        "model": {"topology": "16-8-8-8-5"},
        "regularization": {"kind": "none"},
        "training": {
            "epochs": args.epochs,
            "batch_size": 512,
            "learning_rate": 3e-3,
            "early_stopping_patience": None,
        },
        "search": {
            "trials": trials,
            "sampler": sampler,
            "grid_points": len(WIDTHS),
            "space": {"width": {"low": WIDTHS[0], "high": WIDTHS[-1], "log": True}},
            "budget": {"board": "serenity-ku15p", "lut": lut_budget},
            "save_models": False,
        },
    }


def write_recipe(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(payload, sort_keys=False))
    return path


def run_grid(args) -> list[dict]:
    from fpgacompress.searching import search

    out = Path(args.out) / "grid"
    recipe = write_recipe(Path(args.out) / "grid_recipe.yaml", recipe_payload(args, "grid", len(WIDTHS) ** 3))
    start = time.perf_counter()
    search(recipe, out)
    print(f"grid: {time.perf_counter() - start:.0f} s (this call; resumed calls add up)")
    with (out / "trials.csv").open() as handle:
        return [row for row in csv.DictReader(handle) if row["state"] == "COMPLETE"]


def snap(width: float) -> int:
    return min(WIDTHS, key=lambda grid_width: abs(math.log(grid_width) - math.log(width)))


def lookup_table(rows: list[dict]) -> dict[tuple[int, int, int], dict]:
    table = {}
    for row in rows:
        key = tuple(int(row[f"param_width_{i}"]) for i in (1, 2, 3))
        table[key] = {
            "accuracy": float(row["accuracy"]),
            "lut": int(row["lut"]),
            "dsp": int(row["dsp"]),
            "train_seconds": float(row["train_seconds"]),
        }
    return table


def lookup_search(
    table,
    sampler_name: str,
    seed: int,
    n_trials: int,
    lut_allowed: float | None = None,
    target: float | None = None,
) -> dict:
    """One sampler run on the table; returns trainings to reach ``target`` and the best within budget."""
    import optuna

    from fpgacompress.searching.samplers import make_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = make_sampler(sampler_name, seed=seed, startup_trials=8, grid={})
    study = optuna.create_study(direction="maximize", sampler=sampler)
    trainings, reached, best, sample_seconds = 0, None, None, []
    for _ in range(n_trials):
        start = time.perf_counter()
        trial = study.ask()
        widths = tuple(
            snap(trial.suggest_int(f"width_{i}", WIDTHS[0], WIDTHS[-1], log=True)) for i in (1, 2, 3)
        )
        sample_seconds.append(time.perf_counter() - start)
        entry = table[widths]
        if lut_allowed is not None:
            excess = entry["lut"] / lut_allowed - 1.0
            trial.set_constraint("lut", excess)
            if excess > 0:  # refused by the estimate: not trained, scored as a guess
                study.tell(trial, 0.2)
                continue
        trainings += 1
        study.tell(trial, entry["accuracy"])
        best = entry["accuracy"] if best is None else max(best, entry["accuracy"])
        if target is not None and reached is None and entry["accuracy"] >= target:
            reached = trainings
            if lut_allowed is None:
                break
    return {
        "trainings_to_target": reached,
        "best": best,
        "trainings": trainings,
        "sample_seconds": sample_seconds,
    }


def run_samplers(args, table) -> dict:
    grid_best = max(entry["accuracy"] for entry in table.values())
    target = grid_best - 0.002
    results = {"grid_best": grid_best, "target": target, "grid_trainings": len(table), "runs": {}}
    for sampler in SAMPLERS:
        runs = [lookup_search(table, sampler, seed, len(table), target=target) for seed in range(args.seeds)]
        results["runs"][sampler] = [
            {
                "seed": seed,
                "trainings_to_target": run["trainings_to_target"],
                "best": run["best"],
                "median_sample_seconds": statistics.median(run["sample_seconds"]),
                "max_sample_seconds": max(run["sample_seconds"]),
            }
            for seed, run in enumerate(runs)
        ]
        print(sampler, [run["trainings_to_target"] for run in runs])
    return results


def run_budgets(args, table) -> dict:
    rows = {}
    for percent in BUDGET_PERCENTS:
        allowed = percent / 100 * KU15P_LUT
        within = [entry["accuracy"] for entry in table.values() if entry["lut"] <= allowed]
        rows[percent] = {
            "grid_points_within": len(within),
            "grid_best": max(within) if within else None,
            "samplers": {},
        }
        for sampler in SAMPLERS:
            runs = [
                lookup_search(
                    table,
                    sampler,
                    seed,
                    args.budget_trials,
                    lut_allowed=allowed,
                    target=rows[percent]["grid_best"],
                )
                for seed in range(args.seeds)
            ]
            rows[percent]["samplers"][sampler] = [
                {
                    "seed": seed,
                    "best": run["best"],
                    "trainings": run["trainings"],
                    "trainings_to_grid_best": run["trainings_to_target"],
                }
                for seed, run in enumerate(runs)
            ]
        print(
            f"budget {percent}%:",
            rows[percent]["grid_best"],
            {s: [r["best"] for r in v] for s, v in rows[percent]["samplers"].items()},
        )
    return rows


def run_workers(args) -> dict:
    from fpgacompress.searching import search

    walls = {}
    for workers in (1, 2, 4):
        out = Path(args.out) / f"workers_{workers}"
        recipe = write_recipe(
            Path(args.out) / f"workers_{workers}.yaml", recipe_payload(args, "random", args.worker_trials)
        )
        start = time.perf_counter()
        result = search(recipe, out, workers=workers)
        walls[workers] = {"wall_seconds": time.perf_counter() - start, "trials": result.n_complete}
        print(f"K={workers}: {walls[workers]}")
    return walls


def overhead(rows: list[dict]) -> dict:
    trained = [row for row in rows if row["trained"] == "True"]
    ratio = [float(row["overhead_seconds"]) / float(row["train_seconds"]) for row in trained]
    return {
        "trials": len(trained),
        "median_train_seconds": statistics.median(float(row["train_seconds"]) for row in trained),
        "median_overhead_seconds": statistics.median(float(row["overhead_seconds"]) for row in trained),
        "median_estimate_seconds": statistics.median(float(row["estimate_seconds"]) for row in trained),
        "median_sample_seconds": statistics.median(float(row["sample_seconds"]) for row in trained),
        "median_ratio": statistics.median(ratio),
        "max_ratio": max(ratio),
    }


def measure_overhead(args, label: str, max_train: int, epochs: int) -> dict:
    """Per-trial overhead of a fresh grid search at one training size, from Optuna's timestamps."""
    import optuna

    from fpgacompress.searching import search

    sized = argparse.Namespace(**{**vars(args), "max_train": max_train, "epochs": epochs})
    payload = recipe_payload(sized, "grid", args.overhead_trials)
    payload["name"] = f"overhead-{label}"
    payload["search"]["save_models"] = True
    out = Path(args.out) / f"overhead_{label}"
    recipe = write_recipe(Path(args.out) / f"overhead_{label}.yaml", payload)
    start = time.perf_counter()
    search(recipe, out)
    wall = time.perf_counter() - start
    study = optuna.load_study(study_name=payload["name"], storage=f"sqlite:///{out.resolve() / 'study.db'}")
    trials = sorted(
        (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.number
    )
    per_trial = []
    for previous, trial in zip(trials[:-1], trials[1:], strict=True):  # the first also pays warm-up
        loop = (trial.datetime_complete - previous.datetime_complete).total_seconds()
        outcome = trial.user_attrs["outcome"]
        train = outcome["train_seconds"]
        per_trial.append(
            {
                "number": trial.number,
                "loop_seconds": loop,
                "train_seconds": train,
                "overhead_seconds": loop - train,
                "inside_objective_seconds": outcome["overhead_seconds"],
                "estimate_seconds": outcome["estimate_seconds"],
                "sample_seconds": outcome["sample_seconds"],
            }
        )
    loops = sum(row["loop_seconds"] for row in per_trial)
    train = sum(row["train_seconds"] for row in per_trial)
    ratios = [row["overhead_seconds"] / row["train_seconds"] for row in per_trial]
    return {
        "label": label,
        "max_train": max_train,
        "epochs": epochs,
        "trials_measured": len(per_trial),
        "median_train_seconds": statistics.median(row["train_seconds"] for row in per_trial),
        "median_overhead_seconds": statistics.median(row["overhead_seconds"] for row in per_trial),
        "median_estimate_seconds": statistics.median(row["estimate_seconds"] for row in per_trial),
        "median_sample_seconds": statistics.median(row["sample_seconds"] for row in per_trial),
        "overhead_fraction_total": (loops - train) / train,
        "overhead_fraction_median": statistics.median(ratios),
        "overhead_fraction_max": max(ratios),
        "once_per_call_seconds": wall - loops,  # data, study, budget check, first trial, outputs
        "per_trial": per_trial,
    }


def run_overhead(args) -> dict:
    sizes = [
        ("benchmark", args.max_train, args.epochs),
        ("realistic", args.realistic_max_train, args.realistic_epochs),
    ]
    results = {}
    for label, max_train, epochs in sizes:
        if label not in args.overhead_sizes.split(","):
            continue
        results[label] = measure_overhead(args, label, max_train, epochs)
        summary = {key: value for key, value in results[label].items() if key != "per_trial"}
        print(json.dumps(summary, indent=2))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench_search")
    parser.add_argument("--max-train", type=int, default=5_000)
    parser.add_argument("--max-test", type=int, default=3_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-trials", type=int, default=30)
    parser.add_argument("--worker-trials", type=int, default=8)
    parser.add_argument("--overhead-trials", type=int, default=8)
    parser.add_argument("--overhead-sizes", default="benchmark,realistic")
    parser.add_argument("--realistic-max-train", type=int, default=40_000)
    parser.add_argument("--realistic-epochs", type=int, default=5)
    parser.add_argument("--phases", default="grid,samplers,budgets,workers")
    args = parser.parse_args()
    phases = args.phases.split(",")
    results_path = Path(args.out) / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    results["settings"] = vars(args)
    if "overhead" in phases:
        results.setdefault("overhead_measured", {}).update(run_overhead(args))
    if not {"grid", "samplers", "budgets"} & set(phases):
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2))
        return
    rows = run_grid(args)
    table = lookup_table(rows)
    results["overhead"] = overhead(rows)
    if "samplers" in phases:
        results["samplers"] = run_samplers(args, table)
    if "budgets" in phases:
        results["budgets"] = run_budgets(args, table)
    if "workers" in phases:
        results["workers"] = run_workers(args)
    results_path.write_text(json.dumps(results, indent=2))
    print(json.dumps(results["overhead"], indent=2))


if __name__ == "__main__":
    main()
