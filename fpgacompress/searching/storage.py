"""Where a study lives, on Optuna's own storage engine: a SQLite file in the run directory by default,
or any database URL (``postgresql://user@host/db``) that many machines share.

Every worker sends a heartbeat while its trial runs; a trial whose worker went silent for three
heartbeats (killed, machine lost) is marked failed and re-queued with the same parameters by
Optuna's ``RetryHeartbeatStaleTrialCallback``. Completed trials are committed as they finish, so a dying
worker never loses one. Optuna never fails a running trial that has no heartbeat yet (a worker killed
between creating the trial and its heartbeat thread's first write, a window of a sampler's whole
suggestion for GP); :func:`fail_silent_trials` does, once it is older than the grace period.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import warnings
from pathlib import Path

from ..errors import FpgacompressError

__all__ = [
    "SearchError",
    "StorageError",
    "default_storage_url",
    "redact",
    "open_storage",
    "load_or_create_study",
    "SPACE_ATTRIBUTE",
    "GRACE_HEARTBEATS",
    "quiet_optuna_warnings",
    "fail_silent_trials",
    "silent_grace_seconds",
]

SPACE_ATTRIBUTE = "fpgacompress_search"
GRACE_HEARTBEATS = 3


class SearchError(FpgacompressError, ValueError):
    """A search that cannot run as asked: a bad space, an impossible budget, a clashing study."""


class StorageError(FpgacompressError, ConnectionError):
    """The study's storage cannot be opened (unreachable server, wrong URL, unwritable file)."""


@contextlib.contextmanager
def quiet_optuna_warnings():
    """Optuna flags heartbeats and stale-trial retries as experimental; the user cannot act on that."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def default_storage_url(run_dir: Path) -> str:
    return f"sqlite:///{(Path(run_dir) / 'study.db').resolve()}"


def redact(url: str) -> str:
    """The URL with any password replaced, for messages and summaries."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _with_installed_driver(url: str) -> str:
    """``postgresql://`` with the driver that is installed: SQLAlchemy 2.1 defaults to psycopg 3,
    earlier versions to psycopg2, and the package depends on psycopg2-binary."""
    from importlib.util import find_spec

    if url.startswith("postgresql://"):
        for module, dialect in (("psycopg2", "postgresql+psycopg2"), ("psycopg", "postgresql+psycopg")):
            if find_spec(module) is not None:
                return dialect + url[len("postgresql") :]
    return url


