"""What the last run left for the next one: file durations (for --shard) and failed ids (--rerun-failed)."""

from __future__ import annotations

import json
from pathlib import Path

CACHE_DIR = Path(".testing-cache")


def _load(name: str) -> dict:
    try:
        return json.loads((CACHE_DIR / name).read_text())
    except (OSError, ValueError):
        return {}


def _save(name: str, data: dict) -> None:
    CACHE_DIR.mkdir(exist_ok=True)
    (CACHE_DIR / name).write_text(json.dumps(data, indent=1, sort_keys=True))


def durations() -> dict[str, float]:
    return _load("durations.json")


def save_durations(new: dict[str, float]) -> None:
    _save("durations.json", {**durations(), **new})


def last_failed() -> dict[str, list[str]]:
    return _load("lastfailed.json")


def save_last_failed(failed: dict[str, list[str]]) -> None:
    _save("lastfailed.json", failed)
