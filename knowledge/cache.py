"""Where kgreason keeps caches (retrieval indexes, endpoint label indexes, the chat's example questions)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The one root of every cache: $KGREASON_CACHE, else $XDG_CACHE_HOME/kgreason, else ~/.cache/kgreason."""
    if os.environ.get("KGREASON_CACHE"):
        return Path(os.environ["KGREASON_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kgreason"


def default_cache_dir() -> Path:
    """Where cached retrieval indexes live: `cache_root()/index`."""
    return cache_root() / "index"
