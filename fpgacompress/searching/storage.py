"""Where a study lives, on Optuna's own storage engine: a SQLite file in the run directory by default,
or any database URL (``postgresql://user@host/db``) that many machines share.

Every worker sends a heartbeat while its trial runs; a trial whose worker went silent for three
heartbeats (killed, machine lost) is marked failed and re-queued with the same parameters by
Optuna's ``RetryHeartbeatStaleTrialCallback``. Completed trials are committed as they finish, so a dying
worker never loses one.

Example:
    >>> storage = open_storage(None, Path("runs/search"), heartbeat_seconds=30, max_retry=1)
    >>> study = load_or_create_study(storage, "jets", ["maximize"], sampler, fingerprint="...")
"""

from __future__ import annotations

import contextlib
import json
import re
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
        with quiet_optuna_warnings():
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_seconds,
                grace_period=GRACE_HEARTBEATS * heartbeat_seconds,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=max_retry
                ),
            )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StorageError(
            f"Cannot open the study storage {redact(shown)}: {reason}. Check that the server is running and "
            "reachable, the database exists and the user may write to it (or omit --storage for a local file)."
        ) from None


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
