"""Settings read from the environment (see README, "Configuration").

Every value is read when it is asked for, never at import time, so tests and two
stacks side by side can set their own environment.
"""
from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def env(name: str, default: str | None = None) -> str | None:
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


def country() -> str:
    """Which referral pathway file to use (``HELPLINE_COUNTRY``, e.g. GB)."""
    return (env("HELPLINE_COUNTRY", "generic") or "generic").upper()


def production() -> bool:
    return (env("HELPLINE_ENV", "development") or "").lower() == "production"


PRODUCTION_NEEDS = ("RASA_JWT_SECRET", "CASE_NOTES_KEY", "TRACKER_DB_URL", "CASE_DB_URL",
                    "REDIS_URL")


def production_problems(environ: dict[str, str] | None = None) -> list[str]:
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


def production_error(environ: dict[str, str] | None = None) -> str | None:
    """The one-line refusal for a production process with missing settings, or None."""
    environ = os.environ if environ is None else environ
    if environ.get("HELPLINE_ENV", "").strip().lower() != "production":
        return None
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
    limit = max_message_chars()
    return (f"That message is too long ({length:,} characters; the limit is {limit:,}). "
            "It was not saved. Send it in shorter parts.")


EMPTY_TEXT = "That message was empty, so there was nothing to check or save."


def is_blank(text: object) -> bool:
    """An empty or whitespace-only message: answered by the channel, never sent to the NLU
    (the intent classifier has no features to read from it)."""
    return isinstance(text, str) and not text.strip()


def clean_text(text: str) -> str:
    """A lone UTF-16 surrogate (JSON "\\ud800") is not text in any encoding: Rasa cannot
    store or log it. It becomes U+FFFD, as it would be shown."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
