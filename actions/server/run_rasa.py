"""``rasa`` with the HTTP API's JWT secret taken from the environment.

    python -m actions.server.run_rasa run --enable-api --jwt-method HS256 ...

is ``rasa run ...`` plus ``--jwt-secret $RASA_JWT_SECRET``, added inside this process so
the secret never appears on a command line (any local user can read those with ``ps``).
scripts/stack.py starts the Rasa server this way.
"""
from __future__ import annotations

import os
import sys


def main() -> None:
    args = sys.argv[1:]
    secret = os.environ.get("RASA_JWT_SECRET", "").strip()
    if secret and "--jwt-secret" not in args:
        args += ["--jwt-secret", secret]
    sys.argv = ["rasa"] + args
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
