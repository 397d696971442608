"""Completed pipeline stages on disk: fingerprinted, written atomically, skipped when unchanged.

A stage writes into ``NAME.partial/`` and is renamed to ``NAME/`` only when it finished, with a
``stage.json`` holding its fingerprint (a hash of its own settings and of the stage before it)
and its results; the fingerprint also holds the versions of fpgacompress and its stack, so an
upgrade re-runs everything. Re-running a recipe skips every stage whose fingerprint is unchanged, so editing
the build section does not retrain, and an interrupted run (Ctrl-C) loses only the stage in flight.

Example:
    >>> cache = StageCache("runs/jet")
    >>> fingerprint = stage_fingerprint({"epochs": 30}, upstream="")
    >>> done = cache.completed("train", fingerprint)     # a StageRecord, or None: run it
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

__all__ = ["StageRecord", "StageCache", "stage_fingerprint"]

RECORD_FILE = "stage.json"
PARTIAL_SUFFIX = ".partial"


# A new fpgacompress or a new stack (hls4ml writes other firmware, TensorFlow trains differently)
# makes every cached stage stale.
STACK_PACKAGES = ("fpgacompress", "hls4ml", "tensorflow", "qkeras", "tensorflow-model-optimization", "numpy")


@functools.lru_cache(maxsize=1)
def stack_versions() -> dict[str, str]:
    """The installed versions of fpgacompress and the stack it drives (read once per process)."""
    versions = {}
    for package in STACK_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def stage_fingerprint(settings: object, upstream: str) -> str:
    """A short hash of a stage's settings (JSON-serializable), its upstream stage's fingerprint and
    the versions of fpgacompress and its stack."""
    payload = json.dumps(
        {"settings": settings, "upstream": upstream, "versions": stack_versions()},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StageRecord:
    """What a completed stage left behind: where, with which fingerprint, and its results."""

    name: str
    fingerprint: str
    directory: Path
    results: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> str:
        payload = asdict(self)
        payload["directory"] = self.directory.name
        return json.dumps(payload, indent=2, default=str)


class StageCache:
    """The stage directories of one run directory."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    def directory(self, name: str) -> Path:
        return self.run_dir / name

    def completed(self, name: str, fingerprint: str) -> StageRecord | None:
        """The record of stage ``name`` if it completed with this fingerprint, else ``None``."""
        record_path = self.directory(name) / RECORD_FILE
        if not record_path.is_file():
            return None
        try:
            payload = json.loads(record_path.read_text())
        except json.JSONDecodeError:
            return None
        if payload.get("fingerprint") != fingerprint:
            return None
        return StageRecord(
            name=name,
            fingerprint=fingerprint,
            directory=self.directory(name),
            results=payload.get("results", {}),
            seconds=float(payload.get("seconds", 0.0)),
        )

    @contextmanager
    def writing(self, name: str) -> Iterator[Path]:
        """A fresh ``NAME.partial/`` directory; the caller commits it with :meth:`commit`.

        On any exception (Ctrl-C included) the partial directory is removed and the completed
        stages are left exactly as they were.
        """
        partial = self.run_dir / f"{name}{PARTIAL_SUFFIX}"
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        try:
            yield partial
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    def commit(
        self, name: str, fingerprint: str, partial: Path, results: dict, seconds: float
    ) -> StageRecord:
        """Record the stage's results and move its directory into place, replacing an older one."""
        record = StageRecord(name, fingerprint, self.directory(name), results, seconds)
        (partial / RECORD_FILE).write_text(record.to_json())
        final = self.directory(name)
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
        return record

    def discard(self, name: str) -> None:
        """Remove a stage that the recipe no longer asks for (so summaries never show stale results)."""
        shutil.rmtree(self.directory(name), ignore_errors=True)
