"""The guidance data (data/guidance/) and its module (actions/guidance.py): the data files
are consistent, follow the helpline guide's order, and the look-ups behave on the words
counsellors actually type."""
from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
from actions import guidance as G


def ids(items):
    return [i["id"] if isinstance(i, dict) else i.id for i in items]


# --------------------------------------------------------------------------- data checks

def test_data_files_are_consistent():
    assert G.validate() == []


def test_validate_catches_broken_data():
    """validate() is not a rubber stamp: each kind of mistake is reported."""
    data = copy.deepcopy(G._bundle())
    child = data["paths"]["paths"]["child"]
    child["items"][1]["stage"] = "no_such_stage"
    child["items"].append(dict(child["items"][0]))  # duplicate id
    data["platforms"]["platforms"][0]["url"] = "http://example.org/report"
    del data["takedown"]["tools"][0]["source"]
    stopncii = next(t for t in data["takedown"]["tools"] if t["id"] == "stopncii")
    stopncii["never_for_children"] = False
    data["countries"]["GB"]["takedown_tools"].append("stopncii")
    found = "\n".join(G.problems(data))
    assert "unknown stage 'no_such_stage'" in found
    assert "duplicate item id commend_contact" in found
    assert "'http://example.org/report' is not an https link" in found
    assert "take_it_down: no source" in found
    assert "stopncii: adults-only tool must be marked never_for_children" in found
    assert "countries/GB.yml: takedown_tools" in found


def all_urls():
    """Every link in every data file, with where it was found."""
    urls = []

    def walk(where, node):
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("url"):
                    urls.append((where, value))
                walk(where, value)
        elif isinstance(node, list):
            for value in node:
                walk(where, value)
        elif isinstance(node, str) and "://" in node and " " not in node:
            urls.append((where, node))

    data = G._bundle()
    for name in ("paths", "advice", "platforms", "takedown"):
        walk(name, data[name])
    for code, country in data["countries"].items():
        walk(code, country)
    return urls


def test_every_url_is_https():
    urls = all_urls()
    assert len(urls) > 20
    # null: no link we can stand by (the entry's note says why)
    bad = [(where, u) for where, u in urls
           if u is not None and not str(u).startswith("https://")]
    assert bad == []


def test_every_link_has_source_and_checked_date():
    data = G._bundle()
    entries = (data["platforms"]["platforms"] + data["takedown"]["tools"]
               + [line for c in data["countries"].values() for line in c["support_lines"]
                  if "number" in line])
    for entry in entries:
        assert entry.get("source"), entry
        # null until a person or a command loads the link; then a real date, on or after
        # the project's first check, and not in the future
        assert "checked" in entry, entry
        if entry["checked"] is not None:
            checked = date.fromisoformat(str(entry["checked"]))
            assert date(2026, 11, 25) <= checked <= date.today(), entry


#: addresses current references say are retired (reference/current-practice.md)
RETIRED_LINKS = ["sexting/report-nude-image-online", "iwf.org.uk/what-we-do/why-we-exist/report-remove"]


def test_no_retired_address_is_offered():
    for path in (ROOT / "data" / "guidance").glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert not [link for link in RETIRED_LINKS if link in text], path.name


def test_checklist_ids_are_snake_case_and_unique_per_path():
    for role in G.ROLES:
        item_ids = ids(G.checklist(role))
        assert len(item_ids) == len(set(item_ids))
        assert all(i.replace("_", "").isalnum() and i == i.lower() for i in item_ids)


# --------------------------------------------------------------------------- paths

def test_child_path_follows_the_guidance_order():
    assert ids(G.stages("child")) == [
        "reassurance", "immediate_risk", "practical_questions", "practical_advice", "closing"]


def test_parent_path_follows_the_guidance_order():
    assert ids(G.stages("parent_carer")) == [
        "reassurance", "listening", "conversation_tips", "urgency_questions", "referral",
        "practical_advice", "aftercare"]


