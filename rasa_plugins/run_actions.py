"""The action server, without TensorFlow: ``python -m rasa_plugins.run_actions``.

Takes the same arguments as ``python -m rasa_sdk`` (``--actions actions.actions --port
5055``). spaCy's thinc imports TensorFlow and JAX whenever they are installed - and Rasa
installs them - although the actions use only a blank spaCy pipeline, lookup lemmas and
rule matchers. Marking both as absent before anything imports spaCy keeps the action
server at about 135 MB instead of about 670 MB, and starts it 2 s sooner. The Rasa server,
which needs TensorFlow for its NLU, is not affected.
"""
from __future__ import annotations

import sys

UNUSED = ("tensorflow", "jax")


def block_unused() -> None:
    """Make ``import tensorflow`` / ``import jax`` fail with ImportError in this process
    (thinc treats them as optional), unless something has imported them already."""
    for name in UNUSED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def main() -> None:
    block_unused()
    from actions import timeparse

    timeparse.warm_up()  # Duckling's runtime, started here in the main thread (Ctrl-C kept)
    from rasa_sdk.__main__ import main as rasa_sdk_main

    rasa_sdk_main()


if __name__ == "__main__":
    main()
