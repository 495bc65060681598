"""README is the user's door: the set-up and test commands CI runs are README's, verbatim."""

from helpers import ROOT


def test_ci_runs_readmes_set_up_and_test_commands_verbatim():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in (ROOT / ".ci/run").read_text().splitlines()
                if line.startswith("python3 ")]
    assert commands == [
        'python3 -m pip install -q -c constraints.txt -e ".[test]"',
        "python3 -m pytest tests -q -p no:cacheprovider && python3 run_test.py --device cpu",
    ]
    for command in commands:
        assert f"\n{command}\n" in readme, command


def test_every_test_readme_points_to_exists():
    """README's differences list and fault table name the test of each item: a renamed or removed
    test must not leave a dangling pointer (`tests/x.py::name`, `::name` after it, `name_...` a prefix)."""
    import re

    readme = (ROOT / "README.md").read_text()
    pointers, current = [], None
    for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+)(\.\.\.)?)?`", readme):
        path, name, prefix = match.groups()
        if path:
            current = path
            assert (ROOT / path).is_file(), path
        if name:
            assert current is not None, match.group(0)
            pointers.append((current, name, bool(prefix)))
    assert len(pointers) >= 20, pointers
    for path, name, prefix in pointers:
        defs = re.findall(r"^(?:def|class) (\w+)", (ROOT / path).read_text(), re.M)
        found = any(d.startswith(name) for d in defs) if prefix else name in defs
        assert found, f"README points to {path}::{name}, which does not exist"
