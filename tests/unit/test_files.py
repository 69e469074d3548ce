"""Private files in the data folder: 0700 folders, 0600 files, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nexus.files import private_dir, private_file, restrict, secure_tree, use_private_umask


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_private_dir_and_file_are_private_under_an_open_umask(tmp_path: Path, open_umask) -> None:
    folder = private_dir(tmp_path / "data" / "outbox")
    assert mode(folder) == 0o700
    assert mode(folder.parent) == 0o700
    f = private_file(tmp_path / "data" / "cache" / "x.sqlite")
    assert f.exists() and f.stat().st_size == 0
    assert mode(f) == 0o600 and mode(f.parent) == 0o700


def test_private_file_keeps_content_and_tightens_mode(tmp_path: Path, open_umask) -> None:
    p = tmp_path / "k"
    p.write_text("secret")
    assert mode(p) == 0o644
    private_file(p)
    assert p.read_text() == "secret" and mode(p) == 0o600


def test_secure_tree_tightens_an_old_installation(tmp_path: Path, open_umask) -> None:
    root = tmp_path / "data"
    (root / "markets").mkdir(parents=True)
    for name in ("nexus.db", "nexus.db-wal", "markets/history.duckdb"):
        (root / name).write_text("x")
    target = tmp_path / "elsewhere"
    target.write_text("not ours")
    (root / "link").symlink_to(target)
    assert secure_tree(root) == 5  # 2 folders, 3 files; the symlink target is untouched
    assert mode(root) == mode(root / "markets") == 0o700
    assert {mode(root / n) for n in ("nexus.db", "nexus.db-wal", "markets/history.duckdb")} == {
        0o600
    }
    assert mode(target) == 0o644
    assert secure_tree(root) == 0


def test_restrict_and_umask(tmp_path: Path, open_umask) -> None:
    p = tmp_path / "f"
    p.write_text("x")
    restrict(p, tmp_path / "missing")
    assert mode(p) == 0o600
    old = use_private_umask()
    try:
        (tmp_path / "new").write_text("x")
        (tmp_path / "newdir").mkdir()
    finally:
        os.umask(old)
    assert mode(tmp_path / "new") == 0o600 and mode(tmp_path / "newdir") == 0o700
