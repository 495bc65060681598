"""Expectations: what a fork knows fails (or must be skipped, or needs longer) on its device.

A TOML file of ``[[expectation]]`` tables, each keyed by an exact test id (``Class.test``, never a
substring)::

    [[expectation]]
    id = "TestFooXPU.test_bar_xpu"            # required, exact
    mode = "xfail"                            # skip | xfail | strict-xfail | timeout
    reason = "xccl lacks all_to_all_single"   # required
    device = "xpu"                            # optional: a name or a list; default every device
    torch = ">=2.12,<2.14"                    # optional: torch version range
    file = "test/distributed/test_foo.py"     # optional: limit to one file
    timeout = 900                             # mode = "timeout" only: seconds
    link = "https://github.com/org/repo/issues/1"   # optional

``xfail``: a failure is expected; an unexpected pass is reported but does not fail the run.
``strict-xfail``: an unexpected pass fails the run. ``skip``: the test does not run.
``timeout``: the test's rank timeout becomes ``timeout`` seconds.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Optional

MODES = ("skip", "xfail", "strict-xfail", "timeout")
_KEYS = {"id", "mode", "reason", "device", "torch", "file", "timeout", "link"}
_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*([0-9][0-9a-zA-Z.*+]*)\s*$")


class ExpectationError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Expectation:
    id: str
    mode: str
    reason: str
    devices: tuple[str, ...] = ()
    torch: str = ""
    file: str = ""
    timeout: Optional[float] = None
    link: str = ""
    source: str = ""

    def applies(self, device: Optional[str], torch_version: str, file: Optional[str]) -> bool:
        if self.devices and device not in self.devices:
            return False
        if self.file and file is not None and Path(file).resolve() != Path(self.file).resolve():
            return False
        return version_in_range(torch_version, self.torch)


def _release(version: str) -> tuple[int, ...]:
    """``"2.13.0+cpu"`` -> (2, 13, 0); pre-release tags end the numeric part."""
    parts = []
    for piece in version.split("+")[0].split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def version_in_range(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies a comma-separated spec such as ``">=2.12,<2.14"`` or ``"==2.13.*"``."""
    have = _release(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op, wanted = _CLAUSE.match(clause).groups()
        if wanted.endswith(".*"):
            prefix = _release(wanted[:-2])
            same = have[: len(prefix)] == prefix
            if (op == "==" and not same) or (op == "!=" and same):
                return False
            continue
        want = _release(wanted)
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]
        if not ok:
            return False
    return True


def _entry(raw: dict, index: int, source: str) -> Expectation:
    where = f"{source}: expectation #{index + 1}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise ExpectationError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("id", "mode", "reason"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ExpectationError(f"{where}: '{key}' is required (a non-empty string)")
    if raw["mode"] not in MODES:
        raise ExpectationError(f"{where}: mode {raw['mode']!r} is not one of {', '.join(MODES)}")
    if "." not in raw["id"] or " " in raw["id"]:
        raise ExpectationError(f"{where}: id {raw['id']!r} is not an exact Class.test id")
    timeout = raw.get("timeout")
    if raw["mode"] == "timeout":
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ExpectationError(f"{where}: mode 'timeout' needs a positive 'timeout' in seconds")
    elif timeout is not None:
        raise ExpectationError(f"{where}: 'timeout' is only for mode 'timeout'")
    devices = raw.get("device", ())
    devices = (devices,) if isinstance(devices, str) else tuple(devices)
    spec = raw.get("torch", "")
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        if not _CLAUSE.match(clause):
            raise ExpectationError(f"{where}: bad torch version clause {clause!r} (use e.g. '>=2.12,<2.14')")
    return Expectation(raw["id"], raw["mode"], raw["reason"], devices, spec, raw.get("file", ""),
                       float(timeout) if timeout is not None else None, raw.get("link", ""), source)


def load(path: str) -> list[Expectation]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ExpectationError(f"cannot read expectations file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"expectation"}
    if unknown:
        raise ExpectationError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; use [[expectation]] tables")
    entries = [_entry(raw, i, path) for i, raw in enumerate(data.get("expectation", []))]
    seen: dict[tuple, int] = {}
    for i, e in enumerate(entries):
        key = (e.id, e.devices, e.torch, e.file)
        if key in seen:
            raise ExpectationError(f"{path}: expectation #{i + 1} repeats #{seen[key] + 1} for {e.id}")
        seen[key] = i
    return entries


def matching(entries: list[Expectation], test_id: str, device: Optional[str], torch_version: str, file: Optional[str]) -> Optional[Expectation]:
    for entry in entries:
        if entry.id == test_id and entry.applies(device, torch_version, file):
            return entry
    return None
