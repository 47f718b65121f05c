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


def reminder_minutes() -> list[int]:
    """Minutes before the deadline at which the counsellor is reminded.

    ``DEADLINE_REMINDERS`` is a comma-separated list; 0 means at the deadline.
    """
    raw = env("DEADLINE_REMINDERS", "15,0") or ""
    minutes = sorted({int(part) for part in raw.split(",") if part.strip().isdigit()}, reverse=True)
    return minutes or [15, 0]
