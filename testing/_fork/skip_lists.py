"""The skip lists fork teams already keep, read as expectations entries (mode ``skip``).

Two formats besides this harness's TOML:

* a torch-xpu-ops-style Python module with ``skip_dict``: keys are upstream test files as those
  lists write them (``"../../../../test/distributed/fsdp/test_fsdp_core.py"``, matched by their
  ``test/...`` suffix), values a tuple of test names without class (skipped) or ``None`` (the whole
  file runs). The module is read, never executed: the dict must be a literal, as those lists are.
* upstream's disabled-tests JSON (``.pytorch-disabled-tests.json``, what ``--import-disabled-tests``
  reads): ``{"test_name (module.ClassName)": ["issue", ["platform", ...]]}``, matched as upstream's
  ``check_if_enable`` matches it (class name prefix; the name with or without its device and dtype
  suffixes), applying where the platform list is empty or one platform holds.

A malformed file is an ExpectationError naming the file and line.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Optional

from testing._fork import upstream_match
from testing._fork.expectations import Expectation, ExpectationError
from testing._fork.upstream_match import file_suffix

DISABLED_REASON = ("Test is disabled because an issue exists disabling it: {issue} for {all}platform(s) {platforms}. "
                   "If you're seeing this on your local machine and would like to enable this test, please make sure "
                   "CI is not set and you are not using the flag --import-disabled-tests.")


def disabled_reason(issue: str, platforms: list[str]) -> str:
    """Upstream's skip message, for the platforms its rule kept ("for allplatform(s) ." when none: verbatim)."""
    return DISABLED_REASON.format(issue=issue, all="" if platforms else "all", platforms=", ".join(platforms))


def load_skip_dict(path: str) -> list[Expectation]:
    """The entries of a torch-xpu-ops-style ``skip_dict`` module."""
    text = _read(path)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise ExpectationError(f"{path}:{exc.lineno}: not valid Python: {exc.msg}") from None
    value = next((node.value for node in tree.body if isinstance(node, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "skip_dict" for t in node.targets)), None)
    if value is None:
        raise ExpectationError(f"{path}:1: no 'skip_dict = {{...}}' assignment")
    if not isinstance(value, ast.Dict):
        raise ExpectationError(f"{path}:{value.lineno}: skip_dict is not a dict literal")
    base = Path(path).resolve().parent
    entries = []
    for key_node, value_node in zip(value.keys, value.values):
        line = (key_node or value_node).lineno
        try:
            key, names = ast.literal_eval(key_node), ast.literal_eval(value_node)
        except (ValueError, TypeError):
            raise ExpectationError(f"{path}:{line}: skip_dict entry is not a literal") from None
        if not isinstance(key, str) or not key.endswith(".py"):
            raise ExpectationError(f"{path}:{line}: skip_dict key {key!r} is not a test file path")
        where = f"{path}:{line}"
        suffix = file_suffix(key)
        exists = (base / key).is_file()
        if names is None:  # the whole file runs: kept only to report a file that no longer exists
            entries.append(Expectation(suffix, "run", f"listed in {Path(path).name}", file=suffix,
                                       source=path, kind="file", line=line, exists=exists))
            continue
        if isinstance(names, str) or not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
            raise ExpectationError(f"{where}: skip_dict value for {key!r} is not None or a tuple of test names")
        for name in names:
            entries.append(Expectation(name, "skip", f"listed in {Path(path).name}", file=suffix, source=path,
                                       kind="name", line=line, exists=exists))
    return entries


def load_disabled_json(path: str) -> list[Expectation]:
    """The entries of upstream's disabled-tests JSON."""
    text = _read(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExpectationError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ExpectationError(f"{path}:1: not a disabled-tests object {{\"test_name (module.Class)\": [issue, [platforms]]}}")
    entries = []
    for key, value in data.items():
        line = _line_of(text, key)
        if len(key.split()) < 2 or not (key.split()[1].startswith("(") and key.split()[1].endswith(")")):
            raise ExpectationError(f"{path}:{line}: {key!r} is not 'test_name (module.ClassName)'")
        if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], (str, int))
                or not isinstance(value[1], list) or not all(isinstance(p, str) for p in value[1])):
            raise ExpectationError(f"{path}:{line}: value for {key!r} is not [issue, [platform, ...]]")
        issue, platforms = str(value[0]), tuple(value[1])
        link = issue if "://" in issue else (f"https://github.com/pytorch/pytorch/issues/{issue}" if issue.isdigit() else "")
        reason = disabled_reason(issue, upstream_match.known_platforms(platforms, device_names=True)[0])
        entries.append(Expectation(key, "skip", reason, link=link, source=path, kind="disabled",
                                   platforms=platforms, line=line))
    return entries


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ExpectationError(f"cannot read expectations file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ExpectationError(f"{path}:1: not a text file") from None


def _line_of(text: str, key: str) -> int:
    at = text.find(json.dumps(key))
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def read_any(path: str) -> Optional[list[Expectation]]:
    """The entries of a skip_dict module (``.py``) or a disabled-tests JSON (``.json``); None for other files."""
    if path.endswith(".py"):
        return load_skip_dict(path)
    if path.endswith(".json"):
        return load_disabled_json(path)
    return None
