"""What the assistant says lives in data/messages.yml (issue 17): every message the code
asks for exists there with the placeholders the code fills in, every message there is
used, no sentence is written in the actions' Python, and a value is always inserted as
it is (a counsellor's "{x}" is never read as a placeholder)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from actions import messages, settings
from actions.messages import MESSAGE_ID, MessageError, say
from support import ROOT

#: names such as "advice.yml" have the shape of an id, but are files
FILE_SUFFIXES = {"yml", "yaml", "py", "json", "db", "md", "txt", "key"}
#: the modules of the action server (rasa_plugins/ runs in the Rasa server)
MODULES = sorted([*(ROOT / "actions").rglob("*.py"), *(ROOT / "rasa_plugins").rglob("*.py")])


def parsed() -> list[tuple[Path, ast.AST]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in MODULES]


def is_say(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "say") or (
        isinstance(func, ast.Attribute) and func.attr == "say")


def literal_ids(node: ast.AST) -> list[str] | None:
    """The ids a say() call's first argument can be: a string, or either branch of
    ``"a" if x else "b"``; None when it is computed (a variable, a lookup)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = literal_ids(node.body), literal_ids(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def say_calls() -> list[tuple[str, list[str], set[str] | None]]:
    """(where, ids, keyword names) of every say() call with literal ids; the names are
    None when the call passes ``**values``."""
    found = []
    for path, tree in parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and is_say(node) and node.args:
                ids = literal_ids(node.args[0])
                if ids is None:
                    continue
                names = {k.arg for k in node.keywords}
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.append((where, ids, None if None in names else names))
    return found


def string_constants() -> dict[str, str]:
    """Every string constant of the modules that has the shape of a message id, with
    where it first appears."""
    found: dict[str, str] = {}
    for path, tree in parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and MESSAGE_ID.fullmatch(node.value):
                found.setdefault(node.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_file_loads_and_every_message_is_checked():
    table = messages.messages()
    assert len(table) > 100
    for message_id, (text, names) in table.items():
        assert MESSAGE_ID.fullmatch(message_id) and text
        assert names == messages.placeholders_of(message_id, text)


def test_every_message_the_code_asks_for_exists_with_the_placeholders_it_fills():
    table = messages.messages()
    calls = say_calls()
    assert len(calls) > 150, "the scan finds the code's say() calls"
    problems = []
    for where, ids, names in calls:
        for message_id in ids:
            if message_id not in table:
                problems.append(f"{where}: no message {message_id!r}")
            elif names is not None and names != table[message_id][1]:
                problems.append(f"{where}: {message_id!r} has {sorted(table[message_id][1])}, "
                                f"the code gives {sorted(names)}")
    assert not problems, "\n".join(problems)


def test_every_id_written_in_the_code_exists():
    """Ids kept in tables (``roles.LABELS``, ``VOTERS``, button specs) are said later
    through a variable: each one must exist too."""
    table = messages.messages()
    groups = {message_id.split(".")[0] for message_id in table}
    unknown = {value: where for value, where in string_constants().items()
               if value.split(".")[0] in groups and value not in table
               and value.rsplit(".", 1)[1] not in FILE_SUFFIXES}
    assert not unknown, unknown


def test_every_message_in_the_file_is_used():
    used = set(string_constants())
    unused = sorted(set(messages.messages()) - used)
    assert not unused, f"messages no code says: {unused}"


def words(node: ast.AST) -> bool:
    """The node is text written in the code: a string with letters, or an f-string with
    letters outside its fields."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(words(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return words(node.left) or words(node.right)
    if isinstance(node, ast.IfExp):
        return words(node.body) or words(node.orelse)
    return False


def test_no_sentence_is_written_in_the_actions_python():
    """What is sent to the counsellor (a message's text, a button's title, an
    announcement) comes from say(), never from words in the code."""
    found = []
    for path, tree in parsed():
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                args = [k.value for k in node.keywords if k.arg == "text"] if \
                    name == "utter_message" else node.args[:1] if name == "Announcement" else []
                found += [f"{where}:{node.lineno}" for a in args if words(a)]
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and key.value == "title" and words(value):
                        found.append(f"{where}:{node.lineno}")
    assert not found, found


# --- say() ---------------------------------------------------------------------------------

def test_a_message_with_its_values():
    assert say("escalation.recorded", time="21:05", flags="Self-harm or suicide risk") == (
        "Escalation recorded at 21:05 for: Self-harm or suicide risk. Stay with the caller; "
        "type 'what next?' for the next step.")
    assert say("note.added") == "Noted in the case record."
    assert say("notes.saved_again", count=3).startswith("✓ The case database is back: 3 ")


def test_an_unknown_id_is_refused_by_name():
    with pytest.raises(MessageError, match=r"'red_flag\.no_such_message'"):
        say("red_flag.no_such_message")


def test_a_missing_value_is_refused_naming_the_message_and_the_placeholder():
    with pytest.raises(MessageError, match=r"'dismiss\.done'.*no value for reason"):
        say("dismiss.done", flag="Offender known to the child")
    with pytest.raises(MessageError, match=r"'note\.added'.*no placeholder for time"):
        say("note.added", time="21:00")
    with pytest.raises(MessageError, match=r"'deadline\.set'"):
        say("deadline.set", deadline="21:00 today", word="typo")


@pytest.mark.parametrize("value", ["{x}", "{0}", "{}", "{{", "}", "{flag}", "{reason!r:>9}",
                                   "%s %(x)s", "{0.__class__}", "\\n"])
def test_a_value_is_inserted_as_given(value):
    said = say("dismiss.done", flag=value, reason=value)
    assert said == (f"Marked “{value}” as raised in error (reason: {value}). If it comes up "
                    "again with new words, I will raise it again.")


def test_a_value_is_never_formatted_by_its_own_rules():
    class Odd:
        def __format__(self, spec):
            raise AssertionError("a value's __format__ is never called")

        def __str__(self):
            return "odd {0}"

    assert say("stage.back", stage=Odd()) == "Back to odd {0}."


def test_the_channels_read_their_answers_from_the_file():
    assert settings.EMPTY_TEXT == say("channel.empty")
    assert settings.too_long_text(25_000) == say(
        "channel.too_long", length="25,000", limit=f"{settings.max_message_chars():,}")
    with pytest.raises(AttributeError):
        settings.NO_SUCH_SETTING  # noqa: B018


# --- the file's checks ---------------------------------------------------------------------

def load_text(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "messages.yml"
    path.write_text(text, encoding="utf-8")
    return messages.load(path)


@pytest.mark.parametrize("text, error", [
    ('a.b: "Say {0}"', r"'a\.b'.*\{0\}"),
    ('a.b: "Say {}"', r"'a\.b'.*\{\}"),
    ('a.b: "Say {x.y}"', r"'a\.b'.*\{x\.y\}"),
    ('a.b: "Say {x[0]}"', r"'a\.b'.*\{x\[0\]\}"),
    ('a.b: "Say {x:>9}"', r"'a\.b'.*\{x:>9\}"),
    ('a.b: "Say {x!r}"', r"'a\.b'.*\{x!r\}"),
    ('a.b: "Say {x"', r"'a\.b'"),
    ('a.b: "Say x}"', r"'a\.b'"),
    ('a.b: "one"\na.b: "two"', r"'a\.b' is defined twice"),
    ('Bad Id: "x"', r"'Bad Id' is not a message id"),
    ('nodot: "x"', r"'nodot' is not a message id"),
    ("a.b: 3", r"'a\.b'.*not a \(non-empty\) string"),
    ("a.b:", r"'a\.b'.*not a \(non-empty\) string"),
    ("- a.b", r"expected a mapping"),
])
def test_a_broken_file_is_refused_naming_the_message(tmp_path, text, error):
    with pytest.raises(MessageError, match=error):
        load_text(tmp_path, text)


def test_a_literal_brace_is_written_twice(tmp_path):
    table = load_text(tmp_path, 'a.b: "{{literal}} and {name}"')
    assert table["a.b"] == ("{{literal}} and {name}", frozenset({"name"}))
    assert table["a.b"][0].format_map({"name": "x"}) == "{literal} and x"


def test_the_file_is_read_once():
    assert messages.messages() is messages.messages()
