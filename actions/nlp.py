"""The shared spaCy pipeline: blank English, lookup lemmas, no model download."""
from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Token


def key_of(token: Token) -> str:
    """What rules match a word on: its lower-case lemma (or the word itself)."""
    lemma = token.lemma_.lower() if token.lemma_ else ""
    return lemma or token.lower_


@Language.component("match_keys")
def match_keys(doc: Doc) -> Doc:
    """Store each word's match key in NORM, so Matcher patterns compare it in C
    (a Python attribute getter per token per pattern is many times slower)."""
    for token in doc:
        token.norm_ = key_of(token)
    return doc


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.add_pipe("match_keys")
    nlp.initialize()
    return nlp
