"""``python -m testing.expectations convert FILE [-o fork.toml]``: an expectations file as TOML.

FILE is a torch-xpu-ops-style ``skip_dict`` module (``.py``), upstream's disabled-tests JSON
(``.json``) or this harness's TOML; the TOML written applies the same entries through
``run_test.py --expectations fork.toml`` (and pytest's ``--expectations``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from testing._fork import expectation_files
from testing._fork.expectations import ExpectationError
from testing._fork.expectations_convert import to_toml


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.expectations", description=__doc__.strip().splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="write an expectations file (.py skip_dict, .json disabled tests, TOML) as TOML")
    convert.add_argument("file")
    convert.add_argument("-o", "--output", metavar="TOML", help="where to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        text = to_toml(expectation_files.load(args.file), args.file)
    except ExpectationError as exc:
        print(f"python -m testing.expectations: error: {exc}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w") as out:
            out.write(text)
    except OSError as exc:
        print(f"python -m testing.expectations: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
