"""fpgacompress search: the estimator in the loop, bad input, resume, outputs (quick, in-process)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

from fpgacompress.cli import main
from fpgacompress.errors import ConfigError
from fpgacompress.recipe import load_recipe

BASE = {
    "name": "tiny-search",
    "data": {"max_train": 1500, "max_test": 600},
    "model": {"topology": "16-8-5"},
    "regularization": {"kind": "none"},
    "training": {"epochs": 1, "batch_size": 256, "learning_rate": 0.01, "early_stopping_patience": None},
}


def write_recipe(directory: Path, search: dict, **sections) -> Path:
    path = directory / "recipe.yaml"
    path.write_text(yaml.safe_dump({**BASE, **sections, "search": search}))
    return path


def read_rows(run_dir: Path) -> list[dict]:
    with (run_dir / "trials.csv").open() as handle:
        return list(csv.DictReader(handle))


def count_trainings(monkeypatch) -> list[str]:
    """Record every call of the toolkit's ``train`` (the search imports it at call time)."""
    import fpgacompress.training as training

    calls: list[str] = []
    real_train = training.train

    def counting_train(model, *args, **kwargs):
        calls.append("-".join(str(layer.units) for layer in model.layers if hasattr(layer, "units")))
        return real_train(model, *args, **kwargs)

    monkeypatch.setattr(training, "train", counting_train)
    return calls


