"""The house: layers import downward only and no files import each other in a circle
(tests/layers.py reads every import statement, those inside functions included)."""

from __future__ import annotations

import layers


def test_no_import_runs_up_the_layers_or_sideways() -> None:
    edges = layers.graph()
    assert layers.upward(edges) == []
    assert layers.sideways(edges) == []


def test_no_import_circles_between_files() -> None:
    assert layers.circles(layers.graph()) == []


def test_the_checker_sees_an_upward_import_and_a_circle() -> None:
    edges = {"testing._core.a": {"testing._runner.b"}, "testing._runner.b": {"testing._core.a"}}
    assert layers.upward(edges) == [("testing._core.a", "testing._runner.b")]
    assert layers.circles(edges) == [["testing._core.a", "testing._runner.b"]]


def test_no_folder_holds_more_than_about_a_quarter_of_the_lines() -> None:
    counts = layers.folder_lines()
    total = sum(counts.values())
    assert {k: n for k, n in counts.items() if n > 0.27 * total} == {}


def test_function_level_imports_are_read(tmp_path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from testing._runner import cli\n")
    known = {"testing._runner.cli": module, "testing._runner": module}
    assert layers.imports(module, known, "testing._core.m") == {"testing._runner.cli"}
