"""The failures section the runner prints after its summary, as pytest does: per failed test its
headline, the root-cause traceback (``--tb=short|long|line|no``), the knock-on ranks in a line each,
and the exact command that reruns that one test.

It reads the reports' fields (headline, per-rank results); it never re-parses a message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Optional

from testing._core import cuda_mapping, repro
from testing._core.config import Config
from testing._ranks.evidence import RankResult
from testing._runner.result import TestReport

TB_STYLES = ("short", "long", "line", "no")

_HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_UNITTEST_DIR = os.path.dirname(os.path.abspath(__import__("unittest").__file__))
# a traceback frame (``line 3, in f``) or a faulthandler frame (``line 3 in f``)
_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line \d+,? in ')


def trim_traceback(text: str) -> str:
    """Drop the harness's and unittest's frames (a frame is its ``File`` line and the indented lines
    under it); keep the test's own frames, torch's, and the exception lines."""
    out: list[str] = []
    skipping = False
    for line in text.rstrip().splitlines():
        match = _FRAME.match(line)
        if match:
            path = os.path.abspath(match["file"])
            skipping = path.startswith((_HARNESS_DIR + os.sep, _UNITTEST_DIR + os.sep))
            if not skipping:
                out.append(line)
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


def _root(report: TestReport) -> dict | None:
    return next((r for r in report.ranks if r.get("root_cause")), None)


def _echo_lines(report: TestReport) -> list[str]:
    """One line per rank that is not the root cause and did not pass."""
    ranks = [RankResult(**rank) for rank in report.ranks]
    return [f"rank {r.rank} ({r.status}): {r.summary()}"[:200] for r in ranks
            if not r.root_cause and r.status not in ("passed", "skipped")]


def _body(report: TestReport, style: str) -> str:
    root = _root(report)
    if report.ranks:
        if root is not None and root.get("traceback"):
            text = root["traceback"]
        elif root is not None and root.get("stacks"):
            text = root["stacks"]
        else:  # a hang: the stacks of the ranks not waiting in a collective are the evidence
            live = [r for r in report.ranks if r.get("stacks")]
            culprits = [r for r in live if not r.get("where", "").startswith("in ")] or live
            text = "\n".join(f"rank {r['rank']}:\n{r['stacks']}" for r in culprits)
    else:
        text = report.details
    return text if style == "long" else trim_traceback(text)


def failure_block(report: TestReport, style: str, config: Optional[Config] = None) -> list[str]:
    """A failed test's block (without the header naming the test): its headline, the root-cause
    traceback in ``style`` (short or long), the knock-on ranks in a line each, and with ``config`` a
    hint toward ``--map-cuda`` when the test failed for calling CUDA. The runner's failures section
    and pytest's report (the plugin) both print it."""
    lines = [report.message]
    body, rerun = _split_repro(_body(report, style))
    if body:
        lines.append(body)
    lines += ["  " + line for line in _echo_lines(report)]
    hint = cuda_mapping.hint_for(f"{report.message}\n{body}", config) if config is not None else None
    if hint:
        lines.append(hint)
    if rerun:
        lines.append(rerun)
    return lines


_REPRO = re.compile(r"\n*To execute this test, run the following .*?:\n.*?" + re.escape(repro.HINT_SUFFIX) + r"\n*",
                    re.S)


def _split_repro(body: str) -> tuple[str, str]:
    """The root-cause traceback without upstream's repro paragraph (the failing rank appends it to its
    exception), and the paragraph: it goes last, after the knock-on ranks, as the runner's rerun line."""
    found = _REPRO.search(body)
    if found is None:
        return body, ""
    return (body[:found.start()] + "\n" + body[found.end():]).rstrip(), found.group(0).strip()


def write_failures(write: Callable[[str], None], failures: list[TestReport], style: str, config: Config) -> None:
    """``config`` is the runner's: its ``runner`` and flags make each failure's ``rerun:`` line."""
    if style == "no" or not failures:
        return
    write("")
    write("=" * 30 + " failures " + "=" * 30)
    for report in failures:
        if style == "line":
            write(f"{report.file}::{report.id}: {report.message}")
            continue
        write(f"_____ {report.file}::{report.id} _____")
        for line in failure_block(report, style, config):
            write(line)
        if not report.id.startswith("<") and config.print_repro:
            write(f"rerun: {repro.command(config, report.file, report.subtest_of or report.id)}")
