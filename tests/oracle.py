"""Torch's own harness as the oracle: recorded outcomes per torch release, or a live run.

A recording (``fixtures/oracle/torch-X.Y.Z.json``, written by ``fixtures/record_upstream.py``)
holds, per sample, the sample's content hash and the oracle's outcomes. The installed torch's
recording is used when it exists; a sample whose content changed since it was recorded is a
failure that says how to re-record, never a silent comparison with stale outcomes. Without a
recording for the installed torch (or with ``TESTING_LIVE_ORACLE=1``) the oracle runs live.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

from helpers import FIXTURES, outcomes

ORACLE_DIR = FIXTURES / "oracle"


def release(version: Optional[str] = None) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``: a recording serves every build of a release (the installed
    torch's by default, as testing._core.versions reads it)."""
    from testing._core import versions

    return version.split("+")[0] if version else versions.release()


def recording_path(version: Optional[str] = None) -> Path:
    return ORACLE_DIR / f"torch-{release(version)}.json"


def content_hash(sample: Path) -> str:
    return hashlib.sha256(sample.read_bytes()).hexdigest()


class StaleRecording(AssertionError):
    pass


def recorded(sample: str, version: Optional[str] = None) -> Optional[dict[str, tuple[str, str]]]:
    """The recorded oracle outcomes of ``sample`` for a torch release, or None when there are none."""
    path = recording_path(version)
    if not path.exists():
        return None
    entry = json.loads(path.read_text())["samples"].get(sample)
    if entry is None:
        return None
    if entry["sha256"] != content_hash(FIXTURES / sample):
        raise StaleRecording(
            f"{sample} changed since its oracle outcomes were recorded for torch {release(version)}; "
            f"re-record: python tests/fixtures/record_upstream.py {sample}")
    return {k: tuple(v) for k, v in entry["outcomes"].items()}


def live() -> bool:
    """``TESTING_LIVE_ORACLE=1``: torch's harness runs live and no recording is read."""
    return os.environ.get("TESTING_LIVE_ORACLE") == "1"


def upstream_outcomes(sample: str) -> dict[str, tuple[str, str]]:
    """Torch's harness on a sample: the installed release's recording, else a live run."""
    if not live():
        found = recorded(sample)
        if found is not None:
            return found
    return outcomes(FIXTURES / sample, upstream=True)
