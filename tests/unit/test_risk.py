"""Deterministic red-flag rules (actions/risk.py, data/risk/red_flags.yml)."""
from __future__ import annotations

import pytest

from actions import risk
from support import ROOT


def codes(text: str) -> list[str]:
    return [f.code for f in risk.detect_flags(text)]


@pytest.mark.parametrize("text", [
    "she keeps saying she'd be better off dead",
    "he said he wants to kill himself",
    "my daughter is killing herself over this",
    "she's been cutting again",
    "yp typed 'kms'",
    "he says he'll unalive himself",
    "she's suicidal",
    "he sounds suicidle",  # misspelt
    "she said everyone would be better off without her",
    "he can't go on like this",
    "she's talking about taking all her pills",
    "he self-harmed two years ago",  # history still counts
    "not sure if she's safe, she said she wants to die",  # negation in another clause
    "her friend told me she's been harming herself",  # reported speech
    "the young person is traumatised",
])
def test_self_harm_is_caught(text):
    assert "self_harm_risk" in codes(text)


@pytest.mark.parametrize("text", [
    "no thoughts of self-harm",
    "denies suicidal thoughts",
    "she's not suicidal",
    "she doesn't want to hurt herself",
    "she sent one picture on insta",
    "he's worried his dad will find out",
])
def test_no_self_harm_flag_when_negated_or_absent(text):
    assert "self_harm_risk" not in codes(text)


@pytest.mark.parametrize("text", [
    "turns out it's her cousin",
    "the offender is his uncle",
    "her mum's boyfriend is behind it",
    "it's a boy from her school",
    "the account is someone she knows",
    "he is her ex",
    "it's a friend of a friend",
])
def test_known_offender_is_caught(text):
    assert "offender_known" in codes(text)


@pytest.mark.parametrize("text", [
    "it's a stranger, not someone she knows",
    "she's told her mum",
    "my son is with his dad tonight",
    "new call, it's a mum worried about her son",
    "it's a dad calling about his daughter",
])
def test_known_offender_not_raised_for_strangers_or_the_family_helping(text):
    assert "offender_known" not in codes(text)


@pytest.mark.parametrize("text", [
    "he's still messaging her",
    "he knows where she lives",
    "says he'll turn up at her school",
    "she's still talking to him",
    "he keeps making new accounts",
    "he wants to meet up",
])
def test_ongoing_risk_is_caught(text):
    assert "ongoing_risk" in codes(text)


@pytest.mark.parametrize("text", [
    "not in contact any more",
    "he doesn't know where she lives",
    "no longer in contact",
    "he used to message her but she blocked him weeks ago and nothing since",
])
def test_ongoing_risk_not_raised_when_resolved(text):
    assert "ongoing_risk" not in codes(text)


