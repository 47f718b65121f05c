"""In the Rasa server: a failed custom action is said out loud, and fails fast.

Rasa 3.6 logs a custom action that fails (action server down, a 5xx, a timeout) and
carries on with no events, so the counsellor sees nothing: for the per-message red-flag
check that means a message silently goes unchecked. Its default timeout for an action
call is 300 s. :func:`install` changes both, in the Rasa server process:

* the action call timeout is ``ACTION_TIMEOUT`` seconds (default 10), and once a call
  for a message has timed out, the other actions of that message are not tried (the
  counsellor hears within one timeout, not one per action);
* ``RemoteAction.run`` answers a failure with one bot message, instead of nothing. For
  ``action_validate_slot_mappings`` (the per-message check, run from Rasa's
  ``action_extract_slots``, which keeps bot messages) it says the red-flag check did not
  run; for any other action that the step was not done. The message carries a marker in
  its metadata (``helpline_fault``) that the action server reads when it is back, to
  check the messages it missed (actions/actions.py, ``missed_messages``).

It also stops Rasa from carrying on without the conversation when the tracker store
fails. Rasa wraps every tracker store in ``FailSafeTrackerStore``, which on a database
error logs it and answers "no such conversation": the message is then handled as the
first of a NEW conversation (a new case, the red flags and the deadline forgotten) and
kept only in the server's memory. After :func:`install` the error is raised instead, and
any message the Rasa server could not handle (conversation store or Redis down, a fault)
is answered, on whatever channel it came from, with ``NOT_HANDLED_TEXT`` rather than
nothing; the error's type is logged, never the message.

Rasa has no hook for any of this, so it is a small, documented monkeypatch of four
methods and one constant, installed when the Rasa server loads our tracker store or REST channel
(endpoints.yml, credentials.yml). tests/e2e/test_faults.py exercises it end to end.
"""
from __future__ import annotations

import logging
from actions import settings
from actions.messages import say
from actions.metadata import FAILED_STEP, FAULT_KEY, SKIPPED_CHECK  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)

HOOK = "action_validate_slot_mappings"
DEFAULT_TIMEOUT = 10.0

# what the counsellor is told, from data/messages.yml (fault.*)
CHECK_SKIPPED_TEXT = say("fault.check_skipped")
NOT_HANDLED_TEXT = say("fault.not_handled")
STEP_FAILED_TEXT = say("fault.step_failed")


def action_timeout() -> float:
    """Seconds the Rasa server waits for one custom action (``ACTION_TIMEOUT``)."""
    raw = settings.env("ACTION_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(f"ACTION_TIMEOUT={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError("ACTION_TIMEOUT must be more than 0 seconds")
    return value


def fault_event(action_name: str):
    """The bot message that replaces a failed action's silence."""
    from rasa.shared.core.events import BotUttered

    skipped = action_name == HOOK
    return BotUttered(
        text=CHECK_SKIPPED_TEXT if skipped else STEP_FAILED_TEXT,
        data={},
        metadata={FAULT_KEY: SKIPPED_CHECK if skipped else FAILED_STEP, "action": action_name},
    )


class TrackerStoreUnavailable(RuntimeError):
    """The conversation store failed: the message cannot be handled with its conversation."""


def refuse_without_tracker(self, error: Exception) -> None:
    """``FailSafeTrackerStore``'s error callback: raise, never fall back to memory."""
    logger.error("tracker store failed (%s); the message is not handled",
                 type(error).__name__)
    raise TrackerStoreUnavailable("the conversation store is not answering") from error


async def tell_the_counsellor(message, text: str) -> None:
    try:
        await message.output_channel.send_text_message(message.sender_id, text)
    except Exception as exc:  # the channel itself is broken: nothing more to do
        logger.error("could not tell the counsellor either (%s)", type(exc).__name__)


_timed_out: dict[str, str] = {}  # conversation -> the message whose action call timed out


def timed_out(exc: BaseException) -> bool:
    """An action call that ran out of ``ACTION_TIMEOUT`` (raw, or wrapped by Rasa)."""
    import asyncio

    return isinstance(exc, asyncio.TimeoutError) or isinstance(
        exc.__cause__ or exc.__context__, asyncio.TimeoutError)


def install() -> None:
    """Patch Rasa's remote action call (again: idempotent, re-reads ``ACTION_TIMEOUT``)."""
    import rasa.core.actions.action as rasa_action
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore

    FailSafeTrackerStore.on_tracker_store_error = refuse_without_tracker
    FailSafeTrackerStore.on_tracker_store_retrieve_error = refuse_without_tracker

    rasa_action.DEFAULT_REQUEST_TIMEOUT = action_timeout()  # read at call time in run()
    original_run = getattr(RemoteAction.run, "__wrapped__", RemoteAction.run)

    async def run_or_say_so(self, output_channel, nlg, tracker, domain):
        message_id = getattr(tracker.latest_message, "message_id", None)
        if message_id and _timed_out.get(tracker.sender_id) == message_id:
            # the check of this very message timed out: do not keep the counsellor
            # waiting another ACTION_TIMEOUT for the step after it
            logger.error("custom action %s not tried: the action server timed out on this "
                         "message; the counsellor was told", self.name())
            return [fault_event(self.name())]
        try:
            events = await original_run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # the action declined to run: Rasa lets the policies choose another
        except Exception as exc:  # connection refused, timeout, 5xx, bad response
            if timed_out(exc) and message_id:
                _timed_out[tracker.sender_id] = message_id
            logger.error("custom action %s failed (%s); the counsellor was told",
                         self.name(), type(exc).__name__)
            return [fault_event(self.name())]
        _timed_out.pop(tracker.sender_id, None)
        return events

    run_or_say_so.__wrapped__ = original_run  # type: ignore[attr-defined]
    RemoteAction.run = run_or_say_so

    original_handle = getattr(Agent.handle_message, "__wrapped__", Agent.handle_message)

    async def handle_or_say_so(self, message):
        try:
            return await original_handle(self, message)
        except Exception as exc:  # every channel calls this; Rasa would log the text
            logger.error("a message was not handled (%s); the counsellor was told",
                         type(exc).__name__)
            await tell_the_counsellor(message, NOT_HANDLED_TEXT)
            return None

    handle_or_say_so.__wrapped__ = original_handle  # type: ignore[attr-defined]
    Agent.handle_message = handle_or_say_so
    logger.info("custom actions: %.0f s timeout, failures are told to the counsellor",
                rasa_action.DEFAULT_REQUEST_TIMEOUT)
