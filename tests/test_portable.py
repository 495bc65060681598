"""Nothing in the repository depends on a path of one machine: scripts take their folders from
arguments or variables with a relative or temp default, tests read the repository's own files,
and docs quote no install paths."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

# A home or work folder, a named entry of the system temp directory, an interpreter's install tree.
MACHINE_PATH = re.compile(
    r"(?<![\w.])/(?:work|root|home|Users|opt/conda)/"
    r"|(?<![\w.])/tmp/[A-Za-z]"
    r"|/\.pyenv/"
    r"|(?<![\w<])/(?:[\w.+-]+/)+(?:site|dist)-packages/"
)


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are git's list")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in names.decode().split("\0") if name]


def test_no_tracked_file_names_a_path_of_one_machine():
    found = []
    for path in tracked_files():
        if path == Path(__file__).resolve():
            continue  # the samples of the pattern's own test below
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted in the work tree
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = MACHINE_PATH.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r} in {line.strip()[:120]}")
    assert found == [], "\n".join(found)


def test_the_pattern_finds_machine_paths_and_spares_placeholders():
    for line in ("venvs=${VENVS:-/work/venvs}", "(/root/.pyenv/versions/3.11.7/lib)", "cd /home/me/x",
                 "mktemp -d /tmp/torch_matrix.XXXX", "at /usr/lib/python3/dist-packages/torch/x.py"):
        assert MACHINE_PATH.search(line), line
    for line in ("${TMPDIR:-/tmp}/testing-venvs", "(<site-packages>/torch/testing/x.py)", "$TMPDIR/torchinductor_<user>",
                 "https://github.com/org/repo/issues/1", "PIP_CONFIG_FILE=/dev/null", "cd /tmp && python"):
        assert not MACHINE_PATH.search(line), line


def test_upstream_table_shortens_install_paths(tmp_path):
    """bench/upstream_table.py writes docs/upstream_files.md: the messages it quotes lose this
    machine's install, repository and copies folders."""
    spec = importlib.util.spec_from_file_location("upstream_table", ROOT / "bench" / "upstream_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    site = Path(sys.prefix) / "lib" / "python3.11" / "site-packages"
    message = (f"ImportError: cannot import name 'X' from 'torch.testing._internal.common_utils' "
               f"({site}/torch/testing/_internal/common_utils.py) in {tmp_path}/test_x.py via {ROOT}/testing/y.py")
    short = table.shorten(message, tmp_path)
    assert short == ("ImportError: cannot import name 'X' from 'torch.testing._internal.common_utils' "
                     "(<site-packages>/torch/testing/_internal/common_utils.py) in <copies>/test_x.py via testing/y.py")
    assert "does not load: " + short[:140] == table.summary({"<file>": ("error", message)}, tmp_path)