def test_other_callers_follow_the_parent_path_and_unknown_the_child_path():
    assert G.stages("other") == G.stages("parent_carer")
    assert G.stages(None) == G.stages("child")
    assert G.stages("somebody") == G.stages("child")


def test_every_stage_has_words_to_say():
    for role in G.ROLES:
        for st in G.stages(role):
            assert st.title and st.say
            assert isinstance(st, G.Stage)
            assert len(st.say) < 400  # short enough to read aloud


def test_stage_by_id():
    assert G.stage("child", "practical_advice").title == "Practical advice"
    assert G.stage("parent_carer", "Conversation tips").id == "conversation_tips"
    assert G.stage("child", "conversation_tips") is None
    assert G.stage("child", None) is None


def test_child_checklist_covers_the_guides_questions():
    by_stage = {}
    for item in G.checklist("child"):
        by_stage.setdefault(item.stage, []).append(item.id)
    assert by_stage["immediate_risk"] == [
        "offender_contact", "who_else_knows", "safeguarding_details", "self_harm"]
    for needed in ("more_images", "support_available", "offender_info", "offender_knows",
                   "what_shared", "where_shared", "demands"):
        assert needed in by_stage["practical_questions"]
    # safeguarding details are encouraged, never demanded
    details = next(i for i in G.checklist("child") if i.id == "safeguarding_details")
    assert details.required is False
    assert next(i for i in G.checklist("child") if i.id == "self_harm").required is True


def test_parent_checklist_has_the_four_tips_and_three_questions():
    items = G.checklist("parent_carer")
    tips = [i for i in items if i.stage == "conversation_tips"]
    assert ids(tips) == ["tip_choose_moment", "tip_quiet_place", "tip_ask_questions",
                         "tip_reassure"]
    assert all(not t.required for t in tips)  # "which you may choose to share"
    assert ids(i for i in items if i.stage == "urgency_questions") == [
        "behaviour_changes", "statutory_services", "mental_health", "deadline_asked",
        "already_paid"]


def test_next_item_walks_the_checklist_in_order():
    items = G.checklist("child")
    done: list[str] = []
    walked = []
    while (item := G.next_item("child", done)) is not None:
        walked.append(item.id)
        done.append(item.id)
        assert len(walked) <= len(items)
    assert walked == ids(items)
    assert walked[0] == "commend_contact"
    # items answered out of order are skipped
    assert G.next_item("child", ["commend_contact", "offender_contact"]).id == "not_their_fault"
    assert G.next_item("child", ["commend_contact", "not_their_fault"]).id == "offender_contact"


def test_next_item_stage_order_is_the_path_order():
    for role in G.ROLES:
        order = ids(G.stages(role))
        positions = [order.index(i.stage) for i in G.checklist(role)]
        assert positions == sorted(positions)


def test_checklist_state_for_the_panel():
    state = G.checklist_state("child", ["more_images"])
    assert [s["id"] for s in state] == ids(G.checklist("child"))
    assert all(set(s) == {"id", "label", "done", "skipped"} for s in state)
    assert [s["id"] for s in state if s["done"]] == ["more_images"]


# --------------------------------------------------------------------------- keywords

@pytest.mark.parametrize("note, expected", [
    ("he's asking for more pics", {"more_images"}),
    ("He’s asking her for MORE PICTURES", {"more_images"}),
    ("she's told her older sister", {"who_else_knows"}),
    ("hasn't told anyone yet", {"who_else_knows"}),
    ("it was on snap and insta", {"where_shared"}),
    ("he wants £200 in gift cards", {"demands"}),
    ("says no thoughts of self harm", {"self_harm"}),
    ("asked about suicide, she said no", {"self_harm"}),
    ("still messaging her every few minutes", {"offender_contact"}),
    ("he has her followers list and knows her school", {"offender_knows"}),
    ("advised not to reply and not to pay", {"advised_no_contact"}),
    ("told her about Take It Down", {"advised_takedown"}),
    ("14yo boy, very scared", set()),
])
def test_items_covered_on_child_notes(note, expected):
    assert set(G.items_covered("child", note)) == expected


