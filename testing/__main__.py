"""``python -m testing FILE [ARGS]``: run an unmodified upstream test file on this harness.

Its imports of upstream's private harness resolve to ``testing``; anything the harness does not
provide is reported up front as "unsupported upstream API" (exit 2). ARGS are the module's own
(``--device cpu --timeout 60 -v -k ...``; ``python -m testing FILE --help`` lists them all).
"""

import os
import runpy
import sys

from testing._core import signals  # no torch: an interrupt while torch loads still ends in one line


def main() -> None:
    try:
        _main()
    except KeyboardInterrupt:  # before the file's run_tests() took over (importing torch, loading the file)
        module_cli = sys.modules.get("testing._runner.module_cli")
        if module_cli is not None:
            module_cli.end_interrupted(None)  # stops a zygote already started
        print(signals.INTERRUPTED_EARLY, file=sys.stderr)
        sys.exit(signals.INTERRUPTED_EXIT)


def _main() -> None:
    from testing._core import config
    from testing._fork import redirect
    from testing._runner import run_tests_flags

    argv = config.module_argv()
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        print()
        print(run_tests_flags.run_tests_parser(prog="python -m testing FILE").format_help())
        sys.exit(0 if len(argv) >= 2 else 2)
    path = argv[1]
    if not os.path.isfile(path):
        print(f"testing: error: no such file: {path}", file=sys.stderr)
        sys.exit(2)
    try:
        redirect.activate(path)
    except redirect.UnsupportedUpstreamAPI as exc:
        print(f"testing: error: {exc}", file=sys.stderr)
        sys.exit(2)
    config.set_module_argv(argv[1:])
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    runpy.run_path(path, run_name="__main__")


if __name__ == "__main__":
    main()
