"""README is the user's door and docs/ the reference: the set-up and test commands CI runs are
README's, verbatim; README stays short; its every command is one that works from the repository;
every test, page and section the documentation points to exists."""

import re
import shlex
import unittest
from pathlib import Path

from helpers import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_ci_runs_readmes_set_up_and_test_commands_verbatim():
    readme = README.read_text()
    commands = [line for line in (ROOT / ".ci/run").read_text().splitlines()
                if line.startswith("python3 ")]
    assert commands == [
        'python3 -m pip install -q -c constraints.txt -e ".[test]"',
        "python3 -m pytest tests -q -p no:cacheprovider && python3 run_test.py --device cpu",
    ]
    for command in commands:
        assert f"\n{command}\n" in readme, command


def test_readme_is_a_door_not_the_reference():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README has {len(lines)} lines; the reference belongs in docs/"


def test_every_test_the_docs_point_to_exists():
    """README and docs/*.md name the test of each difference and fault: a renamed or removed test
    must not leave a dangling pointer (`tests/x.py::name`, `::name` after it, `name_...` a prefix)."""
    pointers = []
    for page in [README, *PAGES]:
        current = None  # a bare `::name` refers to the last file named on the same page
        for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+)(\.\.\.)?)?`", page.read_text()):
            path, name, prefix = match.groups()
            if path:
                current = path
                assert (ROOT / path).is_file(), f"{page.name} names {path}"
            if name:
                assert current is not None, f"{page.name}: {match.group(0)}"
                pointers.append((page.name, current, name, bool(prefix)))
    assert len(pointers) >= 20, pointers
    for page, path, name, prefix in pointers:
        defs = re.findall(r"^(?:def|class) (\w+)", (ROOT / path).read_text(), re.M)
        found = any(d.startswith(name) for d in defs) if prefix else name in defs
        assert found, f"{page} points to {path}::{name}, which does not exist"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_pages_resolves():
    for page in [README, *PAGES]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"\w+://", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            assert path.is_file(), f"{page.name} links to {target}, which does not exist"
            if anchor:
                anchors = {_anchor(h) for h in re.findall(r"^#+ (.*)$", path.read_text(), re.M)}
                assert anchor in anchors, f"{page.name} links to {target}: no such section in {path.name}"


def test_the_not_provided_message_points_to_a_section_that_exists():
    from testing._core.case_members import unsupported_member_message

    page, heading = re.search(r"see (docs/[\w-]+\.md), '([^']+)'", unsupported_member_message("X")).groups()
    assert f"\n## {heading}\n" in (ROOT / page).read_text(), (page, heading)


# -- README's commands ---------------------------------------------------------------------------

def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of each fenced block, indented ones (inside a list item) included."""
    blocks = []
    for match in re.finditer(r"^( *)```(\S*)\n(.*?)^\1```[ \t]*$", text, re.M | re.S):
        indent, lang, body = match.groups()
        blocks.append((lang, [line[len(indent):] for line in body.splitlines()]))
    return blocks


def readme_commands() -> list[list[str]]:
    """Every command of README's ``sh`` blocks as argv (continuations joined, comments and ``&&`` split)."""
    commands = []
    for lang, lines in fenced_blocks(README.read_text()):
        if lang != "sh":
            continue
        for line in "\n".join(lines).replace("\\\n", " ").splitlines():
            for part in " ".join(shlex.split(line, comments=True)).split(" && "):
                if part.strip():
                    commands.append(shlex.split(part))
    return commands


def is_placeholder(token: str) -> bool:
    """README writes what the user supplies in capitals (`UPSTREAM.py`)."""
    return re.fullmatch(r"[A-Z][A-Z_]*(\.\w+)?", token) is not None


UNITTEST_FLAGS = {"-v", "-q", "-f", "-c", "-b", "-k", "--locals", "--verbose", "--quiet", "--failfast"}


def check_module_args(args: list[str]) -> None:
    """A module's command line: the harness's flags, then unittest's."""
    from testing._runner import run_tests_flags

    _, rest = run_tests_flags.run_tests_parser().parse_known_args(args)
    for token in rest:
        assert not token.startswith("-") or token in UNITTEST_FLAGS, f"not a module flag: {token}"


def check_command(argv: list[str], tmp_path: Path) -> None:
    from testing._fork import port
    from testing._runner.options import build_parser

    config_source = (ROOT / "testing" / "_core" / "config.py").read_text()
    while "=" in argv[0]:  # an environment assignment: a variable the harness reads
        name = argv.pop(0).split("=")[0]
        assert f'"{name}"' in config_source, f"README sets {name}, which the configuration does not read"
    program, *args = argv
    assert program == "python3", argv
    if args[0] == "-m":
        module, *rest = args[1:]
        if module == "pip":
            return  # the install lines run in CI itself (.ci/run) and in a fresh clone
        if module == "pytest":
            # option values: pytest's own, and the harness's plugin options that take one
            values = {i + 1 for i, token in enumerate(rest) if token in ("-p", "-k", "-m", "--device", "--backend", "--world-size")}
            paths = [token for i, token in enumerate(rest) if not token.startswith("-") and i not in values]
            assert paths and all((ROOT / path).exists() for path in paths), rest
            return
        if module == "testing":
            assert (ROOT / rest[0]).is_file(), rest[0]
            return check_module_args(rest[1:])
        assert module == "testing.port", module
        # the port tool runs for real (it is quick), a placeholder original replaced by the repository's
        original = "upstream/test/distributed/fsdp/test_fsdp_dtensor_state_dict.py"
        rest = [str(ROOT / original) if is_placeholder(token) else token for token in rest]
        if "-o" in rest:
            rest[rest.index("-o") + 1] = str(tmp_path / "ported.py")
        rest = [str(ROOT / token) if (ROOT / token).is_file() else token for token in rest]
        assert port.main(rest) == 0, argv
        return
    script, *rest = args
    assert (ROOT / script).is_file(), script
    if script == "run_test.py":
        try:
            options = build_parser().parse_args(rest)
        except SystemExit:
            raise AssertionError(f"run_test.py refuses README's arguments: {rest}") from None
        assert all((ROOT / path).exists() for path in options.paths), options.paths
    else:
        check_module_args(rest)


def test_every_command_in_readme_works_from_the_repository(tmp_path, capsys):
    """Each fenced command names files that exist and flags its program takes; the quick ones (the
    port tool) run. Output examples are fenced as ``text`` and the TOML as ``toml``: a fence
    without a language could hide a command from this check."""
    blocks = fenced_blocks(README.read_text())
    assert all(lang for lang, _ in blocks), "a README fence without a language"
    commands = readme_commands()
    assert len(commands) >= 10, commands
    for argv in commands:
        check_command(list(argv), tmp_path)
    assert "a clean port of upstream" in capsys.readouterr().out  # the --check line ran


def test_the_command_check_refuses_what_would_not_work(tmp_path):
    for command in ("python3 run_test.py --device cpu --no-such-flag", "python3 run_test.py test/no_such_dir",
                    "python3 test/no_such_file.py --device cpu", "python3 -m testing upstream/x.py",
                    "python3 test/distributed/fsdp/test_fsdp_dtensor_state_dict.py --devices cpu",
                    "TESTING_NO_SUCH_VARIABLE=1 python3 run_test.py"):
        with unittest.TestCase().assertRaises(AssertionError, msg=command):
            check_command(shlex.split(command), tmp_path)