@pytest.mark.parametrize("text, code", [
    # word lists stand inside alternatives: "keeps" + any contact verb
    ("he keeps ringing her from withheld numbers", "ongoing_risk"),
    # the offender named after what he has, the relation after a few words
    ("the person who has his pics is his mum's boyfriend", "offender_known"),
    ("its his older step-brother who has the pics", "offender_known"),
    # threats to come in person, living together
    ("he'll come and meet her after school and sort it out in person", "ongoing_risk"),
    ("says he'll come and find her at the bus stop", "ongoing_risk"),
    ("they live together", "ongoing_risk"),
    ("she's got a lesson with him tomorrow", "ongoing_risk"),
    # wishing not to exist, with or without the apostrophe
    ("told his sister he wishes he wasnt here anymore", "self_harm_risk"),
    ("she wishes she wasn't alive", "self_harm_risk"),
    ("he said he wished he'd never been born", "self_harm_risk"),
    # a pupil in another year, images going round, the offender at home
    ("a boy in yr 10 has a nude of the girl", "offender_known"),
    ("he's been showing it round on his phone", "ongoing_risk"),
    ("he'll put it in the group chat unless she sends another one", "ongoing_risk"),
    ("mum's boyfriend lives with them", "ongoing_risk"),
    # "sh" as counsellors write it; not being missed; means put by
    ("sh last night, first time in ages", "self_harm_risk"),
    ("'no one would even notice if i was gone tbh'", "self_harm_risk"),
    ("pills stashed in her sock drawer", "self_harm_risk"),
    ("she feels 'dirty and broken'", "self_harm_risk"),
    # the child's words in quotes match like any words
    ("said he'll 'find her irl'", "ongoing_risk"),
    # a negation in a condition does not undo the threat
    ("if she doesn't send more he'll come and meet her after school", "ongoing_risk"),
    # the offender's age after the relation; in the house now; images going round
    ("her cousin, 18, screen recorded the facetime", "offender_known"),
    ("stepdad took the photos, hes downstairs now", "ongoing_risk"),
    ("heard the images got passed round at a party", "ongoing_risk"),
    ("yp says 'i just want it all to end, i cant face anyone'", "self_harm_risk"),
    ("gran found fresh marks on her wrists last night", "self_harm_risk"),
    ("her stepdad has been making her send pics", "offender_known"),
    ("says the man next door has been messaging her", "offender_known"),
    ("his ex-gf has been showing his nudes to her friends", "offender_known"),
    ("he still lives at her house", "ongoing_risk"),
    ("they're dming his sister now", "ongoing_risk"),
    ("she's still in the group chat with him", "ongoing_risk"),
    ("mentions cutting", "self_harm_risk"),
    ("she's been burning herself", "self_harm_risk"),
    ("yp says whats the point in anything", "self_harm_risk"),
    ("he said he'd jump off the bridge", "self_harm_risk"),
    ("its her ex bf", "offender_known"),
    ("the account is run by her step-brother", "offender_known"),
    # warning signs without the word "suicide"
    ("says she may as well be dead", "self_harm_risk"),
    ("found her with a scarf tied around her neck", "self_harm_risk"),
    ("it would be his second attempt", "self_harm_risk"),
    ("he's sitting on the ledge outside his window", "self_harm_risk"),
    ("she posted a goodbye message on her story", "self_harm_risk"),
    ("he left a letter for his dad and went out", "self_harm_risk"),
    ("she's locked herself in the toilet", "self_harm_risk"),
    ("it's a lad she used to go out with", "offender_known"),
    ("someone hacked her snapchat", "ongoing_risk"),
    ("he's still on the discord server with them", "ongoing_risk"),
    ("it's her mate from the boxing club", "offender_known"),
    ("they've got his full name and his school", "ongoing_risk"),
    ("then he snapchatted his sister", "ongoing_risk"),
    ("she says there's no point being alive", "self_harm_risk"),
    # added after two more blind sets (2026-11-25): slang, hints, closeness, exposure
    ("she keeps saying sewer slide", "self_harm_risk"),
    ("he gave his ps5 to his cousin and said he won't be needing it", "self_harm_risk"),
    ("googled how high the multistorey is", "self_harm_risk"),
    ("swallowed a handful of her nan's painkillers", "self_harm_risk"),
    ("suicidal - no plan", "self_harm_risk"),
    ("she wnats to die", "self_harm_risk"),
    ("stepbrother, stays every other weekend", "offender_known"),
    ("it's one of her brother's mates", "offender_known"),
    ("she's known him since primary", "offender_known"),
    ("he met him at cadets a few times", "offender_known"),
    ("the lad is in her form, sits behind her", "ongoing_risk"),
    ("he lives three doors down", "ongoing_risk"),
    ("she unblocked him last night", "ongoing_risk"),
    ("paid £50 and now he wants £200", "ongoing_risk"),
    ("made a fake insta using her name and pics", "ongoing_risk"),
    ("is he still messaging her? yes", "ongoing_risk"),
])
def test_phrasings_beyond_the_exact_patterns(text, code):
    assert code in codes(text)


