"""The shared spaCy pipeline: blank English, lookup lemmas, no model download."""
from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Token


def key_of(token: Token) -> str:
    """What rules match a word on: its lower-case lemma (or the word itself)."""
    lemma = token.lemma_.lower() if token.lemma_ else ""
    return lemma or token.lower_


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    if not Token.has_extension("key"):
        Token.set_extension("key", getter=key_of)
    return nlp
