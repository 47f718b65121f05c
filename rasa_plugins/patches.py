"""Every change this project makes to Rasa's own code, in one place.

Rasa has no hook for these, so each replaces one attribute of Rasa's, keeping the original
as ``__wrapped__`` where it wraps it:

- ``nlu_input``: what the NLU reads of a message (a button payload as typed text, the
  classifier's share of a long message) - ``MessageProcessor.parse_message``;
- ``resilience``: a failed or slow custom action, a tracker store or lock store that is
  down, is told to the counsellor instead of being logged with the text - ``RemoteAction.run``,
  ``Agent.handle_message``, ``FailSafeTrackerStore``'s two error handlers and the action
  call's timeout;
- ``rasa_speedups``: each message's NLU run in a worker thread, off the event loop (called
  by ``nlu_input``'s ``parse_message``); the action server's answers checked against
  Rasa's schema without re-checking the schema itself each time -
  ``RemoteAction._validate_action_result``;
- ``http_guard``: who may use which route of the HTTP API, and request sizes - on every
  app ``rasa.core.run.configure_app`` makes.

They were written for, and are tested on, Rasa :data:`RASA_VERSION` only: :func:`install`
refuses any other version, since a patch to a changed method could silently undo a
safeguard. The Rasa server's entry point (``rasa_plugins.run_rasa``) installs them before
Rasa starts; the tracker store and the REST channel install them again (harmless), so a
Rasa server started some other way still has them. Tests that install them undo them
(:func:`uninstall`).
"""
from __future__ import annotations

import importlib
from typing import Any

#: the Rasa version these patches were written for (constraints.txt pins it)
RASA_VERSION = "3.6.21"

#: (module, class or None, attribute) of everything :func:`install` changes
PATCHED = (
    ("rasa.core.processor", "MessageProcessor", "parse_message"),
    ("rasa.core.actions.action", "RemoteAction", "run"),
    ("rasa.core.actions.action", "RemoteAction", "_validate_action_result"),
    ("rasa.core.actions.action", None, "DEFAULT_REQUEST_TIMEOUT"),
    ("rasa.core.agent", "Agent", "handle_message"),
    ("rasa.core.tracker_store", "FailSafeTrackerStore", "on_tracker_store_error"),
    ("rasa.core.tracker_store", "FailSafeTrackerStore", "on_tracker_store_retrieve_error"),
    ("rasa.core.run", None, "configure_app"),
)
_MISSING = object()
#: the originals, taken at the first install: {(module, class, attribute): value}
_originals: dict[tuple[str, str | None, str], Any] = {}


class RasaVersionError(RuntimeError):
    """The installed Rasa is not the one the patches were written for."""


def check_version(version: str | None = None) -> None:
    if version is None:
        from rasa.version import __version__
        version = __version__
    if version != RASA_VERSION:
        raise RasaVersionError(
            f"this assistant's changes to Rasa were written for Rasa {RASA_VERSION}, and Rasa "
            f"{version} is installed: install the pinned version (make install, from constraints.txt) or review "
            "rasa_plugins/patches.py against the new Rasa first")


def _owner(module: str, cls: str | None) -> Any:
    found = importlib.import_module(module)
    return getattr(found, cls) if cls else found


def install() -> None:
    """Check the Rasa version, then install every patch (idempotent; re-reads
    ``ACTION_TIMEOUT``)."""
    check_version()
    for module, cls, name in PATCHED:
        if (module, cls, name) not in _originals:
            _originals[(module, cls, name)] = vars(_owner(module, cls)).get(name, _MISSING)

    from rasa_plugins import nlu_input, rasa_speedups, resilience

    nlu_input.install()
    resilience.install()
    rasa_speedups.install()
    _guard_every_app()


def uninstall() -> None:
    """Put back every attribute :func:`install` changed (for tests)."""
    for (module, cls, name), original in _originals.items():
        owner = _owner(module, cls)
        if original is _MISSING:
            if name in vars(owner):
                delattr(owner, name)
        else:
            setattr(owner, name, original)
    _originals.clear()


def _guard_every_app() -> None:
    """The HTTP guard on every app Rasa makes (``serve_application`` looks the function up
    at call time)."""
    import rasa.core.run

    from rasa_plugins import http_guard

    configure = getattr(rasa.core.run.configure_app, "__wrapped__", rasa.core.run.configure_app)

    def configure_app(*args, **kwargs):
        app = configure(*args, **kwargs)
        http_guard.install(app)
        return app

    configure_app.__wrapped__ = configure  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app