@pytest.mark.parametrize("note, expected", [
    ("dad says he's been really withdrawn, had CAMHS last year",
     {"behaviour_changes", "statutory_services"}),
    ("told mum it's not her fault", {"not_childs_fault"}),
    ("explained the referral pathway", {"explain_referral"}),
])
def test_items_covered_on_parent_notes(note, expected):
    assert set(G.items_covered("parent_carer", note)) == expected


def test_items_covered_needs_whole_words():
    # "pay" must not be found in "payday", "told" is not "toldx", "snap" not in "snapped"
    assert "demands" not in G.items_covered("child", "it was payday")
    assert "where_shared" not in G.items_covered("child", "her mum snapped at her")
    assert G.items_covered("child", "") == []


def test_items_covered_in_path_order():
    covered = G.items_covered("child", "he wants money and more photos, she told no one")
    assert covered == ["who_else_knows", "more_images", "demands"]


# --------------------------------------------------------------------------- stages by words

@pytest.mark.parametrize("role, text, expected", [
    ("child", "go to advice", "practical_advice"),
    ("child", "back to the risk questions", "immediate_risk"),
    ("child", "the practical questions", "practical_questions"),
    ("child", "closing", "closing"),
    ("parent_carer", "tips", "conversation_tips"),
    ("parent_carer", "referral", "referral"),
    ("parent_carer", "back to the risk questions", "urgency_questions"),
    ("parent_carer", "aftercare", "aftercare"),
    ("child", "tips", None),
    ("child", "banana", None),
])
def test_find_stage(role, text, expected):
    found = G.find_stage(role, text)
    assert (found.id if found else None) == expected


# --------------------------------------------------------------------------- advice

def test_advice_has_every_item_for_a_child():
    assert ids(G.advice("child")) == [
        "do_not_respond", "do_not_pay", "do_not_send_more", "keep_evidence",
        "report_and_block", "takedown", "recovery_scams", "trusted_adult",
        "law_enforcement", "fake_images_still_sextortion", "not_their_fault"]


def test_advice_for_a_parent_says_never_view_the_image():
    parent = {a["id"]: a for a in G.advice("parent_carer")}
    assert "do_not_view_image" in parent
    assert "never" in parent["keep_evidence"]["text"].lower()
    child = {a["id"]: a for a in G.advice("child")}
    assert child["not_their_fault"]["text"] != parent["not_their_fault"]["text"]
    assert "do_not_view_image" not in child


def test_advice_never_points_a_child_to_stopncii():
    for a in G.advice("child"):
        assert "stopncii" not in a["text"].lower()


# --------------------------------------------------------------------------- platforms

@pytest.mark.parametrize("alias, name", [
    ("snap", "Snapchat"), ("SC", "Snapchat"), ("insta", "Instagram"), ("ig", "Instagram"),
    ("fb", "Facebook"), ("tt", "TikTok"), ("twitter", "X (Twitter)"), ("x", "X (Twitter)"),
    ("wa", "WhatsApp"), ("yt", "YouTube"), ("google", "Google Search"),
    ("Discord", "Discord"), ("telegram", "Telegram"), ("roblox", "Roblox"),
])
def test_platform_aliases(alias, name):
    assert G.platform(alias)["name"] == name


def test_platform_unknown():
    assert G.platform("myspace") is None
    assert G.platform("") is None


def test_platforms_have_in_app_route_and_the_guides_priority_forms():
    assert G.platform("facebook")["url"] == "https://www.facebook.com/help/contact/567360146613371"
    assert G.platform("instagram")["url"] == "https://help.instagram.com/contact/240773466098227"
    for name in ("instagram", "facebook", "snapchat", "tiktok", "discord", "x", "whatsapp",
                 "telegram", "roblox", "youtube", "google_search"):
        p = G.platform(name)
        assert p and p["in_app"] and p["url"].startswith("https://"), name


