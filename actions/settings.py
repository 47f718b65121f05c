"""Settings read from the environment (see README, "Configuration").

Every value is read when it is asked for, never at import time, so tests and two
stacks side by side can set their own environment.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


#: every environment variable the assistant's own code reads (docs/configuration.md gives
#: each one's default and meaning): :func:`env` refuses any other name, so a new setting is
#: added here and documented there, not read ad hoc in some module
VARIABLES = frozenset({
    "RASA_PORT", "ACTIONS_PORT", "PANEL_PORT", "RASA_HOST", "ACTIONS_HOST", "HELPLINE_ENV",
    "RASA_JWT_SECRET", "CASE_NOTES_KEY", "CASE_DB_URL", "TRACKER_DB_URL", "REDIS_URL",
    "REDIS_KEY_PREFIX", "PANEL_ORIGIN", "PANEL_HOST_ORIGINS", "TOKEN_MAX_HOURS", "BOARD_HOURS",
    "MAX_MESSAGE_CHARS", "ACTION_TIMEOUT", "HELPLINE_TIMEZONE", "HELPLINE_COUNTRY",
    "DEADLINE_REMINDERS", "DUCKLING_URL", "HELPLINE_DEADLINE_READER", "HELPLINE_ENCODER_DIR",
    "HELPLINE_MEANING_VOTER", "HELPLINE_NLU_THREAD", "RETENTION_DAYS", "AUDIT_LOG",
})


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    """The environment variable ``name`` (one of :data:`VARIABLES`), stripped; ``default``
    when it is unset or blank."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not a setting: add it to actions/settings.py VARIABLES "
                       "and docs/configuration.md")
    value = os.environ.get(name, "").strip()
    return value or default


def timezone() -> ZoneInfo:
    """The helpline's time zone (``HELPLINE_TIMEZONE``, IANA name, default UTC)."""
    name = env("HELPLINE_TIMEZONE", "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"HELPLINE_TIMEZONE={name!r} is not an IANA time zone name "
            "(for example Europe/London or America/New_York)"
        ) from exc


def duckling_url() -> str | None:
    """A Duckling server to read times with (``DUCKLING_URL``, e.g. http://duckling:8000);
    unset: Duckling embedded in the action server (the default)."""
    return (env("DUCKLING_URL") or "").strip() or None


def country() -> str:
    """Which referral pathway file to use (``HELPLINE_COUNTRY``, e.g. GB)."""
    return (env("HELPLINE_COUNTRY", "generic") or "generic").upper()


ENVIRONMENTS = ("development", "production")


def helpline_env(environ: Mapping[str, str] | None = None) -> str:
    """``HELPLINE_ENV`` as one of :data:`ENVIRONMENTS` (unset: development).

    The one parser of it: every process (launcher, Rasa server, action server, panel
    server, case-notes commands) asks here, so they can never disagree about the mode.
    Surrounding white space and case are ignored; any other value ("prod", "staging") is
    refused rather than silently running in development mode."""
    environ = os.environ if environ is None else environ
    value = (environ.get("HELPLINE_ENV") or "").strip().lower() or "development"
    if value not in ENVIRONMENTS:
        raise ValueError(f"HELPLINE_ENV={environ.get('HELPLINE_ENV')!r} is not one of "
                         f"{', '.join(ENVIRONMENTS)}")
    return value


def production(environ: Mapping[str, str] | None = None) -> bool:
    return helpline_env(environ) == "production"


PRODUCTION_NEEDS = ("RASA_JWT_SECRET", "CASE_NOTES_KEY", "TRACKER_DB_URL", "CASE_DB_URL",
                    "REDIS_URL")


def production_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """What ``HELPLINE_ENV=production`` lacks in ``environ`` (default: this process's):
    unset secrets, and stores that are not the shared PostgreSQL and Redis."""
    environ = os.environ if environ is None else environ
    problems = [name for name in PRODUCTION_NEEDS if not environ.get(name, "").strip()]
    for name in ("TRACKER_DB_URL", "CASE_DB_URL"):
        value = environ.get(name, "").strip()
        if value and not value.startswith(("postgresql://", "postgresql+")):
            problems.append(f"{name} (must be postgresql://...)")
    redis = environ.get("REDIS_URL", "").strip()
    if redis and not redis.startswith(("redis://", "rediss://")):
        problems.append("REDIS_URL (must be redis:// or rediss://...)")
    return problems


def production_error(environ: Mapping[str, str] | None = None) -> str | None:
    """The one-line refusal for a production process with missing settings, or None."""
    environ = os.environ if environ is None else environ
    try:
        if not production(environ):
            return None
    except ValueError as exc:
        return f"ERROR: {exc}."
    problems = production_problems(environ)
    if not problems:
        return None
    return ("ERROR: HELPLINE_ENV=production needs these environment variables: "
            + ", ".join(problems) + " (README, Deployment).")


