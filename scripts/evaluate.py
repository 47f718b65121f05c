#!/usr/bin/env python
"""`make eval`: the project's evaluation report.

1. Red flags on labelled messages (tests/eval/red_flags*.yml): recall and precision per code
   for the rules alone, the classifier alone, and their union (what the assistant uses).
2. Deadlines (tests/eval/deadlines*.yml): status and exact time.
3. NLU on 230 messages written blind (tests/eval/nlu_heldout.yml), with the trained model.
4. NLU: 5-fold cross-validation of the intent classifier (config.yml without the
   FallbackClassifier and the meaning voter), intent macro-F1, and how many right and
   wrong answers fall under the fallback threshold. Skip with --no-nlu.
5. Whole dialogues written blind (tests/eval/dialogues_heldout.yml) through a real stack
   over the REST channel: caller role, red flags and deadline at the end
   (scripts/evaluate_dialogues.py). Skip with --no-dialogues.

Writes var/results/eval.md and prints it; progress bars go to stderr (when it is a terminal).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "results"
CODES = ("self_harm_risk", "offender_known", "ongoing_risk")
# Progress on stderr, never in the report (stdout); no bars when stderr is not a terminal.
progress = partial(tqdm, file=sys.stderr, leave=False, disable=None, dynamic_ncols=True)


def scores(pairs: list[tuple[set[str], set[str]]]) -> dict[str, dict[str, float]]:
    """Recall and precision per code from (expected, predicted) pairs."""
    table = {}
    for code in CODES:
        hit = sum(code in e and code in p for e, p in pairs)
        missed = sum(code in e and code not in p for e, p in pairs)
        false_alarm = sum(code not in e and code in p for e, p in pairs)
        table[code] = {
            "positives": hit + missed,
            "recall": hit / (hit + missed) if hit + missed else 1.0,
            "precision": hit / (hit + false_alarm) if hit + false_alarm else 1.0,
        }
    return table


_AGENT: list[object] = []


def parses(texts: list[str]) -> list[dict]:
    """The trained model's parse of each text (intent, and the meaning voter's scores);
    empty dicts if there is no model. The model is loaded once."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no per-message debug lines (they carry text)
    if not _AGENT:
        path = subprocess.run([sys.executable, str(ROOT / "scripts" / "model.py"), "path"],
                              capture_output=True, text=True).stdout.strip()
        _AGENT.append(Agent.load(path) if path else None)
    agent = _AGENT[0]
    if agent is None:
        return [{} for _ in texts]

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text)  # type: ignore[attr-defined]
                for text in progress(texts, desc="parsing", unit="msg")]

    return asyncio.run(parse_all())


def classifier(texts: list[str]) -> list[tuple[str, float]]:
    """Intent and confidence from the current trained model ("" if there is none)."""
    return [((p.get("intent") or {}).get("name") or "", (p.get("intent") or {}).get("confidence") or 0.0)
            for p in parses(texts)]


