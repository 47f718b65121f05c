"""An NLU featurizer that lets the intent classifier see what the red-flag rules see.

Runs inside the Rasa server and `rasa train` (config.yml: `rasa_plugins.risk_featurizer.
RiskFeaturizer`). For each message it adds one sentence-level feature per red-flag rule
code (`actions.risk.detect_flags`: lemmas, word lists, negation) and two for deadlines
(`actions.deadlines.find_deadline`). A bag of n-grams cannot tell "yp is suicidal" from
"yp denies any thoughts of suicide"; the rules can, and the classifier learns from both.

The rules still raise red flags on their own, whatever the classifier says (the union in
`actions.casestate.check_message`); this only makes the classifier's own vote better.
The model fingerprint (scripts/model.py) covers the rule files, so a changed pattern
retrains the model that learned from them.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Type
from zoneinfo import ZoneInfo

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.nlu.constants import TOKENS_NAMES

from actions import deadlines, nlp, risk

logger = logging.getLogger(__name__)
UTC = ZoneInfo("UTC")
RISK_DATA = Path(risk.__file__).resolve().parent.parent / "data" / "risk"


def rule_features(text: str) -> list[float]:
    """1.0 / 0.0 for: each rule code, a deadline of any kind, an active (set) deadline."""
    codes = {flag.code for flag in risk.detect_flags(text)}
    try:
        with deadlines.reading("regex"):  # no Duckling runtime in the NLU process
            found = deadlines.find_deadline(text, datetime.now(UTC), UTC)
    except Exception as exc:  # noqa: BLE001 - a defect in the reader must not stop the message
        logger.error("the deadline reader failed on a message (%s)", type(exc).__name__)
        found = None
    return [float(code in codes) for code in risk.RULE_CODES] + [
        float(found is not None and found.status in ("set", "ambiguous", "shift")),
        float(found is not None and found.status in ("withdrawn", "passed")),
    ]


FEATURE_COUNT = len(risk.RULE_CODES) + 2


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class RiskFeaturizer(SparseFeaturizer, GraphComponent):
    """Sentence features from the deterministic red-flag and deadline rules."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # `weight` scales the features against the n-gram counts beside them.
        return {**SparseFeaturizer.get_default_config(), "weight": 3.0}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("weight", 1.0)) <= 0:
            raise ValueError("RiskFeaturizer: weight must be positive")

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """The rule files and modules: Rasa's training cache must not reuse features made
        by rules that have since changed."""
        digest = hashlib.sha256()
        modules = [Path(risk.__file__), Path(deadlines.__file__), Path(nlp.__file__)]
        for path in sorted(RISK_DATA.rglob("*.yml")) + modules:
            digest.update(path.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "RiskFeaturizer":
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[Text, Any], name: Optional[Text] = None) -> None:
        super().__init__(name or "risk_featurizer", config)
        self.weight = float(config.get("weight", 3.0))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not text or not tokens:
                continue
            sentence = np.array([rule_features(text)], dtype=np.float32) * self.weight
            sequence = scipy.sparse.coo_matrix((len(tokens), FEATURE_COUNT), dtype=np.float32)
            self.add_features_to_message(sequence, scipy.sparse.coo_matrix(sentence), TEXT,
                                         message)
        return messages
