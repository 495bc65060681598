"""Failure or error: the one rule both JUnit writers apply (``run_test.py --xml`` and pytest's
``--junitxml`` through the plugin), so that CI dashboards count a test alike whichever ran it.

A test *fails* when what went wrong is an assertion: the test's own AssertionError, or in a
distributed test the root-cause rank's AssertionError, a rank killed by a signal, or a rank that
exited early (upstream raises AssertionError for those two). Anything else is an *error*: another
exception (a rank's ValueError, a timeout, a collective that never completed).

unittest draws the same line for a plain test (addFailure for ``failureException``, addError for
the rest); a distributed test's exception in the test process is a RuntimeError whatever the
rank raised, so its ranks' results decide instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FAILURE = "failure"
ERROR = "error"

_FAILING_STATUSES = ("killed", "exited-early")


def _is_assertion_name(exc_type: str) -> bool:
    # a rank's exception type as its traceback printed it ("AssertionError", "mod.MyAssertionError")
    return exc_type.rsplit(".", 1)[-1].endswith("AssertionError")


def kind_of_ranks(ranks: Sequence[Mapping[str, Any]]) -> str | None:
    """FAILURE or ERROR from the root-cause rank's result (dicts of RankResult), None when no rank is
    the root cause (a timeout, ranks that disagree): then the exception's own type decides."""
    root = next((r for r in ranks if r.get("root_cause")), None)
    if root is None:
        return None
    if root.get("status") in _FAILING_STATUSES or _is_assertion_name(str(root.get("exc_type", ""))):
        return FAILURE
    return ERROR


def kind_of_exception(exc: BaseException) -> str:
    """FAILURE or ERROR for what a test raised in the test process."""
    evidence = getattr(exc, "evidence", None)
    if evidence:
        found = kind_of_ranks([rank.to_dict() for rank in evidence])
        if found is not None:
            return found
    return FAILURE if isinstance(exc, AssertionError) else ERROR


def kind_of_outcome(outcome: str, ranks: Sequence[Mapping[str, Any]]) -> str:
    """FAILURE or ERROR for a runner report's outcome (``failed`` / ``error``) and its ranks."""
    return kind_of_ranks(ranks) or (FAILURE if outcome == "failed" else ERROR)