def test_platforms_in_free_text():
    assert ids(G.platforms_in("it was on snap and insta")) == ["instagram", "snapchat"]
    assert ids(G.platforms_in("he found her on TikTok then moved to whatsapp")) == [
        "tiktok", "whatsapp"]
    assert ids(G.platforms_in("he posted it on X")) == ["x"]
    # ambiguous short aliases are not read into sentences
    assert G.platforms_in("they live in WA, he gave her an hour to do x") == []
    assert G.platforms_in("nothing here") == []


# --------------------------------------------------------------------------- takedown

@pytest.mark.parametrize("country", ["GB", "gb", "US", "AU", "IE", "generic", None, "FR"])
def test_takedown_tools_never_offer_stopncii_to_a_child(country):
    tools = G.takedown_tools(country, child=True)
    assert "stopncii" not in ids(tools)
    assert "take_it_down" in ids(tools)  # works anywhere


def test_report_remove_is_for_gb_only():
    assert "report_remove" in ids(G.takedown_tools("GB"))
    assert "report_remove" in ids(G.takedown_tools("uk"))
    for country in ("US", "AU", "IE", "generic", "FR", None):
        assert "report_remove" not in ids(G.takedown_tools(country))


def test_takedown_tools_per_country():
    assert ids(G.takedown_tools("GB")) == ["take_it_down", "report_remove", "ceop"]
    assert ids(G.takedown_tools("US")) == ["take_it_down", "cybertipline"]
    # in Australia a child reports to the ACCCE first (eSafety's image-based abuse
    # reporting is for adults): reference/current-practice.md
    assert ids(G.takedown_tools("AU")) == ["accce", "take_it_down", "esafety"]
    assert ids(G.takedown_tools("IE")) == ["take_it_down", "hotline_ie"]
    assert ids(G.takedown_tools("ZZ")) == ["take_it_down"]


def test_adult_tools_only_when_not_a_child():
    adult = ids(G.takedown_tools("GB", child=False))
    assert "stopncii" in adult and "report_remove" not in adult


# --------------------------------------------------------------------------- referral

def test_referral_for_a_country_case_insensitive():
    gb = G.referral("gb")
    assert gb["code"] == "GB" and gb["emergency"] == "999"
    assert [s["id"] for s in gb["referral_pathway"]] == [
        "escalate", "police", "child_protection", "school"]
    numbers = {line["name"]: line["number"] for line in gb["support_lines"]}
    assert numbers == {"Childline": "0800 1111", "Samaritans": "116 123",
                       "NSPCC helpline": "0808 800 5000", "Police (non-emergency)": "101"}
    assert ids(gb["takedown"]) == ["take_it_down", "report_remove", "ceop"]


def test_support_numbers_match_current_practice():
    assert {l["number"] for l in G.referral("US")["support_lines"]} == {
        "988", "1-800-843-5678", "1-800-CALL-FBI", "text HOME to 741741"}
    assert {l["number"] for l in G.referral("AU")["support_lines"]} == {
        "1800 55 1800", "13 11 14", "1800 333 000", "131 444"}
    assert {l["number"] for l in G.referral("IE")["support_lines"]} == {
        "1800 66 66 66", "50101", "116 123"}
    assert G.referral("US")["emergency"] == "911"
    assert G.referral("AU")["emergency"] == "000"
    assert G.referral("IE")["emergency"] == "112 or 999"


@pytest.mark.parametrize("country", [None, "", "FR", "xx", "generic"])
def test_referral_falls_back_to_generic(country):
    ref = G.referral(country)
    assert ref["code"] == "generic"
    assert ids(ref["takedown"]) == ["take_it_down"]
    assert ref["referral_pathway"][0]["id"] == "escalate"


def test_referral_returns_a_copy():
    G.referral("GB")["support_lines"].clear()
    assert G.referral("GB")["support_lines"]
