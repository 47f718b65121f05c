"""Rasa's logistic-regression intent classifier, minus its guesses on messages with no words.

A message that is empty, or only punctuation or emoji ("?", "...", "🙂"), gives the
featurizers nothing to read. Rasa 3.6's ``LogisticRegressionClassifier`` then either fails
(an empty message has fewer features than the model expects) or guesses the intent with the
largest prior, "affirm", which would tick a checklist item. Here such a message gets no
intent at confidence 0, so the FallbackClassifier after it answers with ``nlu_fallback``.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


def has_words(text: object) -> bool:
    """At least one letter or digit, in any script."""
    return isinstance(text, str) and any(ch.isalnum() for ch in text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class WordsOnlyLogisticRegressionClassifier(LogisticRegressionClassifier):
    """``LogisticRegressionClassifier`` that leaves wordless messages to the fallback."""

    def process(self, messages: List[Message]) -> List[Message]:
        worded = [m for m in messages if has_words(m.get(TEXT))]
        if worded:
            super().process(worded)
        for message in messages:
            if not has_words(message.get(TEXT)):
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages
