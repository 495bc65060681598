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

Instead of ``id``, an entry may name its test as the skip lists kept elsewhere do (what
``python -m testing.expectations convert`` writes for them, see `skip_lists`)::

    name = "test_bar_xpu"                     # a test name without class (torch-xpu-ops skip_dict)
    file = "test/distributed/test_foo.py"     # with name: the file, matched by this suffix
    disabled = "test_bar (__main__.TestFoo)"  # upstream's disabled-tests key, matched as upstream
    platform = ["linux"]                      # with disabled: upstream's platforms (empty: all)

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

from testing._fork import upstream_match

MODES = ("skip", "xfail", "strict-xfail", "timeout")
_KEYS = {"id", "name", "disabled", "platform", "mode", "reason", "device", "torch", "file", "timeout", "link"}
_NAMINGS = ("id", "name", "disabled")  # how an entry names its test: exactly one of them
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
    kind: str = "id"
    """How ``id`` names the test: ``id`` (exact Class.test), ``name`` (a test name in any class),
    ``disabled`` (upstream's "test (module.Class)" key), ``file`` (a skip list's whole-file entry:
    nothing is applied, the file is only checked to exist)."""
    platforms: tuple[str, ...] = ()
    """``disabled`` entries: upstream's platform list (empty: every platform)."""
    line: int = 0
    exists: bool = True
    """Whether a skip list's file was found beside the list (an entry for a file that no longer
    exists is stale even when the run does not select that file)."""

    def applies(self, device: Optional[str], torch_version: str, file: Optional[str]) -> bool:
        if self.devices and device not in self.devices:
            return False
        if self.file and file is not None and not upstream_match.file_matches(file, self.file):
            return False
        if self.kind == "disabled" and not upstream_match.platforms_hold(self.platforms, device):
            return False
        return version_in_range(torch_version, self.torch)

    def names(self, test_id: str) -> bool:
        """Whether this entry names the test ``Class.test``."""
        class_name, _, method = test_id.partition(".")
        if self.kind == "name":
            return method == self.id
        if self.kind == "disabled":
            return upstream_match.disabled_key_matches(self.id, class_name, method)
        return self.kind == "id" and test_id == self.id

    @property
    def where(self) -> str:
        """The file (and line) the entry came from, for the summary and the stale report."""
        return f"{self.source}:{self.line}" if self.line else self.source


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
    named = [key for key in _NAMINGS if key in raw]
    if len(named) > 1:
        raise ExpectationError(f"{where}: give one of 'id', 'name', 'disabled', not {' and '.join(named)}")
    kind = named[0] if named else "id"
    for key in (kind, "mode", "reason"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ExpectationError(f"{where}: '{key}' is required (a non-empty string)")
    if raw["mode"] not in MODES:
        raise ExpectationError(f"{where}: mode {raw['mode']!r} is not one of {', '.join(MODES)}")
    if kind == "id" and ("." not in raw["id"] or " " in raw["id"]):
        raise ExpectationError(f"{where}: id {raw['id']!r} is not an exact Class.test id")
    if kind == "disabled" and len(raw["disabled"].split()) < 2:
        raise ExpectationError(f"{where}: disabled {raw['disabled']!r} is not upstream's 'test_name (module.ClassName)'")
    platforms = raw.get("platform", [])
    if "platform" in raw and (kind != "disabled" or not isinstance(platforms, list)):
        raise ExpectationError(f"{where}: 'platform' is a list, only with 'disabled'")
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
    return Expectation(raw[kind], raw["mode"], raw["reason"], devices, spec, raw.get("file", ""),
                       float(timeout) if timeout is not None else None, raw.get("link", ""), source,
                       kind=kind, platforms=tuple(platforms))


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
        key = (e.kind, e.id, e.devices, e.torch, e.file)
        if key in seen:
            raise ExpectationError(f"{path}: expectation #{i + 1} repeats #{seen[key] + 1} for {e.id}")
        seen[key] = i
    return entries


def matching(entries: list[Expectation], test_id: str, device: Optional[str], torch_version: str, file: Optional[str]) -> Optional[Expectation]:
    for entry in entries:
        if entry.kind != "file" and entry.names(test_id) and entry.applies(device, torch_version, file):
            return entry
    return None


def stale(entries: list[Expectation], collected: dict[str, set[str]], device: Optional[str],
          torch_version: str) -> list[Expectation]:
    """Entries for this device and torch that name a test (or file) that is not there.

    ``collected`` maps each file that ran to its test ids. An entry limited to a file is checked
    only when that file ran, except a skip list's entry whose file no longer exists beside the list;
    an upstream disabled-tests entry only when its class is among the collected ones (that file
    covers all of upstream's tests)."""
    found = []
    every_id = {test_id for ids in collected.values() for test_id in ids}
    for entry in entries:
        if entry.devices and device not in entry.devices:
            continue
        if not version_in_range(torch_version, entry.torch):
            continue
        files = [f for f in collected if not entry.file or upstream_match.file_matches(f, entry.file)]
        if not files:
            missing = dataclasses.replace(entry, kind="file", id=entry.file)  # reported once per file
            if entry.kind in ("name", "file") and not entry.exists and not Path(entry.file).is_file() \
                    and not any(f.kind == "file" and f.id == entry.file and f.source == entry.source for f in found):
                found.append(missing)
            continue
        if entry.kind == "file":
            continue
        ids = {test_id for f in files for test_id in collected[f]}
        if entry.kind == "disabled":
            target = entry.id.split()[1][1:-1].split(".")[-1]
            if not any(test_id.partition(".")[0].startswith(target) for test_id in every_id):
                continue
        if not any(entry.names(test_id) for test_id in ids):
            found.append(entry)
    return found