RED_FLAG_SETS = {
    "red_flags.yml": "written before the patterns, then used to fix them",
    "red_flags_heldout.yml": "200 messages written by a separate session that never saw the "
                             "patterns or the training data; first run before any fix: rules "
                             "recall 0.78 / 0.62 / 0.57 (self-harm / known / ongoing)",
    "red_flags_heldout2.yml": "191 messages written blind by a second session; first run "
                              "before any fix: rules recall 0.70 / 0.67 / 0.59, then used to "
                              "widen the rules",
    "red_flags_heldout3.yml": "172 messages written blind by a third session; first run "
                              "(after the widening from set 2, before any fix from this set): "
                              "rules recall 0.82 / 0.78 / 0.66 (0.71 / 0.67 / 0.52 with the "
                              "rules before set 2); then used to widen the rules",
    "red_flags_heldout4.yml": "160 messages written blind by a fourth session (2026-11-26); "
                              "first run (after the fixes from sets 2 and 3 and from the "
                              "blind dialogues): rules recall 0.79 / 0.71 / 0.61, precision "
                              "0.89 / 0.85 / 0.93; then used to widen the rules",
    # Sets 5 to 14 (written blind, each run first as an evaluation: docs/evaluation.md) are
    # the meaning voter's calibration data since 2026-11-30 (data/risk/calibration/).
    "red_flags_heldout15.yml": "189 messages (101 with no flag, most hard negatives) written "
                               "blind by a fifteenth session (2026-11-30); first run on the "
                               "voter calibrated on sets 5 to 14 and 1,040 messages written "
                               "for calibration: recall 0.98 / 0.96 / 0.92, precision 0.78 / "
                               "0.65 / 0.70, no flag left clean 0.73 (the rules alone: recall "
                               "0.89 / 0.73 / 0.62)",
    "red_flags_heldout16.yml": "190 messages (95 with no flag, most hard negatives) written "
                               "blind by a sixteenth session (2026-11-30); first run on the "
                               "voter calibrated on sets 5 to 14 and 2,240 messages written "
                               "for calibration: recall 0.96 / 0.88 / 0.97, precision 0.69 / "
                               "0.90 / 0.72, no flag left clean 0.74 (the rules alone: recall "
                               "0.87 / 0.74 / 0.80)",
    "red_flags_heldout17.yml": "190 messages (97 with no flag) written blind by a "
                               "seventeenth session (2026-11-30); first run on the same voter "
                               "as set 16's: recall 0.98 / 0.90 / 0.98, precision 0.75 / 0.90 "
                               "/ 0.70, no flag left clean 0.73 (the rules alone: recall 0.90 "
                               "/ 0.79 / 0.77)",
    "red_flags_heldout18.yml": "190 messages (97 with no flag) written blind by an "
                               "eighteenth session (2026-11-30); first run on the same voter: "
                               "recall 1.00 / 0.91 / 0.93, precision 0.73 / 0.80 / 0.79, no "
                               "flag left clean 0.75 (the rules alone: recall 0.86 / 0.71 / "
                               "0.69)",
    "red_flags_heldout19.yml": "190 messages (95 with no flag) written blind by a nineteenth "
                               "session (2026-12-01) after the denial reading and the wider "
                               "contact-ended words; first run: recall 1.00 / 0.96 / 1.00, "
                               "precision 0.78 / 0.90 / 0.75, no flag left clean 0.77 (the "
                               "rules alone: recall 0.91 / 0.84 / 0.84)",
    "red_flags_heldout20.yml": "190 messages (95 with no flag) written blind by a twentieth "
                               "session (2026-12-01) after the signs-of-distress change; first "
                               "run: recall 0.96 / 0.85 / 0.93, precision 0.74 / 0.74 / 0.79, "
                               "no flag left clean 0.73 (the rules alone: recall 0.85 / 0.74 / "
                               "0.64)",
}
DEADLINE_SETS = {
    "deadlines.yml": "written with the code",
    "deadlines_heldout2.yml": "written blind by a second session; 59/90 on first run",
    "deadlines_heldout3.yml": "written blind by a third session; 53/85 with the code before "
                              "set 2, 72/85 after the fixes from set 2 (before any fix from "
                              "this set)",
    "deadlines_heldout4.yml": "written blind on 2026-11-30 by a fourth session that never saw "
                              "the code or the earlier sets (131 messages, 42 not deadlines); "
                              "first run, with Duckling before any fix from this set: 102/131 "
                              "right, no false deadline on 31/42 non-deadlines (the reader "
                              "before Duckling: 100/131, 31/42)",
    "deadlines_heldout5.yml": "written blind on 2026-11-30 by a fifth session that never saw "
                              "the code or the earlier sets (156 messages, 50 not deadlines); "
                              "first run, before any fix from this set: 140/156 right, no "
                              "false deadline on 46/50 non-deadlines (the reader before "
                              "Duckling: 131/156 counted strictly, 46/50)",
    "deadlines_heldout6.yml": "written blind on 2026-11-30 by a sixth session that never saw "
                              "the code or the earlier sets (182 messages, 59 not deadlines; "
                              "'now' a Monday morning); first run, before any fix from this "
                              "set: 148/182 right, no false deadline on 52/59",
    "deadlines_heldout7.yml": "written blind on 2026-11-30 by a seventh session that never saw "
                              "the code or the earlier sets (182 messages, 56 not deadlines; "
                              "'now' a Thursday 16:25), after the fixes from set 6; first "
                              "run: 154/182 right, no false deadline on 48/56",
    "deadlines_heldout8.yml": "written blind on 2026-11-30 by an eighth session (165 messages, "
                              "55 not deadlines; 'now' a Saturday 22:50, near midnight), after "
                              "the fixes from set 7; first run: 132/165 right, no false "
                              "deadline on 47/55",
    "deadlines_heldout9.yml": "written blind on 2026-11-30 by a ninth session (168 messages, "
                              "55 not deadlines; 'now' a Tuesday 13:10 in the school "
                              "holidays), after the fixes from set 8; first run: 111/168 "
                              "right, no false deadline on 40/55",
    "deadlines_heldout10.yml": "written blind on 2026-11-30 by a tenth session (165 messages, "
                               "52 not deadlines; 'now' a Wednesday 19:05 between Christmas "
                               "and New Year), while deadlines moved by an amount were built; "
                               "first run with them: 126/165 right, no false deadline on 45/52",
    "deadlines_heldout11.yml": "written blind on 2026-11-30 by an eleventh session (149 "
                               "messages, 50 not deadlines; 'now' a Thursday 16:20 in January), "
                               "after the uncertain-time fixes; first run: 108/149 right, no "
                               "false deadline on 38/50 (the reader before Duckling: 106/149, 38/50)",
    "deadlines_heldout12.yml": "written blind on 2026-11-30 by a twelfth session (160 messages, "
                               "55 not deadlines); first run: the reader failed on one note "
                               "(a weekday defect, fixed with it), then 125/160 right, 45/55 "
                               "non-deadlines clean (the reader before Duckling: 124/160, 45/55)",
    "deadlines_heldout13.yml": "written blind on 2026-11-30 by a thirteenth session (160 messages, "
                               "56 not deadlines; 'now' a Wednesday 19:40 in February), after the "
                               "other-people's-times fixes; first run: 125/160 right, 48/56 "
                               "non-deadlines clean (the reader before Duckling: 124/160, 48/56)",
    "deadlines_heldout14.yml": "written blind on 2026-12-01 by a fourteenth session (160 "
                               "messages, 47 not deadlines; 'now' a Thursday 21:35 in March); "
                               "first run: the reader failed on one note ('13M year 8': "
                               "thirteen million years, fixed with it), then 131/160 right, "
                               "35/47 non-deadlines clean (the reader before Duckling: 134/160, "
                               "38/47); after the fixes from it 142/160, 39/47; after the "
                               "fixes of 2026-12-01 (later) 150/160, 43/47",
    "deadlines_heldout15.yml": "written blind on 2026-12-01 by a fifteenth session (170 "
                               "messages, 62 not deadlines; 'now' a Saturday 16:20 in July, "
                               "British Summer Time); first run: the reader failed on two notes "
                               "('bc' read by Duckling as a year before Christ, fixed with it), "
                               "then 131/170 right, 46/62 non-deadlines clean (the reader "
                               "before Duckling: 130/170, 47/62); it also showed every Duckling "
                               "clock time in London summer time an hour late (fixed)",
}


