"""Index folders between processes: one writer at a time (a lock beside the folder), stale cached folders pruned."""
from __future__ import annotations

import os
import time
from pathlib import Path

from knowledge.retrieval import MANIFEST, folder_lock, prune_cache


def _index_folder(root: Path, name: str, age_days: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    manifest = folder / MANIFEST
    manifest.write_text("{}", encoding="utf-8")
    then = time.time() - age_days * 86400
    os.utime(manifest, (then, then))
    return folder


def test_a_saving_process_excludes_others(tmp_path: Path) -> None:
    folder = tmp_path / "index" / "10-abc"
    with folder_lock(folder, exclusive=True) as mine:
        assert mine
        with folder_lock(folder, exclusive=False, wait=False) as reader:
            assert not reader  # a reader (another open file, as another process would have) must wait
        with folder_lock(folder, exclusive=True, wait=False) as writer:
            assert not writer
    with folder_lock(folder, exclusive=False, wait=False) as a, folder_lock(folder, exclusive=False, wait=False) as b:
        assert a and b  # readers share


def test_prune_removes_only_old_unlocked_index_folders(tmp_path: Path) -> None:
    old = _index_folder(tmp_path, "10-old", 40)
    held = _index_folder(tmp_path, "10-held", 40)
    fresh = _index_folder(tmp_path, "10-new", 1)
    other = tmp_path / "not-an-index"
    other.mkdir()
    with folder_lock(held, exclusive=False):
        then = time.time() - 40 * 86400
        os.utime(tmp_path / ".10-held.lock", (then, then))  # held, but not used lately
        removed = prune_cache(tmp_path, keep_days=30)
    assert removed == [old]
    assert not old.exists() and held.exists() and fresh.exists() and other.exists()
    assert not (tmp_path / ".10-old.lock").exists()
