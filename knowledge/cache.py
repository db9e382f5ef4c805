"""Where kgreason keeps caches (retrieval indexes, endpoint label indexes)."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """Where cached indexes live: $KGREASON_CACHE, else $XDG_CACHE_HOME/kgreason, else ~/.cache/kgreason."""
    if os.environ.get("KGREASON_CACHE"):
        return Path(os.environ["KGREASON_CACHE"]) / "index"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kgreason" / "index"