def red_flag_section(name: str, about: str) -> list[str]:
    from actions import risk

    cases = yaml.safe_load((ROOT / "tests" / "eval" / name).read_text())["cases"]
    texts = [c["text"] for c in cases]
    expected = [set(c["flags"]) for c in cases]
    rules = [{f.code for f in risk.detect_flags(t)} for t in texts]
    parsed = parses(texts)
    # the thresholds and the decision the assistant uses (actions/casestate.py)
    from actions.casestate import CLASSIFIER_THRESHOLD, CaseState, check_message, meaning_votes

    intents = [((p.get("intent") or {}).get("name"), (p.get("intent") or {}).get("confidence") or 0)
               for p in parsed]
    flag_of = risk.flag_intents()
    nlu = [{flag_of[i]} if i in flag_of and conf >= CLASSIFIER_THRESHOLD else set()
           for i, conf in intents]
    meaning = [{code for code, _, _ in meaning_votes(p.get("meaning"), False)} for p in parsed]
    # what the assistant raises: the per-message check itself, on a new case each time
    # (the union of the three voters, with the meaning voter's veto)
    now, tz = datetime.now(ZoneInfo("UTC")), ZoneInfo("UTC")
    union = [set(check_message(CaseState(case_id="eval", caller_role="child"), t, i, conf, now,
                               tz, p.get("meaning")).state.red_flags) & set(CODES)
             for t, (i, conf), p in progress(zip(texts, intents, parsed), total=len(texts),
                                             desc="checking", unit="msg")]
    negatives = [u for e, u in zip(expected, union) if not e]
    clean = sum(not u for u in negatives) / len(negatives) if negatives else 1.0
    lines = [f"## Red flags ({len(cases)} labelled messages, tests/eval/{name})", "", about, "",
             "| code | positives | rules recall | classifier recall | meaning recall | "
             "the assistant: recall | precision |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    by = {name: scores(list(zip(expected, pred))) for name, pred in (
        ("rules", rules), ("nlu", nlu), ("meaning", meaning), ("union", union))}
    for code in CODES:
        lines.append(f"| {code} | {by['union'][code]['positives']} | {by['rules'][code]['recall']:.2f} | "
                     f"{by['nlu'][code]['recall']:.2f} | {by['meaning'][code]['recall']:.2f} | "
                     f"{by['union'][code]['recall']:.2f} | {by['union'][code]['precision']:.2f} |")
    lines += ["", f"Messages with no flag left clean: {clean:.2f} ({len(negatives)} such messages)"]
    misses = [(t, sorted(e - u), sorted(u - e)) for t, e, u in zip(texts, expected, union) if e != u]
    if misses:
        lines += ["", "Disagreements (missed / false alarm):"]
        lines += [f"- “{t}”: missed {m or '-'}, extra {x or '-'}" for t, m, x in misses]
    return lines


