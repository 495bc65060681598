"""``python -m testing.port UPSTREAM [-o DEST | --check DEST]``: the port/check tool's public path."""

import sys

from testing._fork.port import check, main, port_text

__all__ = ["check", "main", "port_text"]

if __name__ == "__main__":
    sys.exit(main())
