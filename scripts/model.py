#!/usr/bin/env python
"""Train the Rasa model only when none matches the current domain, config and data.

The model's file name is a fingerprint of every file Rasa trains on
(``models/<fingerprint>.tar.gz``), so an unchanged project reuses its model at once,
and ``make run``, ``make test`` and the tests all agree on which model is current.

    python scripts/model.py train          # train if needed, print the model path
    python scripts/model.py path           # print the current model path (exit 1 if none)
    python scripts/model.py test-stories   # rasa test core on tests/stories
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
# Rasa trains on these; the rule files and modules feed the NLU through RiskFeaturizer,
# and data/risk/meaning and data/risk/calibration train the meaning voter.
TRAINING_INPUTS = ["domain.yml", "config.yml", "data/nlu", "data/rules", "data/stories",
                   "data/risk", "actions/risk.py", "actions/deadlines.py", "actions/nlp.py",
                   "rasa_plugins/risk_featurizer.py", "rasa_plugins/commands.py",
                   "rasa_plugins/intent_classifier.py", "rasa_plugins/meaning_voter.py",
                   "rasa_plugins/encoder.py"]
RASA = str(Path(sys.executable).with_name("rasa"))
KEEP_MODELS = 3


def training_files() -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = ROOT / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    # The Rasa version is part of what the model depends on.
    digest.update(b"rasa==3.6.21")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"{fingerprint()}.tar.gz"


def train() -> Path:
    target = model_path()
    if target.exists():
        print(f"Model up to date: {target.relative_to(ROOT)} (no training needed)")
        return target
    print(f"Training a new model for fingerprint {target.stem} ...", flush=True)
    started = time.monotonic()
    cmd = [RASA, "train", "--domain", "domain.yml", "--config", "config.yml",
           "--data", "data/nlu", "data/rules", "data/stories",
           "--out", str(MODELS), "--fixed-model-name", target.name[: -len(".tar.gz")]]
    subprocess.run(cmd, cwd=ROOT, check=True)
    if not target.exists():
        raise SystemExit(f"rasa train finished but {target} is missing")
    # Keep the models folder from growing without end, but keep the few newest: another
    # checkout or a running server sharing this folder may still use one of them.
    newest_first = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in newest_first[KEEP_MODELS:]:
        if old != target:
            old.unlink()
    print(f"Trained {target.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    return target


def test_stories() -> None:
    out = ROOT / "var" / "results" / "stories"
    cmd = [RASA, "test", "core", "--model", str(model_path()), "--stories", "tests/stories",
           "--out", str(out), "--fail-on-prediction-errors", "--no-plot"]
    subprocess.run(cmd, cwd=ROOT, check=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "train"
    if command == "train":
        train()
    elif command == "path":
        path = model_path()
        if not path.exists():
            print(f"no model for fingerprint {path.stem}; run: make model", file=sys.stderr)
            return 1
        print(path)
    elif command == "test-stories":
        test_stories()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
