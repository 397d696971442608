"""``search``: a resumable, parallel study over the recipe's ``search:`` space, then its outputs.

Each worker (a local process, or the same command on another machine sharing ``--storage``) runs
trials until the study holds ``trials`` completed ones. Before the first training the cheapest
corner of the space is estimated: a budget that even it breaks is refused at once.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .budget import constraint_values, describe_excess, is_feasible
from .space import grid_values, smallest_settings
from .storage import (
    SearchError,
    fail_silent_trials,
    load_or_create_study,
    open_storage,
    quiet_optuna_warnings,
    redact,
)

__all__ = ["SearchResult", "search", "run_worker", "study_fingerprint"]


@dataclass
class SearchResult:
    """What a search left behind: the study, its run directory and the best trial's model."""

    run_dir: Path
    study_name: str
    storage_url: str
    n_complete: int
    n_trained: int
    best_number: int | None
    best_values: tuple[float, ...] | None
    best_model_path: Path | None
    summary_path: Path
    then_run: object | None = None


def study_fingerprint(recipe) -> dict:
    """What makes two searches the same question: space, objective, budget and the fixed sections."""
    spec = recipe.search
    fixed = recipe.model_dump(mode="json", exclude={"search", "name", "build", "csim"})
    return {
        "space": spec.space.model_dump(mode="json"),
        "objective": spec.objective.model_dump(mode="json"),
        "budget": spec.budget.model_dump(mode="json"),
        "fixed": fixed,
        "sampler": spec.sampler,
        "grid_points": spec.grid_points if spec.sampler == "grid" else None,
    }


def _directions(recipe) -> list[str]:
    return ["maximize"] if recipe.search.objective.cost == "none" else ["maximize", "minimize"]


def _override(recipe, trials, sampler):
    updates = {key: value for key, value in (("trials", trials), ("sampler", sampler)) if value is not None}
    if not updates:
        return recipe
    from ..config import parse_section
    from .spec import SearchSpec

    payload = {**recipe.search.model_dump(mode="json"), **updates}
    return recipe.model_copy(update={"search": parse_section(SearchSpec, payload, "search options")})


def _sampler_seed(seed: int, worker_index: int, shared_storage: bool) -> int:
    """Distinct seeds for distinct workers; on a shared server also distinct across machines."""
    if not shared_storage:
        return seed + 1000 * worker_index
    return (
        seed + 1000 * worker_index + zlib.crc32(f"{os.uname().nodename}:{os.getpid()}".encode()) % 1_000_000
    )


def _open_study(recipe, run_dir: Path, storage_url: str | None, study_name: str, worker_index: int = 0):
    import optuna

    from .samplers import make_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the CLI says what happens, once

    spec = recipe.search
    storage = open_storage(
        storage_url, run_dir, heartbeat_seconds=spec.heartbeat_seconds, max_retry=spec.max_retry
    )

    def sampler_with_seed(offset: int):
        return make_sampler(
            spec.sampler,
            seed=_sampler_seed(spec.seed, worker_index, storage_url is not None) + offset,
            startup_trials=spec.startup_trials,
            grid=grid_values(spec.space, _fixed_settings(recipe), spec.grid_points),
            multi_objective=spec.objective.cost != "none",
        )

    study = load_or_create_study(
        storage, study_name, _directions(recipe), sampler_with_seed(0), study_fingerprint(recipe)
    )
    existing = len(study.get_trials(deepcopy=False))
    if existing:  # a resumed study must not replay the first run's random draws
        study.sampler = sampler_with_seed(existing)
    return study, storage


def _fixed_settings(recipe):
    from ..models import parse_topology
    from .space import TrialSettings

    return TrialSettings(
        hidden=parse_topology(recipe.model.topology).hidden,
        reuse_factor=recipe.build.reuse_factor if recipe.build is not None else 1,
    )


def _counts(study) -> tuple[int, int]:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    complete = sum(trial.state == TrialState.COMPLETE for trial in trials)
    return complete, len(trials) - complete


def _requeue_failed(study, max_retry: int) -> None:
    """Failed trials (Ctrl-C, SIGTERM, a crash) not yet retried go back in the queue, once each."""
    import optuna
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    # Optuna's callback appends the number of the trial it retries to the retry's "retry_history".
    retried = {number for trial in trials for number in trial.system_attrs.get("retry_history", [])}
    with quiet_optuna_warnings():
        callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        for trial in trials:
            if trial.state == TrialState.FAIL and trial.number not in retried:
                callback(study, trial)


