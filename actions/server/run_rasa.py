"""``rasa`` with the HTTP API's JWT secret taken from the environment.

    python -m actions.server.run_rasa run --enable-api --jwt-method HS256 ...

is ``rasa run ...`` plus ``--jwt-secret $RASA_JWT_SECRET``, added inside this process so
the secret never appears on a command line (any local user can read those with ``ps``).
scripts/stack.py starts the Rasa server this way.

It is also where this project's changes to the Rasa server are installed, explicitly and
before Rasa starts: the HTTP guard (who may use which route, request sizes:
actions/server/http_guard.py) and what the NLU reads of a message
(actions/server/nlu_input.py). It refuses to start when the sentence encoder's files are
missing or altered (actions/server/encoder.py).
"""
from __future__ import annotations

import sys


def rasa_args(args: list[str], secret: str) -> list[str]:
    """``args`` with the secret added as one ``--jwt-secret=...`` word: a random secret
    may begin with "-", which argparse would otherwise take for an option."""
    if secret and not any(a == "--jwt-secret" or a.startswith("--jwt-secret=") for a in args):
        args = args + [f"--jwt-secret={secret}"]
    return args


def install_patches() -> None:
    """The HTTP guard on every app Rasa makes, and the NLU's view of a message."""
    import rasa.core.run

    from actions.server import http_guard, nlu_input

    nlu_input.install()
    configure = getattr(rasa.core.run.configure_app, "__wrapped__", rasa.core.run.configure_app)

    def configure_app(*args, **kwargs):  # type: ignore[no-untyped-def]
        app = configure(*args, **kwargs)
        http_guard.install(app)
        return app

    configure_app.__wrapped__ = configure  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app  # serve_application looks it up at call time


def main() -> None:
    from actions import settings

    settings.helpline_env()  # refuse an unknown HELPLINE_ENV before loading anything
    args = rasa_args(sys.argv[1:], settings.env("RASA_JWT_SECRET", ""))
    if args[:1] == ["run"]:
        # the meaning voter's encoder: missing or altered files stop the server here, with
        # one line naming the make target that fixes it
        from actions.server import encoder

        try:
            encoder.verify()
        except encoder.EncoderError as exc:
            print(exc, file=sys.stderr)
            sys.exit(1)
    sys.argv = ["rasa"] + args
    install_patches()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
