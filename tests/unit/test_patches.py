"""Every change to Rasa is installed in one place, for the Rasa version it was written
for, and can be undone."""
from __future__ import annotations

import pytest
import rasa.core.run
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor

from rasa_plugins import patches


def current():
    return (MessageProcessor.parse_message, RemoteAction.run,
            RemoteAction._validate_action_result, Agent.handle_message,
            rasa.core.run.configure_app)


def test_install_changes_rasa_and_uninstall_puts_it_back():
    before = current()
    patches.install()
    patches.install()  # twice is harmless: one layer, not two
    after = current()
    assert all(a is not b for a, b in zip(after, before))
    assert all(getattr(a, "__wrapped__", None) is b for a, b in zip(after, before))
    patches.uninstall()
    assert current() == before


def test_another_rasa_version_is_refused_before_anything_changes():
    before = current()
    with pytest.raises(patches.RasaVersionError, match="written for Rasa 3.6.21, and Rasa 3.7.0"):
        patches.check_version("3.7.0")
    patches.check_version()  # the installed one
    assert current() == before