@pytest.mark.parametrize("text, code", [
    # a wildcard never stands for a negation
    ("he has not got her address", "ongoing_risk"),
    ("he hasn't asked for any more pics", "ongoing_risk"),
    ("she met him online, never in person", "offender_known"),
    ("add a note mum is deaf", "ongoing_risk"),
    ("found her through yt comments", "ongoing_risk"),
    ("she took a selfie on the balcony", "self_harm_risk"),
    ("she tried again to block him", "self_harm_risk"),
    ("he attempted to call her twice", "self_harm_risk"),
    ("no previous attempts", "self_harm_risk"),
    ("she met her friends at the park after school", "offender_known"),
    # a yes/no question is what the counsellor will ask, not what the child said
    ("did he threaten to meet her?", "ongoing_risk"),
    ("q: does she know him?", "offender_known"),
    # answered no right after
    ("thoughts of hurting herself - she said no", "self_harm_risk"),
    ("asked about suicide, she said no", "self_harm_risk"),
    ("he met him online on a gaming discord", "offender_known"),
    ("her mum's phone number is on file", "ongoing_risk"),
    ("she's seeing the school counsellor", "offender_known"),
    ("the number of messages", "self_harm_risk"),
    ("this is killing me, she said about the wait", "self_harm_risk"),
    # the people helping the child, and the counsellor's own call
    ("add note: sister will stay with him tonight", "ongoing_risk"),
    ("his dad's going to sit with him tonight", "ongoing_risk"),
    ("yp agreed to stay on the line while we talk", "ongoing_risk"),
    # a relation named as the caller is not the offender
    ("teacher calling about a year 10 pupil", "offender_known"),
    ("her aunt is on the line about her niece, 14", "offender_known"),
    ("she lives with her mum and dad", "ongoing_risk"),
    ("she wants to be here for her sister", "self_harm_risk"),
    ("denies sh, says she's ok", "self_harm_risk"),
    ("mum, 45, is calling about her son", "offender_known"),
    ("asked directly about suicide/self harm - says no, feels stupid", "self_harm_risk"),
    ("worker asked about self harm, lad said no", "self_harm_risk"),
    ("mums brother is a police officer, hes helping her make the report", "offender_known"),
    ("daughter sent pics to someone on snap last month", "ongoing_risk"),
    ("someone posted a pic after she refused to send more", "ongoing_risk"),
])
def test_near_misses_stay_quiet(text, code):
    assert code not in codes(text)


@pytest.mark.parametrize("name", ["red_flags.yml", "red_flags_heldout.yml",
                                  "red_flags_heldout2.yml", "red_flags_heldout3.yml",
                                  "red_flags_heldout4.yml"])
def test_rules_alone_catch_nine_in_ten_of_each_flag_in_the_evaluation_sets(name):
    """A guard for pattern edits: the rules, without the classifier, keep their recall on
    the labelled sets of `make eval` (one of them written without sight of the patterns)."""
    import yaml

    cases = yaml.safe_load((ROOT / "tests" / "eval" / name).read_text())["cases"]
    for code in risk.RULE_CODES:
        positives = [c["text"] for c in cases if code in c["flags"]]
        missed = [t for t in positives if code not in codes(t)]
        assert len(missed) <= 0.1 * len(positives), (code, missed)


def test_flag_carries_the_words_that_raised_it():
    flag = risk.detect_flags("14yo, she keeps saying she'd be better off dead, he wants £200")[0]
    assert flag.code == "self_harm_risk" and "better off dead" in flag.words
    assert flag.rule.startswith("self_harm_risk#")


def test_every_code_has_a_label_meaning_and_escalation_step():
    for code in risk.RED_FLAG_CODES:
        info = risk.flag_info(code)
        assert info["label"] and info["meaning"] and "supervisor" in info["escalation"]


def test_empty_and_odd_input():
    assert risk.detect_flags("") == [] and risk.detect_flags("   ") == []
    assert risk.detect_flags("<img src=x onerror=alert(1)> 🙂 \u202e") == []



