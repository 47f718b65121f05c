"""``rasa`` with the HTTP API's JWT secret taken from the environment.

    python -m actions.server.run_rasa run --enable-api --jwt-method HS256 ...

is ``rasa run ...`` plus ``--jwt-secret $RASA_JWT_SECRET``, added inside this process so
the secret never appears on a command line (any local user can read those with ``ps``).
scripts/stack.py starts the Rasa server this way.
"""
from __future__ import annotations

import os
import sys


def rasa_args(args: list[str], secret: str) -> list[str]:
    """``args`` with the secret added as one ``--jwt-secret=...`` word: a random secret
    may begin with "-", which argparse would otherwise take for an option."""
    if secret and not any(a == "--jwt-secret" or a.startswith("--jwt-secret=") for a in args):
        args = args + [f"--jwt-secret={secret}"]
    return args


def main() -> None:
    args = rasa_args(sys.argv[1:], os.environ.get("RASA_JWT_SECRET", "").strip())
    sys.argv = ["rasa"] + args
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
