"""An expectations file in any format this harness reads, written as the equivalent TOML.

A skip list's whole-file entry (``None``: the file runs) has no TOML form; it is kept as a comment.
"""

from __future__ import annotations

import json

from testing._fork.expectations import Expectation


def _value(value: object) -> str:
    # a JSON string or list of strings is also a TOML basic string / array
    return json.dumps(value)


def to_toml(entries: list[Expectation], origin: str = "") -> str:
    """The TOML text of ``entries`` (``load`` of it gives the same entries, bar their source)."""
    lines = [f"# converted from {origin}" if origin else "# converted expectations", ""]
    for entry in entries:
        if entry.kind == "file":
            lines += [f"# {entry.id}: the whole file runs", ""]
            continue
        lines.append("[[expectation]]")
        lines.append(f"{entry.kind} = {_value(entry.id)}")
        if entry.kind == "disabled":
            lines.append(f"platform = {_value(list(entry.platforms))}")
        lines.append(f"mode = {_value(entry.mode)}")
        lines.append(f"reason = {_value(entry.reason)}")
        if entry.devices:
            lines.append(f"device = {_value(list(entry.devices))}")
        for key in ("torch", "file", "link"):
            if getattr(entry, key):
                lines.append(f"{key} = {_value(getattr(entry, key))}")
        if entry.timeout is not None:
            lines.append(f"timeout = {entry.timeout:g}")
        lines.append("")
    return "\n".join(lines)
