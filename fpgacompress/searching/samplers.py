"""The samplers a search can use, all Optuna's own; constraints reach them through the trials.

``gp`` is Gaussian-process Bayesian optimization with a log expected-improvement acquisition
(q-EI over the running trials when workers run in parallel, constrained EI when a budget is set),
the method of the talks; it needs PyTorch (``pip install "fpgacompress[gp]"``). ``cmaes`` ignores
constraints (Optuna warns); the others use them.
"""

from __future__ import annotations

from importlib.util import find_spec

from .storage import SearchError

__all__ = ["make_sampler", "check_sampler_available"]


def check_sampler_available(name: str) -> None:
    """Refuse ``gp`` before any training when PyTorch is missing."""
    if name == "gp" and find_spec("torch") is None:
        raise SearchError(
            "The gp sampler (Gaussian-process Bayesian optimization) needs PyTorch, which is not installed. "
            'Install it with `pip install "fpgacompress[gp]"`, or choose --sampler tpe, cmaes, random or grid.'
        )
    if name == "cmaes" and find_spec("cmaes") is None:
        raise SearchError(
            "The cmaes sampler needs the cmaes package: `pip install cmaes` (or choose --sampler tpe)."
        )


def make_sampler(name: str, *, seed: int, startup_trials: int, grid: dict, multi_objective: bool = False):
    import optuna

    check_sampler_available(name)
    if name == "gp":
        return optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=startup_trials, deterministic_objective=False
        )
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials, multivariate=True)
    if name == "cmaes":
        if multi_objective:
            raise SearchError(
                "The cmaes sampler is single-objective; use gp, tpe or random with objective.cost."
            )
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=startup_trials, warn_independent_sampling=False
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        if not grid:
            raise SearchError("The grid sampler needs at least one searched parameter in search.space.")
        return optuna.samplers.GridSampler(grid, seed=seed)
    raise SearchError(f"Unknown sampler {name!r}. Expected one of gp, tpe, cmaes, random, grid.")
