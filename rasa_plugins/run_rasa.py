"""``rasa`` with the HTTP API's JWT secret taken from the environment.

    python -m rasa_plugins.run_rasa run --enable-api --jwt-method HS256 ...

is ``rasa run ...`` plus ``--jwt-secret $RASA_JWT_SECRET``, added inside this process so
the secret never appears on a command line (any local user can read those with ``ps``).
scripts/stack.py starts the Rasa server this way.

It is also where this project's changes to the Rasa server are installed, explicitly and
before Rasa starts (rasa_plugins/patches.py: the HTTP guard, what the NLU reads of a
message, failures told to the counsellor, the fast response check). It refuses to start when the sentence encoder's files are
missing or altered (rasa_plugins/encoder.py).
"""
from __future__ import annotations

import sys


def rasa_args(args: list[str], secret: str) -> list[str]:
    """``args`` with the secret added as one ``--jwt-secret=...`` word: a random secret
    may begin with "-", which argparse would otherwise take for an option."""
    if secret and not any(a == "--jwt-secret" or a.startswith("--jwt-secret=") for a in args):
        args = args + [f"--jwt-secret={secret}"]
    return args


def main() -> None:
    from actions import settings

    settings.helpline_env()  # refuse an unknown HELPLINE_ENV before loading anything
    args = rasa_args(sys.argv[1:], settings.env("RASA_JWT_SECRET", ""))
    if args[:1] == ["run"]:
        # the meaning voter's encoder: missing or altered files stop the server here, with
        # one line naming the make target that fixes it
        from rasa_plugins import encoder

        try:
            encoder.verify()
        except encoder.EncoderError as exc:
            print(exc, file=sys.stderr)
            sys.exit(1)
        encoder.serve_on_one_thread()
    sys.argv = ["rasa"] + args
    from rasa_plugins import patches

    patches.install()  # every change to Rasa, checked against its version
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