def run_worker(
    recipe,
    run_dir: Path,
    storage_url: str | None,
    study_name: str,
    *,
    worker_index: int = 0,
    progress: bool = False,
) -> int:
    """Run trials on the study until it holds ``recipe.search.trials`` completed ones; returns trials run.

    Safe to run many times at once (local processes, batch jobs on other machines): each trial is
    claimed from the shared storage, and a SIGTERM ends the worker after failing only its trial.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # SIGTERM (a batch system's stop) fails only the trial in flight, like Ctrl-C; restored afterwards.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt) if in_main_thread else None
    _TERMINATION_REQUESTED.clear()
    try:
        return _run_trials(recipe, run_dir, storage_url, study_name, worker_index, progress)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run_trials(recipe, run_dir, storage_url, study_name, worker_index, progress) -> int:
    import optuna

    from ..training import prepare_data
    from .trial import TrialContext

    data, standardizer = prepare_data(recipe.data)
    context = TrialContext.from_recipe(recipe, data, standardizer, run_dir, progress=progress)
    study, storage = _open_study(recipe, run_dir, storage_url, study_name, worker_index)
    target = recipe.search.trials
    ran = 0
    while True:
        complete, running = _counts(study)
        if running:  # other workers' trials, or dead workers': the dead ones must not count as running
            with quiet_optuna_warnings():
                optuna.storages.fail_stale_trials(study)
            fail_silent_trials(study, storage)  # died before their first heartbeat
            complete, running = _counts(study)
        if complete + running >= target:
            break
        with quiet_optuna_warnings(), warnings.catch_warnings():
            # CMA-ES ignores constraints (said once in the docs, not after every trial).
            warnings.filterwarnings("ignore", message="Constraints have been set, but CmaEsSampler")
            # Another worker may take this trial for dead (its heartbeat late on a starved machine),
            # fail it and queue a retry: the retry runs it again, and this worker goes on.
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                study.optimize(
                    lambda trial: _run_trial_unless_terminated(trial, context), n_trials=1, gc_after_trial=False
                )
        _fail_if_terminated()
        ran += 1
    return ran


_TERMINATION_REQUESTED = threading.Event()


def _run_trial_unless_terminated(trial, context):
    from .trial import run_trial

    _fail_if_terminated()
    value = run_trial(trial, context)
    _fail_if_terminated()  # a SIGTERM swallowed during the trial still fails it
    return value


def _raise_keyboard_interrupt(signum, frame):
    # Raised wherever the interpreter is; inside a garbage-collector callback (SQLAlchemy has some)
    # Python swallows it, so the flag is also checked when the trial returns (_fail_if_terminated).
    _TERMINATION_REQUESTED.set()
    raise KeyboardInterrupt


def _fail_if_terminated() -> None:
    """End the trial as failed (and the worker) when a SIGTERM arrived while it ran."""
    if _TERMINATION_REQUESTED.is_set():
        raise KeyboardInterrupt


def _worker_process(
    recipe_json: str, run_dir: str, storage_url: str | None, study_name: str, worker_index: int
) -> None:
    """Entry point of a spawned local worker (a fresh interpreter: TensorFlow is not fork-safe)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ..recipe import Recipe

    recipe = Recipe.model_validate(json.loads(recipe_json))
    with contextlib.suppress(KeyboardInterrupt):
        run_worker(recipe, Path(run_dir), storage_url, study_name, worker_index=worker_index)


def check_budget_reachable(recipe, data, standardizer, run_dir: Path) -> None:
    """Refuse a budget that the smallest architecture of the space already breaks (no training)."""
    from .trial import TrialContext, estimate_architecture

    context = TrialContext.from_recipe(recipe, data, standardizer, run_dir)
    smallest = smallest_settings(recipe.search.space, context.fixed)
    report, _ = estimate_architecture(smallest, context)
    values = constraint_values(report, recipe.search.budget, context.board, context.clock_mhz)
    if not is_feasible(values):
        topology = smallest.topology(data.n_features, data.n_classes)
        raise SearchError(
            f"No architecture in the search space fits the budget: even the smallest ({topology}, reuse factor "
            f"{smallest.reuse_factor}, sparsity {smallest.target_sparsity or 0:g}, weight bits "
            f"{smallest.weight_bits or 'float'}) is estimated at {describe_excess(values)} on "
            f"{context.board.name}. Loosen search.budget or allow smaller networks in search.space."
        )


def search(
    recipe,
    run_dir: str | Path,
    *,
    trials: int | None = None,
    workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    sampler: str | None = None,
    then_run: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search the recipe's ``search:`` space into ``run_dir``; re-running the same call resumes.

    Args:
        recipe: a :class:`~fpgacompress.recipe.Recipe` with a ``search`` section, or its YAML path.
        run_dir: holds the study file (default storage), ``trials/``, ``best/``, the tables and plots.
        trials: completed trials to reach (overrides ``search.trials``).
        workers: local worker processes on the one study.
        storage: a database URL shared by many machines (``postgresql://user@host/db``).
        study_name: default: the recipe's name.
        sampler: overrides ``search.sampler``.
        then_run: after the search, run the recipe's chain (``fpgacompress run``) on the best trial's
            settings into ``run_dir/run``.
        log: called with one line per event (the CLI prints them).

    Raises:
        ConfigError, SearchError, StorageError: bad space, impossible budget, unreachable storage,
            a study of that name made for another search; nothing is trained and no file is lost.
    """
    from ..recipe import Recipe, load_recipe
    from ..training import prepare_data
    from .outputs import write_outputs
    from .samplers import check_sampler_available

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    if recipe.search is None:
        raise ConfigError(
            "The recipe has no search section; add `search:` (see the README's search example)."
        )
    if workers < 1:
        raise ConfigError(f"workers must be >= 1. Received: workers={workers}.")
    recipe = _override(recipe, trials, sampler)
    check_sampler_available(recipe.search.sampler)
    say = log or (lambda line: None)
    run_dir = Path(run_dir)
    name = study_name or recipe.name
    storage_url = storage
    shown_storage = redact(storage) if storage else f"{run_dir / 'study.db'}"

    data, standardizer = prepare_data(recipe.data)
    check_budget_reachable(recipe, data, standardizer, run_dir)
    study, _ = _open_study(recipe, run_dir, storage_url, name)  # refuses a clashing study before any training
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.json").write_text(json.dumps(recipe.model_dump(mode="json"), indent=2))
    _requeue_failed(study, recipe.search.max_retry)
    complete, _ = _counts(study)
    say(
        f"[search] study {name!r} in {shown_storage}: {complete} of {recipe.search.trials} trials done, "
        f"sampler {recipe.search.sampler}, {workers} worker(s)"
    )
    start = time.perf_counter()
    if workers == 1:
        run_worker(recipe, run_dir, storage_url, name, progress=progress)
    else:
        _run_local_workers(recipe, run_dir, storage_url, name, workers)
    say(f"[search] workers done in {time.perf_counter() - start:.0f} s")
    study, _ = _open_study(recipe, run_dir, storage_url, name)
    outputs = write_outputs(study, recipe, run_dir, data, standardizer, shown_storage)
    result = SearchResult(
        run_dir=run_dir,
        study_name=name,
        storage_url=shown_storage,
        n_complete=outputs.n_complete,
        n_trained=outputs.n_trained,
        best_number=outputs.best_number,
        best_values=outputs.best_values,
        best_model_path=outputs.best_model_path,
        summary_path=outputs.summary_path,
    )
    say(f"[search] summary: {outputs.summary_path}")
    if then_run:
        if outputs.best_recipe_path is None:
            raise SearchError("No trial is within the budget, so there is no best model to build from.")
        from ..runner import run

        say(f"[search] running the chain on the best trial's settings into {run_dir / 'run'}")
        result.then_run = run(outputs.best_recipe_path, run_dir / "run", progress=progress, log=log)
    return result


def _run_local_workers(recipe, run_dir: Path, storage_url, name: str, workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    recipe_json = json.dumps(recipe.model_dump(mode="json"))
    processes = [
        context.Process(target=_worker_process, args=(recipe_json, str(run_dir), storage_url, name, index))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        raise
