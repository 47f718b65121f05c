"""The shared spaCy pipeline (blank English, lookup lemmas, no model download), and the one
builder of regular expressions from the data files' phrase lists (:func:`alternation`)."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

import spacy
from spacy.attrs import ORTH
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


KEPT_WHOLE = ("gonna", "wanna", "gotta")  # one word each, as counsellors' notes mean them


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    nlp = spacy.blank("en")
    # spaCy splits "gonna" into "gon" + "na", so a pattern's "going|gonna" never saw it
    # ("not gonna be around much longer" read as a denial of "be around much longer")
    for word in KEPT_WHOLE:
        for form in (word, word.capitalize(), word.upper()):
            nlp.tokenizer.add_special_case(form, [{ORTH: form}])
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.add_pipe("match_keys")
    nlp.initialize()
    return nlp


def alternation(items: Iterable[object], *, bounded: bool = False, spaces: bool = False,
                wildcard: bool = False, apostrophe: str = "'") -> str:
    """A regular-expression alternation of a data file's phrases, longest first, each taken
    literally. ``bounded``: a phrase that starts or ends with a letter or digit matches only
    as whole words ("or" not in "for"; a sign such as "£" needs no boundary). ``spaces``: any
    run of white space between its words. ``wildcard``: a lone "*" stands for one word
    ("dropped the * deadline"). ``apostrophe``: what each apostrophe becomes ("'?" lets
    "she'd" be typed "shed")."""
    parts = []
    for item in sorted((str(i) for i in items), key=lambda s: -len(s)):
        body = re.escape(item)
        if wildcard:  # "before * * gets home": each star one word (or none)
            body = re.sub(r"(?:\\ \\\*)+\\ ",
                          lambda m: r"\s+" + r"(?:\S+\s+)?" * m.group(0).count("*"), body)
        if spaces:
            body = body.replace(r"\ ", r"\s+")
        body = body.replace("'", apostrophe)
        if bounded:
            body = ((r"(?<![\w])(?<!\w')" if item[:1].isalnum() else "") + body
                    + (r"(?![\w])" if item[-1:].isalnum() else ""))
        parts.append(body)
    return "|".join(parts)