def deadline_score(name: str, reader: str) -> tuple[int, int, int, int, list[str]]:
    """(right, total, non-deadlines left clean, non-deadlines, wrong lines) of one set, read
    by ``reader`` (``duckling``: Duckling with the helpline's logic; ``regex``: the reader
    before Duckling)."""
    from actions import deadlines

    spec = yaml.safe_load((ROOT / "tests" / "eval" / name).read_text())
    tz = ZoneInfo(spec["tz"])
    now = datetime.fromisoformat(spec["now"])
    before = os.environ.get("HELPLINE_DEADLINE_READER")
    os.environ["HELPLINE_DEADLINE_READER"] = reader
    right = clean = nones = 0
    wrong = []
    try:
        for case in progress(spec["cases"], desc=f"{name} ({reader})", unit="msg"):
            found = deadlines.find_deadline(case["text"], now, tz)
            status = found.status if found else "none"
            if "at" in case:
                ok = found is not None and found.at is not None \
                    and found.at == datetime.fromisoformat(case["at"])
            elif case["status"] == "none":
                # no active deadline: none, or one the note says is withdrawn or passed
                # (the panel shows no countdown for either)
                ok = status in ("none", "withdrawn", "passed")
            else:
                ok = status == case["status"]
            if case.get("status") == "none":
                nones += 1
                clean += status not in ("set", "ambiguous")
            right += ok
            if not ok:
                got = found.at.isoformat() if found and found.at else status
                wrong.append(f"- “{case['text']}”: expected {case.get('at') or case['status']}, got {got}")
    finally:
        if before is None:
            os.environ.pop("HELPLINE_DEADLINE_READER", None)
        else:
            os.environ["HELPLINE_DEADLINE_READER"] = before
    return right, len(spec["cases"]), clean, nones, wrong


