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