def require_production_settings() -> None:
    """Raise in a production process (Rasa or action server) that lacks its settings,
    however it was started."""
    error = production_error()
    if error:
        raise RuntimeError(error)


def reminder_minutes() -> list[int]:
    """Minutes before the deadline at which the counsellor is reminded.

    ``DEADLINE_REMINDERS`` is a comma-separated list; 0 means at the deadline.
    """
    raw = env("DEADLINE_REMINDERS", "15,0") or ""
    minutes = sorted({int(part) for part in raw.split(",") if part.strip().isdigit()}, reverse=True)
    return minutes or [15, 0]


def max_message_chars() -> int:
    """The longest message the channels accept (MAX_MESSAGE_CHARS, default 20,000
    characters, about eight pages). Rasa's NLU holds the whole server for seconds on a
    100 kB message and fails on 1 MB, so a longer one is refused with a clear answer."""
    try:
        return max(1000, int(env("MAX_MESSAGE_CHARS", "20000") or 20000))
    except ValueError:
        return 20000


def too_long_text(length: int) -> str:
    from actions.messages import say

    return say("channel.too_long", length=f"{length:,}", limit=f"{max_message_chars():,}")


def empty_text() -> str:
    from actions.messages import say

    return say("channel.empty")


def __getattr__(name: str) -> str:
    """``EMPTY_TEXT``, as the channels (rasa_plugins) read it: data/messages.yml's
    ``channel.empty``, read on first use, never at import time."""
    if name == "EMPTY_TEXT":
        return empty_text()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_blank(text: object) -> bool:
    """An empty or whitespace-only message: answered by the channel, never sent to the NLU
    (the intent classifier has no features to read from it)."""
    return isinstance(text, str) and not text.strip()


def clean_text(text: str) -> str:
    """A lone UTF-16 surrogate (JSON "\\ud800") is not text in any encoding: Rasa cannot
    store or log it. It becomes U+FFFD, as it would be shown."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# --- where the panel lives, and who may frame it ------------------------------------------------

def _origin(value: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-case, no path; ValueError if it has none."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password:
        raise ValueError(f"{value!r} is not an http(s) origin such as https://panel.example.org")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{port}".lower()  # as a browser sends it


def panel_origin(environ: Mapping[str, str] | None = None) -> str:
    """The origin the side panel is served from (``PANEL_ORIGIN``): the only origin the
    Rasa server's CORS and Socket.IO accept. Default: the panel server of this machine,
    ``http://RASA_HOST:PANEL_PORT``."""
    environ = os.environ if environ is None else environ
    raw = (environ.get("PANEL_ORIGIN") or "").strip()
    if not raw:
        host = (environ.get("RASA_HOST") or "127.0.0.1").strip()
        raw = f"http://{host}:{(environ.get('PANEL_PORT') or '8080').strip()}"
    return _origin(raw)


def host_origins(environ: Mapping[str, str] | None = None) -> list[str]:
    """Origins of the helpline pages allowed to frame the panel and hand it a token
    (``PANEL_HOST_ORIGINS``, comma-separated). The panel's own origin (the demo page) is
    always allowed; nothing else is unless named here."""
    environ = os.environ if environ is None else environ
    origins = [panel_origin(environ)]
    for part in (environ.get("PANEL_HOST_ORIGINS") or "").split(","):
        if part.strip() and _origin(part) not in origins:
            origins.append(_origin(part))
    return origins


# --- tokens and request sizes ----------------------------------------------------------------

def hours(name: str, default: str) -> float:
    """A positive number of hours from the environment variable ``name``; refused, naming
    the variable, when it is not one."""
    raw = env(name, default) or default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of hours") from None
    if value <= 0:
        raise ValueError(f"{name} must be more than 0")
    return value


def token_max_hours() -> float:
    """The longest life a token may have (``TOKEN_MAX_HOURS``, default 12): a token whose
    ``exp`` lies further ahead, or that has none, is refused everywhere."""
    return hours("TOKEN_MAX_HOURS", "12")


def board_hours() -> float:
    """How long an open case stays on the supervisor's board after its last event
    (``BOARD_HOURS``, default 12)."""
    return hours("BOARD_HOURS", "12")


#: Characters of one message that the NLU reads (intent and entities). The red-flag and
#: deadline checks always read the whole message; the classifier needs only its start, and
#: Rasa's NLU grows in time and memory with the length (20,000 characters: 5 s and 1 GB).
NLU_MAX_CHARS = 1000
#: The largest metadata object a channel takes with a message, as JSON.
MAX_METADATA_BYTES = 4096
#: The longest conversation (sender) id: the tracker and case tables hold 255 characters.
MAX_SENDER_CHARS = 128


def max_request_bytes() -> int:
    """Sanic's request size limit for the Rasa server: a whole message of the channel's
    limit, JSON-escaped at worst (6 bytes a character), plus metadata and room."""
    return max_message_chars() * 6 + MAX_METADATA_BYTES + 16 * 1024
