"""run_tests()'s selection under ``--use-pytest``: what upstream applies when the module is handed
to pytest, applied to pytest's collected items.

Upstream's TestCase.setUp calls ``check_if_enable`` under pytest as under unittest (the disabled and
slow lists, ``--rerun-disabled-tests``: skips with its messages), and upstream's ``test/conftest.py``
filters the items by ``--hw-classification`` with ``filter_by_hw_classification`` (items outside a
class count as ``no_class``; items that do not match are dropped, not deselected). The module's
``run_tests()`` runs pytest in its own process and hands the selection over as this plugin object.
"""

from __future__ import annotations

import pytest

from testing._runner import upstream_selection


class SelectionPlugin:
    def __init__(self, selection: upstream_selection.Selection) -> None:
        self.selection = selection

    def pytest_collection_modifyitems(self, items: list) -> None:
        if self.selection.hw_classification is not None:
            items[:] = upstream_selection.hw_filter(items, self.selection.hw_classification,
                                                    get_class=lambda item: getattr(item, "cls", None))
        for item in items:
            cls = getattr(item, "cls", None)
            if cls is None:
                continue  # check_if_enable runs in TestCase.setUp: only tests of a class meet it
            reason = upstream_selection.skip_reason_for(cls.__name__, item.name, self.selection)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))

