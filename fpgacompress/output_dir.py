"""Output directories that never destroy input and never appear half-written.

Every command that creates a directory (``train``, ``prune``, ``autoprune``, ``quantize``, ``build``)
goes through :func:`staged_output`: all checks first (an existing ``--out`` needs ``--force``; ``--out``
may not be, hold or contain any input, nor be the current directory or one above it), then a lock
on ``--out`` so a second process writing there is refused, then the work in a hidden sibling
directory, which replaces ``--out`` only once it is complete. An error or an interruption (Ctrl-C,
SIGTERM) removes the hidden directory and leaves an existing ``--out`` untouched.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import ConfigError

__all__ = ["check_output_dir", "output_lock", "staged_output", "replace_directory", "describe_os_error"]

STAGING_MARK = ".building-"


def describe_os_error(error: OSError) -> str:
    """``'/ro/x: Read-only file system'``: the path and the reason, without a traceback."""
    reason = error.strerror or type(error).__name__
    return f"{error.filename}: {reason}" if error.filename else reason


def _is_within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def check_output_dir(out: Path, force: bool, inputs: Iterable[Path | None] = ()) -> None:
    """Refuse an output directory that would destroy something; nothing is written.

    Raises:
        ConfigError: ``out`` is a file, exists without ``force``, is the current directory (or above
            it), or is, holds or contains one of ``inputs``.
    """
    out = Path(out)
    resolved = out.resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"--out {out} is an existing file, not a directory. Choose a directory path for --out."
        )
    if _is_within(Path.cwd().resolve(), resolved) or resolved == Path.home().resolve():
        raise ConfigError(
            f"--out {out} is the current directory, one above it or the home directory; it cannot be replaced. "
            "Choose a new directory for --out."
        )
    for item in inputs:
        if item is None:
            continue
        source = Path(item).resolve()
        if _is_within(source, resolved):
            raise ConfigError(
                f"--out {out} holds the input {item}; replacing it would delete that input. Choose another --out."
            )
    ancestor = next((parent for parent in out.absolute().parents if parent.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise ConfigError(
            f"Cannot create the parent directory of --out {out} ({ancestor} is a file). Choose a directory path "
            "for --out."
        )
    if out.exists() and not force:
        raise ConfigError(f"Output directory {out} already exists. Choose another --out or pass --force.")


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


@contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``out`` (a ``.NAME.lock`` file beside it) for the block.

    Raises:
        ConfigError: another process holds the lock, or the parent of ``out`` cannot be created.
    """
    import fcntl

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"Cannot create the parent directory of --out {out} ({describe_os_error(error)}). "
            "Choose a writable location for --out."
        ) from None
    path = _lock_path(out)
    while True:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ConfigError(
                f"Cannot write in {out.parent} ({describe_os_error(error)}). Choose a writable location for --out."
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(descriptor)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ConfigError(
                    f"Another fpgacompress process is writing {out} (lock {path}). Wait for it to finish, "
                    "or choose another --out."
                ) from None
            raise
        # The holder before us may have removed the file after we opened it: lock the file on disk.
        try:
            same_file = os.path.samestat(os.fstat(descriptor), os.stat(path))
        except FileNotFoundError:
            same_file = False
        if same_file:
            break
        os.close(descriptor)
    try:
        yield path
    finally:
        with suppress(OSError):
            path.unlink()
        os.close(descriptor)


def replace_directory(complete: Path, out: Path) -> None:
    """Move the finished ``complete`` directory to ``out``; an older ``out`` is removed only afterwards."""
    previous = None
    if out.exists():
        previous = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
        out.rename(previous)
    complete.rename(out)
    if previous is not None and previous.is_symlink():
        previous.unlink()  # an --out that was a link: drop the link, never what it points to
    elif previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


@contextmanager
def staged_output(out: Path, *, force: bool, inputs: Iterable[Path | None] = ()) -> Iterator[Path]:
    """A hidden directory to write into, moved to ``out`` when the block completes.

    Raises:
        ConfigError: see :func:`check_output_dir` and :func:`output_lock`.
    """
    out = Path(out)
    inputs = list(inputs)
    check_output_dir(out, force, inputs)
    with output_lock(out):
        check_output_dir(out, force, inputs)  # another process may have finished it meanwhile
        staging = out.parent / f".{out.name}{STAGING_MARK}{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
        except OSError as error:
            raise ConfigError(
                f"Cannot write in {out.parent} ({describe_os_error(error)}). Choose a writable location for --out."
            ) from None
        try:
            yield staging
            replace_directory(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
