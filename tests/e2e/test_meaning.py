"""End-to-end: the meaning voter in the real Rasa server, its scores through the tracker to
the per-message check in the action server, and what the counsellor is told."""
from __future__ import annotations

from support import case_state, texts

# Phrasings no rule pattern or classifier example covers (checked when written: the rules
# find nothing in them and the intent classifier hears "inform").
ONLY_MEANING_SELF_HARM = "yp says the river by the park looks calm and she thinks about walking in"
ONLY_MEANING_ONGOING = "he joined her fortnite squad last night under a different name"


def flags_of(replies: list[dict]) -> dict[str, dict]:
    state = case_state(replies) or {}
    return {f["code"]: f for f in state.get("flags") or []}


def test_a_flag_only_meaning_finds_is_raised_explained_and_kept(chat):
    chat.say('/start_case{"caller_role":"child"}')
    replies = chat.say(ONLY_MEANING_SELF_HARM)
    first = texts(replies)[0]
    assert first.startswith("⚠ RED FLAG: Self-harm or suicide risk"), first
    flag = flags_of(replies)["self_harm_risk"]
    assert flag["found_by"].startswith("meaning (sentence encoder) 0.")
    assert "river" in flag["words"]
    assert chat.slots()["flag_sources"]["self_harm_risk"].startswith("meaning:")
    # the parse data carries every flag's score, not the words of those under the bar
    user = [e for e in chat.tracker()["events"] if e["event"] == "user"][-1]
    votes = user["parse_data"]["meaning"]["votes"]
    assert set(votes) == {"self_harm_risk", "offender_known", "ongoing_risk"}
    assert all("words" not in v for v in votes.values() if v["score"] < v["threshold"])


def test_meaning_reads_the_whole_of_a_long_message(chat):
    """The NLU reads the first 1,000 characters; the meaning voter reads all of it: a
    phrasing only it knows, at character 19,000, raises its flag."""
    chat.say('/start_case{"caller_role":"child"}')
    filler = "we talked about school, her friends and the football on saturday. " * 400
    text = filler[:19_000] + " " + ONLY_MEANING_ONGOING + ". " + "ok " * 100
    replies = chat.say(text)
    flag = flags_of(replies).get("ongoing_risk")
    assert flag is not None and "meaning" in flag["found_by"], case_state(replies)
    assert "fortnite" in flag["words"] and len(flag["words"]) < 400


def test_raised_in_error_records_which_check_raised_it(chat):
    chat.say('/start_case{"caller_role":"child"}')
    chat.say(ONLY_MEANING_ONGOING)
    chat.say('/dismiss_flag{"flag":"ongoing_risk","reason":"misread"}')
    from actions.casenotes import CaseStore

    case_id = chat.slots()["case_id"]
    dismissed = [e for e in CaseStore().events(case_id) if e["kind"] == "red_flag_dismissed"]
    assert dismissed and dismissed[-1]["actor"].startswith("meaning:")


def test_the_case_so_far_decides_ongoing_risk(chat):
    """Once the offender is known to the child, words about where he is now are ongoing
    risk at a lower bar (the words alone score under the usual threshold)."""
    chat.say('/start_case{"caller_role":"parent_carer"}')
    chat.say("it's her uncle")
    replies = chat.say("he's staying with them this week")
    flag = flags_of(replies).get("ongoing_risk")
    assert flag is not None and "meaning" in flag["found_by"], case_state(replies)


def test_a_whole_message_command_is_not_read_for_meaning(chat):
    """"what next?" says nothing but the command: the encoder's time is not spent on it,
    while a note after "add note:" is read like any message."""
    chat.say('/start_case{"caller_role":"child"}')
    chat.say("what next?")
    chat.say("add note: she keeps looking at the river and says it looks peaceful")
    users = [e for e in chat.tracker()["events"] if e["event"] == "user"]
    assert "meaning" not in users[-2]["parse_data"]
    assert users[-1]["parse_data"]["meaning"]["votes"]["self_harm_risk"]["score"] > 0.5
