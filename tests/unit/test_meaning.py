"""The meaning voter: its encoder is the published one or nothing starts, it reads the whole
message, and its scores raise a flag the rules cannot see, named as its own."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions import casestate
from rasa_plugins import encoder

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")


@pytest.fixture()
def altered_copy(tmp_path: Path) -> Path:
    """The verified encoder folder with one byte of config.json changed (the 90 MB
    weights are linked, not copied)."""
    source = encoder.verify()
    copy = tmp_path / "encoder"
    copy.mkdir()
    for path in source.rglob("*"):
        target = copy / path.relative_to(source)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif path.name == "model.safetensors":
            target.symlink_to(path)
        else:
            shutil.copyfile(path, target)
    config = copy / "config.json"
    config.write_text(config.read_text().replace('"hidden_size": 384', '"hidden_size": 385'))
    return copy


def test_the_fetched_encoder_is_the_published_one():
    where = encoder.verify()
    for name, expected in encoder.HASHES.items():
        assert encoder.sha256(where / name) == expected


def test_an_altered_file_refuses_to_load_naming_the_fix(altered_copy: Path):
    with pytest.raises(encoder.EncoderError) as caught:
        encoder.Encoder(altered_copy)
    message = str(caught.value)
    assert "config.json" in message and "make encoder" in message and "\n" not in message


def test_a_missing_file_refuses_to_load(altered_copy: Path):
    (altered_copy / "tokenizer.json").unlink()
    with pytest.raises(encoder.EncoderError, match="tokenizer.json is missing.*make encoder"):
        encoder.verify(altered_copy)


def test_the_rasa_server_refuses_to_start_on_an_altered_encoder(altered_copy: Path):
    env = {**os.environ, "HELPLINE_ENCODER_DIR": str(altered_copy), "HELPLINE_ENV": "development"}
    done = subprocess.run([sys.executable, "-m", "rasa_plugins.run_rasa", "run", "--port", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sha256 mismatch" in lines[0] and "make encoder" in lines[0]


def test_similar_meanings_are_near_and_different_ones_far():
    vectors = encoder_instance().encode([
        "she says she wants to end her life",
        "the girl told me she is thinking about killing herself",
        "he sent the screenshots to the police this morning"])
    same, other = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert same > 0.6 > other


def test_each_text_gets_its_own_vector_whatever_the_batch_order():
    texts = ["ok", "she says she wants to end her life and has been researching ways", "hi",
             "the uncle is staying with them all week"] * 10
    together = encoder_instance().encode(texts, batch=4)
    for i in (0, 1, 3):
        alone = encoder_instance().encode([texts[i]])[0]
        assert float(together[i] @ alone) > 0.9999


def test_the_trained_voter_scores_as_the_full_support_vector_machine():
    from sklearn.svm import SVC

    from rasa_plugins import meaning_voter

    fresh = [(t, {"self_harm_risk"}) for t in (
        "she says she wants to die", "he has been cutting again", "she looked up how many pills",
        "yp says everyone would be better off without her", "he wrote a goodbye note",
        "she said she'd jump off the bridge tonight", "he can't see a way out and wants it over",
        "she has been hurting herself since the photos went round")] + [
        (t, {"offender_known", "ongoing_risk"}) for t in (
            "it is her uncle and he lives with them", "her stepdad is the one doing it, he's home",
            "the coach who runs her club sent them and she sees him tuesday",
            "it's a boy in her class, she sits next to him")] + [(t, set()) for t in (
        "she blocked him on snapchat", "mum is taking screenshots", "he is calm and at home",
        "we talked about reporting to the platform", "dad is with her now and she is safe",
        "denies any thoughts of harming herself", "she has school tomorrow",
        "the account was reported", "she wants help getting the pictures down",
        "he asked what happens next", "no contact since friday", "she's eating dinner")]
    config = {**meaning_voter.MeaningVoter.get_default_config(), "folds": 2}
    model = meaning_voter.train(fresh, [], encoder_instance(), config, progress=lambda _: None)
    texts = [t for t, _ in fresh]
    x = meaning_voter.features(encoder_instance().encode(texts), texts)
    full = SVC(C=config["C"], kernel="rbf", gamma=model["gamma"], class_weight="balanced").fit(
        x, ["self_harm_risk" in f for _, f in fresh])
    assert len(full.support_) <= len(model["rows"]) <= len(texts)  # the other flags' too
    voter = meaning_voter.Voter(model, encoder_instance())
    j = meaning_voter.CODES.index("self_harm_risk")
    assert abs(voter.decisions(x)[:, j] - full.decision_function(x)).max() < 1e-3


_ENCODER: list[encoder.Encoder] = []


def encoder_instance() -> encoder.Encoder:
    if not _ENCODER:
        _ENCODER.append(encoder.Encoder())
    return _ENCODER[0]


def words_voter():
    """A voter whose self-harm score is high when the words "self harm" or "pills" are in
    what it reads: enough to show what the denial reading does with its scores."""
    from rasa_plugins import meaning_voter

    class WordsVoter(meaning_voter.Voter):
        def __init__(self) -> None:
            self.denial_flags = ["self_harm_risk"]

        def _vote(self, text: str) -> dict[str, meaning_voter.Vote]:
            score = 0.9 if ("self harm" in text or "pills" in text) else 0.05
            return {"self_harm_risk": meaning_voter.Vote("self_harm_risk", score, text)}

    return WordsVoter()


def test_a_denied_disclosure_is_read_without_the_denial():
    vote = words_voter().vote("yp crying a lot but no thoughts of self harm, mum with her")
    assert vote["self_harm_risk"].score == 0.05


def test_a_disclosure_beside_a_denial_still_scores():
    vote = words_voter().vote("no thoughts of self harm she says, and she has been hiding pills")
    assert vote["self_harm_risk"].score == 0.9
    assert "pills" in vote["self_harm_risk"].words


# --- the decision, in the per-message check -------------------------------------------------

def meaning(**scores: float) -> dict:
    return {"encoder": encoder.NAME, "votes": {
        code: {"score": score, "threshold": 0.5, "context_threshold": 0.3,
               **({"words": f"words for {code}"} if score >= 0.3 else {})}
        for code, score in scores.items()}}


def test_a_flag_only_the_meaning_voter_sees_is_raised_and_named():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    text = "she says the lake near her nan's looks really peaceful lately"
    outcome = casestate.check_message(state, text, "inform", 0.9, NOW, UTC,
                                      meaning(self_harm_risk=0.83, offender_known=0.1,
                                              ongoing_risk=0.2))
    assert outcome.state.red_flags == ["self_harm_risk"]
    assert outcome.state.flag_sources["self_harm_risk"] == "meaning:0.83"
    event = next(e for e in outcome.events if e["kind"] == "red_flag")
    assert event["source"] == "meaning:0.83"
    panel = outcome.state.panel_message()["flags"][0]
    assert panel["found_by"] == "meaning (sentence encoder) 0.83"


def test_scores_under_the_threshold_raise_nothing():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    outcome = casestate.check_message(state, "she blocked him on snapchat", "inform", 0.9, NOW,
                                      UTC, meaning(self_harm_risk=0.49, ongoing_risk=0.45))
    assert outcome.state.red_flags == []


def test_ongoing_risk_has_a_lower_bar_once_the_offender_is_known():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    scores = meaning(ongoing_risk=0.4)
    alone = casestate.check_message(state, "he's staying with them this week", "inform", 0.9,
                                    NOW, UTC, scores)
    assert alone.state.red_flags == []
    state.red_flags = ["offender_known"]
    state.escalated_flags = []
    known = casestate.check_message(state, "he's staying with them this week", "inform", 0.9,
                                    NOW, UTC, scores)
    assert "ongoing_risk" in known.state.red_flags


def test_agreeing_voters_are_all_named_and_the_rules_words_kept():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    outcome = casestate.check_message(state, "yp said she wants to kill herself", "report_self_harm",
                                      0.95, NOW, UTC, meaning(self_harm_risk=0.97))
    source = outcome.state.flag_sources["self_harm_risk"]
    assert source.startswith("rules:") and "classifier:report_self_harm" in source \
        and source.endswith("meaning:0.97")
    assert outcome.state.flag_words["self_harm_risk"] != "words for self_harm_risk"


def test_a_button_payload_is_never_read_for_meaning():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    outcome = casestate.check_message(state, "", "dismiss_flag", 1.0, NOW, UTC,
                                      meaning(self_harm_risk=0.99))
    assert outcome.state.red_flags == []


def with_veto(scores: dict[str, float], bar: float) -> dict:
    out = meaning(**scores)
    for vote in out["votes"].values():
        vote["veto"] = bar
    return out


def test_the_meaning_voter_overrules_a_rule_raise_it_is_sure_of_and_says_so_in_the_notes():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    text = "her uncle is sat with her now helping her screenshot everything"
    plain = casestate.check_message(state, text, "inform", 0.9, NOW, UTC)
    assert "offender_known" in plain.state.red_flags  # the rules alone raise it
    vetoed = casestate.check_message(state, text, "inform", 0.9, NOW, UTC,
                                     with_veto({"offender_known": 0.01}, 0.05))
    assert "offender_known" not in vetoed.state.red_flags
    note = next(e for e in vetoed.events if e["kind"] == "red_flag_not_raised")
    assert note["code"] == "offender_known" and note["source"].startswith("rules:")
    assert note["source"].endswith("vetoed by meaning:0.01")


def test_a_self_harm_disclosure_is_never_vetoed():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    outcome = casestate.check_message(state, "she said she wants to kill herself", "inform", 0.9,
                                      NOW, UTC, with_veto({"self_harm_risk": 0.001}, 0.5))
    assert outcome.state.red_flags == ["self_harm_risk"]