def test_over_budget_architectures_are_never_trained(tmp_path, monkeypatch):
    from fpgacompress.searching import search

    calls = count_trainings(monkeypatch)
    budget = {"board": "serenity-ku15p", "lut": 0.03}
    recipe = write_recipe(
        tmp_path,
        {"trials": 8, "sampler": "random", "space": {"width": {"low": 2, "high": 96, "log": True}}, "budget": budget},
    )
    result = search(recipe, tmp_path / "run")
    rows = read_rows(tmp_path / "run")
    assert len(rows) == 8 and all(row["state"] == "COMPLETE" for row in rows)
    trained = [row for row in rows if row["trained"] == "True"]
    refused = [row for row in rows if row["trained"] == "False"]
    assert trained and refused, "the space must straddle the budget for this test to mean anything"
    # One training per trained trial, none for a refused one (plus none hidden anywhere else).
    assert sorted(calls) == sorted(row["topology"].split("-", 1)[1].rsplit("-", 1)[0] + "-5" for row in trained)
    allowed = 0.03 * 522_720
    for row in refused:
        assert int(row["architecture_lut"]) > allowed and "lut" in row["infeasible"]
        assert float(row["value"]) == pytest.approx(1 / 5)  # a guess's accuracy: nothing was learnt
        assert row["accuracy"] == ""
        assert row["feasible"] == "False"
    # The samplers learn the boundary from the constraints stored with each trial, by name.
    import optuna

    study = optuna.load_study(study_name="tiny-search", storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    for trial in study.trials:
        assert set(trial.constraints) == {"lut", "ff", "dsp", "bram_18k", "ii"}
        outcome = trial.user_attrs["outcome"]
        assert (trial.constraints["lut"] > 0) == (outcome.get("lut", outcome["architecture_lut"]) > allowed)
    for row in trained:
        assert int(row["architecture_lut"]) <= allowed
        assert float(row["value"]) == float(row["accuracy"]) and 0 < float(row["accuracy"]) <= 1
    assert result.n_trained == len(trained) == len(calls)
    assert result.best_model_path is not None and result.best_model_path.is_file()
    assert (tmp_path / "run" / "best" / "model.preprocessing.json").is_file()
    best = max((row for row in trained if row["feasible"] == "True"), key=lambda row: float(row["value"]))
    assert result.best_number == int(best["number"])
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "refused before training by the estimate" in summary
    for figure in ("history", "pareto", "budget"):
        assert (tmp_path / "run" / "figures" / f"{figure}.png").stat().st_size > 1000


def test_rerunning_resumes_and_keeps_every_completed_trial(tmp_path):
    from fpgacompress.searching import search

    recipe = write_recipe(
        tmp_path,
        {"trials": 2, "sampler": "random", "space": {"width": {"low": 2, "high": 200}}, "budget": {"lut": 0.2}},
    )
    search(recipe, tmp_path / "run")
    first = read_rows(tmp_path / "run")
    search(recipe, tmp_path / "run", trials=4)
    second = read_rows(tmp_path / "run")
    assert [row["state"] for row in second] == ["COMPLETE"] * 4
    for before, after in zip(first, second[:2], strict=True):
        assert (before["param_width_1"], before["value"]) == (after["param_width_1"], after["value"])
    # a resumed run draws new points instead of replaying the first run's draws
    replay = [row["param_width_1"] for row in first]
    assert [row["param_width_1"] for row in second[2:]] != replay


def test_multi_objective_gives_a_pareto_front(tmp_path):
    from fpgacompress.searching import search

    recipe = write_recipe(
        tmp_path,
        {"trials": 4, "sampler": "random", "objective": {"metric": "mean_auc", "cost": "lut_dsp"},
         "space": {"width": {"low": 2, "high": 32, "log": True}}, "budget": {"lut": 0.2}},
    )
    search(recipe, tmp_path / "run")
    rows = read_rows(tmp_path / "run")
    for row in rows:
        assert float(row["cost"]) == pytest.approx(int(row["lut"]) + 55 * int(row["dsp"]))
        assert float(row["value"]) == pytest.approx(float(row["mean_auc"]))
    with (tmp_path / "run" / "pareto.csv").open() as handle:
        front = list(csv.DictReader(handle))
    assert front
    costs = [float(row["lut_plus_55_dsp"]) for row in front]
    values = [float(row["value"]) for row in front]
    assert costs == sorted(costs) and values == sorted(values)  # more resources buy more AUC on a front


@pytest.mark.slow
def test_compression_settings_reach_the_trained_model(tmp_path):
    from fpgacompress.model_io import load_model
    from fpgacompress.pruning import PruningMask
    from fpgacompress.searching import search

    recipe = write_recipe(
        tmp_path,
        {"trials": 2, "sampler": "random", "space": {"weight_bits": {"low": 4, "high": 6},
                                                     "target_sparsity": {"low": 0.5, "high": 0.6}},
         "budget": {"lut": 0.2}},
        pruning={"fraction_per_iteration": 0.5, "epochs_per_iteration": 1, "max_iterations": 2},
        quantization={"epochs": 1},
    )
    result = search(recipe, tmp_path / "run")
    model = load_model(result.best_model_path)
    assert any(type(layer).__name__ == "QDense" for layer in model.layers)
    assert PruningMask.from_model(model).sparsity >= 0.45
    settings = yaml.safe_load((tmp_path / "run" / "best" / "recipe.yaml").read_text())
    assert "search" not in settings and settings["pruning"]["target_sparsity"] >= 0.5
    assert load_recipe(tmp_path / "run" / "best" / "recipe.yaml").build.board == "serenity-ku15p"


@pytest.mark.parametrize(
    ("search_section", "message"),
    [
        ({"space": {"width": {"low": 64, "high": 8}}}, "search.space.width: the range is empty"),
        ({"space": {"regularization": {"kinds": ["l1"], "strength": {"low": 1e-3, "high": 1e-5}}}},
         "empty or inverted"),
        ({"sampler": "annealing"}, "search.sampler"),
        ({"budget": {"lut": 1.5}}, "search.budget.lut"),
    ],
)
def test_bad_search_sections_are_refused_when_read(tmp_path, search_section, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_recipe(write_recipe(tmp_path, search_section))


def test_impossible_budget_is_one_error_line_before_any_training(tmp_path, capsys, monkeypatch):
    calls = count_trainings(monkeypatch)
    recipe = write_recipe(tmp_path, {"space": {"width": {"low": 16, "high": 64}}, "budget": {"lut": 0.001}})
    assert main(["search", str(recipe), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: No architecture in the search space fits the budget: even the smallest (16-16-5")
    assert "\n" not in error and calls == []
    assert not (tmp_path / "run" / "study.db").exists()


def test_unreachable_storage_is_one_error_line(tmp_path, capsys):
    recipe = write_recipe(tmp_path, {"space": {"width": {"low": 2, "high": 8}}, "budget": {"lut": 0.2}})
    url = "postgresql://search:secret@127.0.0.1:9/nothing"  # port 9 (discard): nothing listens
    assert main(["search", str(recipe), "--out", str(tmp_path / "run"), "--storage", url]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Cannot open the study storage postgresql://search:***@127.0.0.1:9/nothing")
    assert "secret" not in error and "\n" not in error


def test_study_name_taken_by_another_search_is_refused_and_kept(tmp_path, capsys):
    from fpgacompress.searching import search

    first = write_recipe(tmp_path, {"trials": 2, "sampler": "random", "space": {"width": {"low": 2, "high": 8}},
                                    "budget": {"lut": 0.2}})
    search(first, tmp_path / "run", study_name="shared")
    before = (tmp_path / "run" / "trials.csv").read_text()
    other = tmp_path / "other"
    other.mkdir()
    second = write_recipe(other, {"trials": 2, "sampler": "random", "space": {"width": {"low": 2, "high": 16}},
                                  "budget": {"lut": 0.2}})
    assert main(["search", str(second), "--out", str(tmp_path / "run"), "--study", "shared"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Study 'shared' already exists in this storage with another search")
    assert "space.width.high" in error and "\n" not in error
    assert (tmp_path / "run" / "trials.csv").read_text() == before
    search(first, tmp_path / "run", study_name="shared")  # the same search still resumes
    assert len(read_rows(tmp_path / "run")) == 2


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="PyTorch is installed here")
def test_gp_without_pytorch_says_what_to_install(tmp_path, capsys):
    recipe = write_recipe(tmp_path, {"sampler": "gp", "space": {"width": {"low": 2, "high": 8}}})
    assert main(["search", str(recipe), "--out", str(tmp_path / "run")]) == 2
    assert 'pip install "fpgacompress[gp]"' in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason='needs PyTorch: pip install "fpgacompress[gp]"')
def test_gp_sampler_learns_the_budget_boundary(tmp_path):
    from fpgacompress.searching import search

    recipe = write_recipe(
        tmp_path,
        {"trials": 7, "sampler": "gp", "startup_trials": 3,
         "space": {"width": {"low": 2, "high": 128, "log": True}}, "budget": {"lut": 0.01}},
    )
    search(recipe, tmp_path / "run")
    rows = read_rows(tmp_path / "run")
    assert len(rows) == 7 and all(row["state"] == "COMPLETE" for row in rows)


def test_background_rejection_at_fixed_signal_efficiency():
    from fpgacompress.searching.metrics import background_rejection

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 20_000)
    separated = np.where(labels == 1, 0.9, 0.1) + rng.normal(0, 0.01, labels.size)
    scores = np.stack([1 - separated, separated], axis=1)
    assert background_rejection(scores, labels, 1, 0.5) == 1.0
    guess = rng.random(labels.size)
    rejection = background_rejection(np.stack([1 - guess, guess], axis=1), labels, 1, 0.3)
    assert rejection == pytest.approx(0.7, abs=0.02)  # a guess rejects 1 - efficiency of the background


@pytest.mark.slow
def test_then_run_builds_the_best_trial_with_the_whole_chain(tmp_path):
    from fpgacompress.searching import search

    recipe = write_recipe(
        tmp_path,
        {"trials": 2, "sampler": "random", "space": {"width": {"low": 2, "high": 8}}, "budget": {"lut": 0.2}},
        csim=False,
    )
    result = search(recipe, tmp_path / "run", then_run=True)
    chain = result.then_run
    assert chain.stages["train"].results["topology"] == read_rows(tmp_path / "run")[result.best_number]["topology"]
    assert (tmp_path / "run" / "run" / "build" / "hls_project").is_dir()
    assert chain.report["fits"] is True and chain.stages["report"].results["totals"]["lut"] > 0


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_trial_whose_worker_died_before_its_first_heartbeat_is_failed_and_retried(tmp_path):
    """Optuna's stale check skips a running trial without a heartbeat row; left RUNNING it would count
    towards the study's trials forever and every later worker would stop one trial short."""
    import datetime

    import optuna
    from optuna.distributions import IntDistribution
    from optuna.trial import FrozenTrial, TrialState

    from fpgacompress.searching.storage import fail_silent_trials, open_storage

    storage = open_storage(None, tmp_path, heartbeat_seconds=1, max_retry=1)
    study = optuna.create_study(study_name="silent", storage=storage)
    started = datetime.datetime.now() - datetime.timedelta(seconds=10)
    study.add_trial(
        FrozenTrial(
            number=0, trial_id=0, state=TrialState.RUNNING, value=None, values=None,
            datetime_start=started, datetime_complete=None, params={"width": 7},
            distributions={"width": IntDistribution(4, 16)}, user_attrs={}, system_attrs={},
            intermediate_values={},
        )
    )
    just_started = study.ask()  # no heartbeat yet either, but within the grace period: alive
    optuna.storages.fail_stale_trials(study)
    assert study.trials[0].state == TrialState.RUNNING  # Optuna alone leaves it running

    assert fail_silent_trials(study, storage) == [0]
    trials = study.get_trials(deepcopy=False)
    assert trials[0].state == TrialState.FAIL
    assert trials[just_started.number].state == TrialState.RUNNING
    retry = [trial for trial in trials if trial.system_attrs.get("failed_trial") == 0]
    assert len(retry) == 1 and retry[0].state == TrialState.WAITING and retry[0].params == {"width": 7}
    assert fail_silent_trials(study, storage) == []  # once only
