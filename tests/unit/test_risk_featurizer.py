"""The NLU featurizer that shows the classifier what the red-flag rules find."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rasa")

from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer  # noqa: E402
from rasa.shared.nlu.constants import TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from rasa_plugins.risk_featurizer import FEATURE_COUNT, RiskFeaturizer  # noqa: E402


def featurize(text: str) -> np.ndarray:
    message = Message(data={TEXT: text})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    RiskFeaturizer({**RiskFeaturizer.get_default_config()}, "risk").process([message])
    sequence, sentence = message.get_sparse_features(TEXT)
    assert sequence.features.shape == (len(message.get("text_tokens")), FEATURE_COUNT)
    return sentence.features.toarray()[0]


def test_a_flag_and_its_negation_look_different_to_the_classifier():
    suicidal, denied = featurize("yp is suicidal"), featurize("yp denies any suicidal thoughts")
    assert suicidal[0] > 0 and denied[0] == 0
    assert not denied.any()


def test_each_rule_code_and_deadlines_have_their_own_feature():
    known = featurize("turns out it's her cousin")
    ongoing = featurize("he's still messaging her")
    deadline = featurize("he gave her an hour to pay")
    passed = featurize("the deadline passed at 6")
    assert [int(np.argmax(f)) for f in (known, ongoing, deadline, passed)] == [1, 2, 3, 4]


def test_a_message_with_no_text_gets_no_features():
    message = Message(data={TEXT: ""})
    RiskFeaturizer({**RiskFeaturizer.get_default_config()}, "risk").process([message])
    assert message.get_sparse_features(TEXT) == (None, None)


def test_a_failing_deadline_reader_leaves_the_red_flag_features(monkeypatch):
    from rasa_plugins import risk_featurizer

    def broken(*args, **kwargs):
        raise AttributeError("a defect in the reader")

    monkeypatch.setattr(risk_featurizer.deadlines, "find_deadline", broken)
    features = risk_featurizer.rule_features("she says she wants to kill herself by sat 12 noon")
    codes = risk_featurizer.risk.RULE_CODES
    assert features[codes.index("self_harm_risk")] == 1.0 and features[len(codes):] == [0.0, 0.0]