def open_storage(url: str | None, run_dir: Path, *, heartbeat_seconds: int, max_retry: int):
    """An Optuna ``RDBStorage`` with heartbeat and retry; ``url=None`` is ``run_dir/study.db``.

    Raises:
        StorageError: the database cannot be reached or created.
    """
    import optuna
    import sqlalchemy.exc

    url = shown = url or default_storage_url(run_dir)
    if not re.match(r"^(sqlite|postgresql|postgresql\+\w+|mysql|mysql\+\w+)://", url):
        raise StorageError(
            f"Unsupported storage URL {redact(url)!r}. Expected sqlite:///PATH, postgresql://USER@HOST/DB "
            "or mysql://USER@HOST/DB."
        )
    url = _with_installed_driver(url)
    if url.startswith("sqlite"):
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        # Several local workers write one file: wait for the lock instead of failing at once.
        engine_kwargs = {"connect_args": {"timeout": 120}}
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    try:
        if url.startswith("sqlite"):
            _use_write_ahead_log(url)
        with quiet_optuna_warnings():
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_seconds,
                grace_period=GRACE_HEARTBEATS * heartbeat_seconds,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=max_retry
                ),
            )
    except (sqlalchemy.exc.SQLAlchemyError, sqlite3.Error, ImportError, ValueError, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StorageError(
            f"Cannot open the study storage {redact(shown)}: {reason}. Check that the server is running and "
            "reachable, the database exists and the user may write to it (or omit --storage for a local file)."
        ) from None
    if url.startswith("sqlite"):
        sqlalchemy.event.listen(storage.engine, "connect", _commit_without_waiting_for_the_disk)
        storage.engine.dispose()  # the connections opened so far were made without it
    return storage


def _use_write_ahead_log(url: str) -> None:
    """Put the SQLite file in write-ahead-log mode (once; the mode stays with the file).

    In the default rollback-journal mode a reader blocks the writers: with several workers and
    their heartbeat threads on one file, every write waits. In WAL mode readers never block and a
    commit appends to the log. WAL needs the workers on one machine (not a network file system),
    which the default ``study.db`` in the run directory is.
    """
    path = url.split(":///", 1)[1].split("?", 1)[0]
    with contextlib.closing(sqlite3.connect(path, timeout=120)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _commit_without_waiting_for_the_disk(dbapi_connection, connection_record) -> None:
    # In WAL mode, synchronous=NORMAL keeps every committed trial when a worker is killed (the log
    # is in the operating system's hands); only a power cut may lose the last commits, never the
    # file. It saves a disk flush per write: tens of milliseconds, a dozen times per trial.
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def silent_grace_seconds(storage) -> float:
    """How old a running trial without any heartbeat must be before it counts as dead.

    A trial's start is stamped when it is created, before its sampler's suggestion (seconds for GP)
    and before its heartbeat thread's first write (late on a starved machine), and by its worker's
    clock (machines sharing a server may differ a little): twice the grace period, six heartbeats,
    on the default SQLite file; three times on a server (90 s of clock skew tolerated with the
    default 30-s heartbeat). Keep the heartbeat well above the sampler's time per suggestion.
    """
    grace = float(storage.grace_period or 2 * storage.heartbeat_interval)
    return 2 * grace if str(storage.engine.url).startswith("sqlite") else 3 * grace


def fail_silent_trials(study, storage) -> list[int]:
    """Fail (and re-queue, like a stale trial) every running trial that never sent a heartbeat
    and started more than :func:`silent_grace_seconds` ago; returns their numbers.

    Optuna's ``fail_stale_trials`` skips such trials forever: they would stay RUNNING, count towards
    the study's trials and make every later worker stop one trial short. One query per call.
    """
    import datetime

    import optuna
    from optuna.storages._rdb.models import TrialHeartbeatModel, TrialModel
    from optuna.trial import TrialState

    oldest = datetime.datetime.now() - datetime.timedelta(seconds=silent_grace_seconds(storage))
    with contextlib.closing(storage.scoped_session()) as session:
        candidates = [
            (trial.trial_id, trial.number)
            for trial in session.query(TrialModel)
            .outerjoin(TrialHeartbeatModel, TrialHeartbeatModel.trial_id == TrialModel.trial_id)
            .filter(
                TrialModel.study_id == study._study_id,
                TrialModel.state == TrialState.RUNNING,
                TrialHeartbeatModel.trial_id.is_(None),
            )
            if trial.datetime_start is not None and trial.datetime_start < oldest
        ]
    callback = storage.get_heartbeat_stale_trial_callback()
    failed = []
    for trial_id, number in candidates:
        try:
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed or finished it
            continue
        failed.append(number)
        if callback is not None:
            with quiet_optuna_warnings():
                callback(study, storage.get_trial(trial_id))
    return failed


def load_or_create_study(storage, name: str, directions: list[str], sampler, fingerprint: dict):
    """The study ``name`` in ``storage``, created if new; refused if it was made for another search.

    ``fingerprint`` (the space, objective, budget and fixed sections) is stored with a new study;
    resuming with a different one would mix trials of two questions in one study.
    """
    import optuna

    payload = json.dumps(fingerprint, sort_keys=True)
    existing = {summary.study_name for summary in optuna.study.get_all_study_summaries(storage)}
    if name in existing:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        stored = study.user_attrs.get(SPACE_ATTRIBUTE)
        if stored != payload:
            differing = _differences(json.loads(stored) if stored else {}, fingerprint)
            raise SearchError(
                f"Study {name!r} already exists in this storage with another search "
                f"(different: {', '.join(differing) or 'unknown'}). Use another --study name or another --out "
                "directory; the existing study is left as it is."
            )
        if [direction.name.lower() for direction in study.directions] != directions:
            raise SearchError(f"Study {name!r} exists with other directions; use another --study name.")
        return study
    try:
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, directions=directions)
    except optuna.exceptions.DuplicatedStudyError:  # another worker created it a moment ago
        return load_or_create_study(storage, name, directions, sampler, fingerprint)
    study.set_user_attr(SPACE_ATTRIBUTE, payload)
    return study


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(old) | set(new))
    differing = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            differing += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            differing.append(f"{prefix}{key}")
    return differing
