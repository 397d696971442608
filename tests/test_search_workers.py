"""Two worker processes on one study, one killed with SIGKILL mid-trial, the study resumed: on the
default SQLite file and on a real PostgreSQL server started here (skipped only where PostgreSQL is
not installed; ``.ci/run`` installs it)."""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

N_TRIALS = 5
RECIPE = {
    "name": "killed-worker",
    "data": {"max_train": 2000, "max_test": 600},
    "model": {"topology": "16-8-5"},
    "regularization": {"kind": "none"},
    # trials of a few seconds each, so that a poll of the storage sees one in flight even on an idle machine
    "training": {"epochs": 20, "batch_size": 128, "learning_rate": 0.01, "early_stopping_patience": None},
    "search": {
        "trials": N_TRIALS,
        "sampler": "random",
        "space": {"width": {"low": 4, "high": 16}},
        "budget": {"board": "serenity-ku15p", "lut": 0.2},
        "heartbeat_seconds": 1,
        "save_models": True,  # the outputs copy the best trial's model instead of training it again
    },
}


def _postgres_bin() -> Path | None:
    candidates = [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on a free loopback port, stopped and deleted afterwards."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no pg_ctl); .ci/run installs it with apt-get install postgresql")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="fpgacompress-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres system user
        import pwd

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server as")
        os.chown(base, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    port = _free_port()

    def pg(tool: str, *args: str) -> None:
        subprocess.run([*as_user, str(bin_dir / tool), *args], check=True, capture_output=True, timeout=120)

    try:
        pg("initdb", "-D", str(data), "-U", "search", "-A", "trust", "--no-sync")
        pg("pg_ctl", "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "start",
           "-o", f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off")
        pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "search", "study")
        yield f"postgresql://search@127.0.0.1:{port}/study"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _worker(recipe: Path, run_dir: Path, storage: str | None, log: Path) -> subprocess.Popen:
    """``fpgacompress search`` in its own process, its output into ``log`` (a pipe nobody reads
    could fill and block the worker)."""
    command = [sys.executable, "-m", "fpgacompress", "search", str(recipe), "--out", str(run_dir)]
    if storage:
        command += ["--storage", storage]
    environment = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    with log.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment)


@functools.cache
def _storage(storage_url: str):
    from fpgacompress.searching.storage import open_storage

    return open_storage(storage_url, Path(tempfile.gettempdir()), heartbeat_seconds=1, max_retry=1)


def _trials(storage_url: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=RECIPE["name"], storage=_storage(storage_url))
    return study.get_trials(deepcopy=True)


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_one_worker_mid_trial_then_resume(tmp_path: Path, storage: str | None):
    from optuna.trial import TrialState

    from fpgacompress.searching import search
    from fpgacompress.searching.storage import default_storage_url

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    run_dir = tmp_path / "run"
    url = storage or default_storage_url(run_dir)
    victim = _worker(recipe, run_dir, storage, tmp_path / "victim.log")

    def victim_running():
        if not _study_created(url):
            return None
        try:
            trials = _trials(url)
        except Exception:  # the study is being created
            return None
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING and t.user_attrs.get("worker_pid") == victim.pid]
        return running[0].number if done and running else None

    survivor = None
    try:
        _wait(lambda: _study_created(url), 120, "the study")
        survivor = _worker(recipe, run_dir, storage, tmp_path / "survivor.log")
        try:
            killed = _wait(victim_running, 240, "the first worker to be mid-trial after a completed trial")
        except AssertionError as error:
            logs = {name: (tmp_path / f"{name}.log").read_text()[-1500:] for name in ("victim", "survivor")}
            raise AssertionError(f"{error}; worker output: {logs}") from None
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        killed_at = time.monotonic()
        completed_before = {t.number: t.values for t in _trials(url) if t.state == TrialState.COMPLETE}
        survivor.wait(timeout=300)
        assert survivor.returncode == 0, (tmp_path / "survivor.log").read_text()[-2000:]
    finally:
        for process in (victim, survivor):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()

    # Three missed heartbeats make the killed trial stale; one killed before its first heartbeat is
    # failed once it is older than twice the grace period (three times on a server: clocks may differ).
    time.sleep(max(0.0, killed_at + 9.5 - time.monotonic()))
    result = search(recipe, run_dir, storage=storage)
    trials = _trials(url)
    by_number = {t.number: t for t in trials}
    for number, values in completed_before.items():  # nothing completed was lost or changed
        assert by_number[number].state == TrialState.COMPLETE and by_number[number].values == values
    assert by_number[killed].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == by_number[killed].params
    assert sum(t.state == TrialState.COMPLETE for t in trials) == N_TRIALS == result.n_complete
    assert len(trials) == N_TRIALS + 1  # the killed one is the only extra trial
    rows = (run_dir / "trials.csv").read_text().splitlines()
    assert len(rows) == N_TRIALS + 2 and any(row.split(",")[1] == "FAIL" for row in rows[1:])


def _study_created(url: str) -> bool:
    """Whether the worker has created the study, read without opening an Optuna storage on the file.

    Opening an ``RDBStorage`` creates Optuna's tables; doing that while the worker is creating them
    races it on a fresh SQLite file, so the SQLite file is only read here until the study exists.
    """
    if not url.startswith("sqlite:///"):
        return _trials_exist(url)
    database = Path(url.removeprefix("sqlite:///"))
    if not database.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)) as connection:
            row = connection.execute("SELECT COUNT(*) FROM studies WHERE study_name = ?", (RECIPE["name"],)).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def _trials_exist(url: str) -> bool:
    try:
        return bool(_trials(url))
    except Exception:
        return False


def test_killed_worker_loses_only_its_trial_on_the_default_file_storage(tmp_path):
    _kill_one_worker_mid_trial_then_resume(tmp_path, None)


def test_killed_worker_loses_only_its_trial_on_postgresql(tmp_path, postgres_url):
    _kill_one_worker_mid_trial_then_resume(tmp_path, postgres_url)


def test_sigterm_fails_only_the_trial_in_flight_and_the_rerun_retries_it(tmp_path):
    from optuna.trial import TrialState

    from fpgacompress.searching import search
    from fpgacompress.searching.storage import default_storage_url

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**RECIPE, "search": {**RECIPE["search"], "trials": 3}}))
    run_dir = tmp_path / "run"
    url = default_storage_url(run_dir)
    log = tmp_path / "worker.log"
    worker = _worker(recipe, run_dir, None, log)

    def second_trial_running():
        if not _study_created(url):
            return None
        try:
            trials = _trials(url)
        except Exception:
            return None
        running = [t.number for t in trials if t.state == TrialState.RUNNING]
        return running[0] if running and any(t.state == TrialState.COMPLETE for t in trials) else None

    try:
        stopped = _wait(second_trial_running, 240, "a trial in flight after a completed one")
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    output = log.read_text()
    assert worker.returncode == 130, output[-2000:]
    assert "Interrupted" in output
    trials = {t.number: t for t in _trials(url)}
    assert trials[stopped].state == TrialState.FAIL
    assert all(t.state == TrialState.COMPLETE for n, t in trials.items() if n != stopped)
    search(recipe, run_dir)
    trials = _trials(url)
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == stopped]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3