def deadline_section(name: str, about: str) -> list[str]:
    right, total, clean, nones, wrong = deadline_score(name, "duckling")
    old, _, old_clean, _, _ = deadline_score(name, "regex")
    lines = [f"## Deadlines ({total} labelled messages, tests/eval/{name})", "", about, "",
             f"Correct: {right}/{total} ({right / total:.0%}); the reader before Duckling "
             f"(HELPLINE_DEADLINE_READER=regex): {old}/{total} ({old / total:.0%})"]
    if nones:
        lines.append(f"No false deadline on {clean}/{nones} non-deadlines ({clean / nones:.0%}); "
                     f"before Duckling {old_clean}/{nones}")
    return lines + ([""] + wrong if wrong else [])


def deadline_ablation_section() -> list[str]:
    """What the built-in reader still adds to Duckling, part by part: each row takes one
    part away (Duckling alone for it) and counts the labelled deadline sets again."""
    from actions import deadlines as d

    def only_day_words(text: str) -> str:  # the typos of days, not hours in words
        for typo, right in (d.words().get("day_words") or {}).items():
            text = re.sub(rf"(?<![\w]){re.escape(str(typo))}(?![\w])", str(right), text, flags=re.I)
        return text

    def duckling_clocks_only(text, now, tz, bare, duck=None):
        return d.duckling_clocks(text, d.duckling_mentions(text, now, tz) if duck is None
                                 else duck, [])

    def duckling_durations_only(text, now, duck=()):
        return [d.Candidate(now + m.delta, m.said, m.start, "duration") for m in duck
                if m.kind == "duration" and not d.VAGUE_AMOUNT.search(m.said)]

    rows = [("Duckling with the built-in reader (as served)", None, None),
            ("without the reader's hours in words (\"twenty to ten\" -> 9:40)", "hours_as_digits", only_day_words),
            ("without the reader's clock times (Duckling's alone)", "clocks", duckling_clocks_only),
            ("without the reader's durations (Duckling's alone)", "durations", duckling_durations_only)]
    names = list(DEADLINE_SETS)
    lines = ["## Deadlines: what the built-in reader adds to Duckling", "",
             "| reader | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, attr, replacement in rows:
        saved = getattr(d, attr) if attr else None
        if attr:
            setattr(d, attr, replacement)
        try:
            scores = [deadline_score(name, "duckling") for name in names]
        finally:
            if attr:
                setattr(d, attr, saved)
        lines.append(f"| {label} | " + " | ".join(f"{r}/{t}" for r, t, *_ in scores) + " |")
    return lines


def heldout_nlu_section() -> list[str]:
    """The trained model (with its fallback) on messages written blind, by a session that
    never saw the training data: how it does on phrasings nobody trained it on."""
    from sklearn.metrics import f1_score

    cases = yaml.safe_load((ROOT / "tests" / "eval" / "nlu_heldout.yml").read_text())["cases"]
    predicted = classifier([c["text"] for c in cases])
    if not any(name for name, _ in predicted):
        return ["## NLU on held-out messages", "", "No trained model: run `make model`."]
    expected = [c["intent"] for c in cases]
    names = [name for name, _ in predicted]
    labels = sorted(set(expected))
    macro = f1_score(expected, names, labels=labels, average="macro", zero_division=0)
    right = sum(e == n for e, n in zip(expected, names))
    fallback = sum(n == "nlu_fallback" for n in names)
    per = f1_score(expected, names, labels=labels, average=None, zero_division=0)
    worst = sorted(zip(labels, per), key=lambda kv: kv[1])[:5]
    lines = [f"## NLU on held-out messages ({len(cases)}, tests/eval/nlu_heldout.yml)", "",
             "Written blind by a separate session on 2026-11-25; the trained model as served, "
             "so a fallback counts as wrong.", "",
             f"Intent macro-F1: {macro:.3f}; accuracy {right / len(cases):.3f}; "
             f"fell back: {fallback}/{len(cases)}",
             "Lowest F1: " + ", ".join(f"{k} {v:.2f}" for k, v in worst), "",
             "Wrong answers (expected -> predicted):"]
    lines += [f"- “{c['text']}”: {e} -> {n} ({conf:.2f})"
              for c, e, (n, conf) in zip(cases, expected, predicted) if e != n]
    return lines


def nlu_section(folds: int) -> list[str]:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    # Intents come from the LogisticRegressionClassifier alone: without the fallback (it would
    # hide the classifier's own answer) and without the meaning voter (it reads red flags,
    # not intents, and would encode every fold's messages again).
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"
                          and not c["name"].endswith("MeaningVoter")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    cfg = RESULTS / "config_nlu_testing.yml"
    cfg.write_text(yaml.safe_dump(config))
    out = RESULTS / "nlu"
    rasa = str(Path(sys.executable).with_name("rasa"))
    subprocess.run([rasa, "test", "nlu", "--nlu", "data/nlu", "--config", str(cfg),
                    "--cross-validation", "--folds", str(folds), "--out", str(out), "--no-plot",
                    "--successes"],
                   cwd=ROOT, check=True)
    report = json.loads((out / "intent_report.json").read_text())
    macro = report["macro avg"]
    worst = sorted(((k, v["f1-score"]) for k, v in report.items() if isinstance(v, dict)
                    and "support" in v and k not in ("macro avg", "weighted avg", "micro avg")),
                   key=lambda kv: kv[1])[:5]
    fallback = next(c for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
                    if c["name"] == "FallbackClassifier")["threshold"]
    below = {}
    for kind in ("successes", "errors"):
        answers = json.loads((out / f"intent_{kind}.json").read_text())
        low = sum(a["intent_prediction"]["confidence"] < fallback for a in answers)
        below[kind] = f"{low}/{len(answers)}"
    return [f"## NLU ({folds}-fold cross-validation, config.yml without FallbackClassifier)", "",
            f"Intent macro-F1: {macro['f1-score']:.3f} (precision {macro['precision']:.3f}, "
            f"recall {macro['recall']:.3f}); accuracy {report.get('accuracy', 0):.3f}",
            "Lowest F1: " + ", ".join(f"{k} {v:.2f}" for k, v in worst),
            f"Under the fallback threshold ({fallback}): {below['successes']} right answers, "
            f"{below['errors']} wrong ones",
            f"Full report: {out.relative_to(ROOT)}/intent_report.json"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-nlu", action="store_true", help="skip the cross-validation")
    parser.add_argument("--no-dialogues", action="store_true", help="skip the dialogues")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    lines = ["# Evaluation report", "", f"Generated {datetime.now():%Y-%m-%d %H:%M}", ""]
    # (label, section, blank line before it rather than after it)
    steps = [(f"red flags, {name}", partial(red_flag_section, name, about), False)
             for name, about in RED_FLAG_SETS.items()]
    steps += [(f"deadlines, {name}", partial(deadline_section, name, about), False)
              for name, about in DEADLINE_SETS.items()]
    steps += [("deadlines, what the reader adds", deadline_ablation_section, False),
              ("NLU, held-out messages", heldout_nlu_section, True)]
    if not args.no_nlu:
        steps.append((f"NLU, {args.folds}-fold cross-validation", partial(nlu_section, args.folds), True))
    if not args.no_dialogues:
        from evaluate_dialogues import dialogue_section
        steps.append(("dialogues through a real stack", dialogue_section, True))
    with progress(steps, desc="make eval", unit="section") as bar:
        for label, run, blank_before in bar:
            bar.set_postfix_str(label)
            if getattr(run, "func", None) is nlu_section:
                bar.clear()  # `rasa test` prints its own progress from here
            part = run()
            lines += ([""] + part) if blank_before else (part + [""])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "eval.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\n(written to {(RESULTS / 'eval.md').relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
