"""Private files in the data folder: folders 0700, files 0600.

Everything under ``NEXUS_DATA_DIR`` (databases and their ``-wal``/``-shm``, DuckDB files,
caches, rate-limit and provider state, the generated key, the mail outbox, locks) is
readable by the service user only. Two walls:

- entry points (``python -m nexus``, ``python -m ingest``, the app server, ``scripts/run.sh``)
  call :func:`use_private_umask`, so whatever a library creates there (SQLite's ``-wal``,
  DuckDB's files, requests-cache's SQLite) is born private;
- code that creates a file or folder in the data folder does so with :func:`private_dir`
  / :func:`private_file` (or :func:`restrict` after a library made it), so the rule also
  holds from a notebook, where we do not touch the umask.

:func:`secure_tree` tightens an existing data folder (installations from before this rule).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def use_private_umask() -> int:
    """Set the process umask to 077 (files 0600, folders 0700); returns the old one."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents as 0700; make sure ``path`` is 0700.

    Parents that already exist are left as they are (the data folder may live in /srv)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        _chmod(folder, DIR_MODE)
    _chmod(path, DIR_MODE)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty as 0600 if missing (parent folder 0700); make it 0600."""
    path = Path(path)
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _chmod(path, FILE_MODE)
    return path


def restrict(*paths: str | os.PathLike[str]) -> None:
    """chmod existing ``paths`` to 0700 (folders) or 0600 (files); missing ones are skipped."""
    for p in paths:
        p = Path(p)
        try:
            mode = DIR_MODE if p.is_dir() else FILE_MODE
        except OSError:
            continue
        _chmod(p, mode)


def secure_tree(root: str | os.PathLike[str]) -> int:
    """Tighten every folder and regular file under ``root`` (``root`` included); returns
    how many modes changed. Symlinks are left alone (never followed)."""
    root = Path(root)
    if not root.is_dir():
        return 0
    changed = 0
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        changed += _chmod(base, DIR_MODE)
        for name in filenames:
            p = base / name
            if p.is_symlink() or not p.is_file():
                continue
            changed += _chmod(p, FILE_MODE)
        dirnames[:] = [d for d in dirnames if not (base / d).is_symlink()]
    return changed


def _chmod(path: Path, mode: int) -> int:
    try:
        if stat.S_IMODE(path.stat().st_mode) == mode:
            return 0
        path.chmod(mode)
        return 1
    except (FileNotFoundError, PermissionError):
        return 0
