"""Port an upstream test file, or check an in-tree copy against its upstream original.

    python -m testing.port UPSTREAM_FILE [-o DEST]     write the copy (stdout without -o)
    python -m testing.port UPSTREAM_FILE --check DEST  exit 1 and show the diff when DEST is not
                                                      exactly the port of UPSTREAM

Only import statements change: upstream's private harness package becomes ``testing``. Everything else
stays byte-identical, so a fork's CI can tell hand edits and stale copies from a clean port.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from pathlib import Path
from typing import Optional

UPSTREAM_PACKAGE = "torch.testing._internal"  # the name this tool rewrites; never imported
PORTED_PACKAGE = "testing"
_UPSTREAM_NAME = re.compile(r"\btorch\.testing\._internal\b")


def _import_lines(text: str) -> set[int]:
    """1-based numbers of the lines that belong to import statements."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def port_text(text: str) -> str:
    """The upstream text with its import statements rewritten to the harness's package."""
    imports = _import_lines(text)
    out = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        out.append(_UPSTREAM_NAME.sub(PORTED_PACKAGE, line) if number in imports else line)
    return "".join(out)


def check(upstream: Path, ported: Path) -> tuple[bool, str]:
    """(clean, report): clean when ``ported`` is exactly the mechanical port of ``upstream``: the same
    import statements in the same order with only the package renamed, every other line identical.
    Anything else, in the import block or out of it, is drift and shown as a diff."""
    upstream_text, ported_text = upstream.read_text(), ported.read_text()
    expected = port_text(upstream_text)
    problems = []
    diff = list(difflib.unified_diff(expected.splitlines(), ported_text.splitlines(),
                                     f"{upstream} (ported)", str(ported), lineterm="", n=1))
    if diff:
        problems.append("\n".join(diff))
        changed = sum(1 for line in diff[2:] if line[:1] in "+-")
        problems.append(f"{ported}: differs from the port of {upstream} ({changed} lines)")
    leftover = [n for n in sorted(_import_lines(ported_text)) if _UPSTREAM_NAME.search(ported_text.splitlines()[n - 1])]
    if leftover:
        problems.append(f"{ported}: still imports {UPSTREAM_PACKAGE} on line(s) {', '.join(map(str, leftover))}")
    if problems:
        return False, "\n".join(problems)
    return True, f"{ported}: a clean port of upstream (only the harness package renamed in its imports)"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.port", description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream", type=Path, help="the upstream test file")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-o", "--output", type=Path, help="where to write the port (default: stdout)")
    group.add_argument("--check", type=Path, metavar="DEST", help="compare an existing in-tree copy instead")
    args = parser.parse_args(argv)
    for path in (args.upstream, args.check):
        if path is not None and not path.is_file():
            print(f"testing.port: error: no such file: {path}", file=sys.stderr)
            return 2
    try:
        if args.check:
            clean, report = check(args.upstream, args.check)
            print(report)
            return 0 if clean else 1
        ported = port_text(args.upstream.read_text())
    except SyntaxError as exc:
        print(f"testing.port: error: cannot parse {exc.filename or args.upstream}: {exc.msg} (line {exc.lineno})", file=sys.stderr)
        return 2
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(ported)
    else:
        sys.stdout.write(ported)
    return 0


if __name__ == "__main__":
    sys.exit(main())