def test_a_long_paste_is_checked_to_the_end():
    filler = "she told me about her day at school and what she had for tea. " * 2000
    assert codes(filler + "then she said she wants to die") == ["self_harm_risk"]
    # a phrase that straddles the boundary between two checked pieces is still seen
    for cut in range(risk.CHUNK - 40, risk.CHUNK + 10, 7):
        text = "a" * 0 + ("word " * (cut // 5)) + "he knows where she lives"
        assert "ongoing_risk" in codes(text), cut


# --- what a note denies (the meaning voter reads the note without it) ---------------------

@pytest.mark.parametrize("text, denied", [
    ("no thoughts of self harm, just wants the pics gone", "no thoughts of self harm"),
    ("15m denies any SH or SI, says he's more angry than anything", "denies any SH or SI"),
    ("asked about self harm - no, never", "self harm - no, never"),
])
def test_a_plain_denial_is_found_with_its_words(text, denied):
    found = [d for d in risk.denials(text) if d.code == "self_harm_risk"]
    assert [d.words for d in found] == [denied]
    assert "self_harm_risk" not in {f.code for f in risk.detect_flags(text)}


def test_a_denial_ends_where_the_next_thing_said_begins():
    text = "no thoughts of suicide and he has been hiding pills in his room"
    assert all("pills" not in d.words for d in risk.denials(text))


def test_no_denial_of_a_flag_the_rules_raise_elsewhere_in_the_note():
    text = "no sh thoughts when asked last week, but today she said she wants to die"
    assert "self_harm_risk" in {f.code for f in risk.detect_flags(text)}
    assert not [d for d in risk.denials(text) if d.code == "self_harm_risk"]


@pytest.mark.parametrize("text", [
    "idc anymore im gonna end it tonight",
    "she said 'i dont see the point of anything anymore' and has been cutting her arms",
])
def test_any_more_before_a_disclosure_negates_nothing(text):
    # "any more" ends what comes before it ("he doesn't message any more"), never what follows
    assert "self_harm_risk" in {f.code for f in risk.detect_flags(text)}


# --- signs of distress (self_harm_distress): serious distress, unless the note denies risk --

@pytest.mark.parametrize("text", [
    "crying a lot, cant stop shaking, says she feels sick",
    "not eating or sleeping since it happened, mum says she's in bits",
    "having panic attacks every night",
])
def test_a_sign_of_distress_alone_raises_self_harm(text):
    assert "self_harm_risk" in codes(text)


@pytest.mark.parametrize("text", [
    "feels 'dirty' and 'disgusting', had 3 showers today. denies any thoughts of harming self",
    "not eating much the last few days per mum, otherwise ok, denies SH when asked",
    "crying throughout, can't stop shaking. asked re suicide - no",
])
def test_a_sign_of_distress_is_set_aside_when_the_note_denies_self_harm(text):
    assert "self_harm_risk" not in codes(text)
    assert [d.code for d in risk.denials(text)] == ["self_harm_risk"]


@pytest.mark.parametrize("text", [
    # the distress is told after the denial, with a "but": still a flag
    "denies sh but hasnt eaten since thursday and cries all night, says she feels empty",
    # a denial never sets aside a disclosure the rules raise by another line
    "not eating, denies suicidal thoughts, has been cutting her arms",
])
def test_a_denial_does_not_set_aside_what_it_does_not_answer(text):
    assert "self_harm_risk" in codes(text)


@pytest.mark.parametrize("text", [
    "Carer not sleeping herself, v anxious, asked about support for parents",
    "aunt says she's falling apart herself, nephew ok",
    "mum's in bits herself, dd coping ok",
    "mum described herself as numb",
])
def test_the_callers_own_distress_is_not_the_childs(text):
    assert "self_harm_risk" not in codes(text)


def test_the_childs_distress_told_by_the_caller_still_counts():
    assert "self_harm_risk" in codes("mum says dd is in bits, not eating, won't leave her room")


@pytest.mark.parametrize("text", [
    "to ask: any thoughts of self-harm? any previous?",
    "to ask: any plans tonight? any thoughts of ending things?",
])
def test_the_counsellors_list_of_questions_is_no_disclosure(text):
    assert "self_harm_risk" not in codes(text)


@pytest.mark.parametrize("text, code", [
    # each of these pattern lines once needed a word after it ("stopped going out")
    ("Rohan has stopped eating and last night I found him on the terrace edge", "self_harm_risk"),
    ("its her bf, theyre still together, she doesnt want to end it", "ongoing_risk"),
    ("cutting since her uncle got her to send pics; he's in custody now", "offender_known"),
    ("he found out that the man doing this to her is her mother's partner", "offender_known"),
])
def test_pattern_lines_match_what_they_were_written_for(text, code):
    assert code in codes(text)


def test_got_is_no_relative_getting_images_when_the_family_is_the_threat():
    assert "offender_known" not in codes("was told to pay or 'your family gets the video'")


@pytest.mark.parametrize("text", [
    "says he's 'not gonna be around much longer' and the sextorter is still messaging",
    "if they go round school im not gonna be around to see it",
    "i wanna die",
])
def test_gonna_and_wanna_are_read_as_one_word(text):
    # spaCy alone splits "gonna" into "gon" + "na": "not gonna be around" read as a denial
    assert "self_harm_risk" in codes(text)
