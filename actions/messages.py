"""What the assistant says: every sentence lives in ``data/messages.yml``, under an id.

The code chooses a message and gives the values of its ``{placeholders}`` by name::

    say("escalation.recorded", time="21:05", flags="Self-harm or suicide risk")

The file is read once, on first use, and checked as a whole: every id well formed and
said once, every text a string whose placeholders are plain names (no ``{0}``, no
``{x.y}``, no ``{x:>10}``). A call with an unknown id, or without a value for one of the
message's placeholders (or with a value it has no place for), raises :class:`MessageError`
naming the id. Values are inserted as they are: what the counsellor typed is only ever a
value, never a format string, so braces in it ("{x}", "{0}") are kept literally.
"""
from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

from actions import settings

MESSAGES_FILE: Path = settings.ROOT / "data" / "messages.yml"
#: an id: dotted lower-case words ("red_flag.raised", "button.role.child")
MESSAGE_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
PLACEHOLDER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MessageError(ValueError):
    """A message that does not exist, a placeholder without its value (or a value without
    its placeholder), or a messages file that does not hold together."""


def _unique_keys_loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise MessageError(f"{MESSAGES_FILE.name}: message {key!r} is defined twice "
                                   f"(line {key_node.start_mark.line + 1})")
            seen.add(key)
        return loader.construct_mapping(node, deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def placeholders_of(message_id: str, text: str) -> frozenset[str]:
    """The names of a text's placeholders; :class:`MessageError` naming the id for anything
    but a plain ``{name}`` (a literal brace is ``{{`` or ``}}``)."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone "{" or "}"
        raise MessageError(f"message {message_id!r}: {exc} (a literal brace is written "
                           "{{ or }})") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not PLACEHOLDER.fullmatch(name) or spec or conversion:
            field = "{" + name + (f"!{conversion}" if conversion else "") + (
                f":{spec}" if spec else "") + "}"
            raise MessageError(f"message {message_id!r}: placeholder {field} is not a plain "
                               "{name}")
        names.add(name)
    return frozenset(names)


def load(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """Every message of a messages file, checked: {id: (text, placeholder names)}."""
    import yaml

    with path.open(encoding="utf-8") as fh:
        try:
            raw = yaml.load(fh, Loader=_unique_keys_loader())  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as exc:
            raise MessageError(f"{path.name} does not parse: {exc}") from None
    if not isinstance(raw, dict):
        raise MessageError(f"{path.name}: expected a mapping of message ids to texts")
    table = {}
    for message_id, text in raw.items():
        if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
            raise MessageError(f"{path.name}: {message_id!r} is not a message id "
                               "(dotted lower-case words, such as red_flag.raised)")
        if not isinstance(text, str) or not text:
            raise MessageError(f"message {message_id!r}: the text is not a (non-empty) string")
        table[message_id] = (text, placeholders_of(message_id, text))
    return table


@lru_cache(maxsize=1)
def messages() -> dict[str, tuple[str, frozenset[str]]]:
    """The messages of ``data/messages.yml``, read and checked once."""
    return load(MESSAGES_FILE)


def say(message_id: str, /, **values: Any) -> str:
    """The message ``message_id`` with its placeholders filled in from ``values``."""
    try:
        text, names = messages()[message_id]
    except KeyError:
        raise MessageError(f"no message {message_id!r} in data/messages.yml") from None
    missing, extra = names - values.keys(), values.keys() - names
    if missing or extra:
        problems = ([f"no value for {', '.join(sorted(missing))}"] if missing else []) + (
            [f"no placeholder for {', '.join(sorted(extra))}"] if extra else [])
        raise MessageError(f"message {message_id!r}: {'; '.join(problems)}")
    # each value as a plain string: nothing in a value is read as a format
    return text.format_map({name: str(value) for name, value in values.items()})
