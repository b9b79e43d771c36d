"""Smart dispatch: a character n-gram multinomial naive Bayes classifier of complaint texts.

Trained on data/train.tsv (complaints written for this project), shipped as data/model.json, so
nothing is downloaded at run time. `python -m yiwang.cityops.classifier train` rebuilds the model;
`... evaluate` reports accuracy on the separately written data/heldout.tsv.
"""

import csv
import json
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
MODEL_PATH = DATA / "model.json"
NGRAMS = (1, 2, 3)
ALPHA = 0.3
LOW_CONFIDENCE = 0.3
TEMPERATURE = 3.0  # naive Bayes is over-confident; tempering the posteriors makes the score usable
_NOISE = re.compile(r"[\s，。！？、；：,.!?;:（）()“”\"'…~—-]+")


def features(text: str) -> Counter[str]:
    """Character n-grams of the text with punctuation removed (Chinese needs no word segmentation)."""
    clean = _NOISE.sub(" ", text.lower()).strip()
    grams: Counter[str] = Counter()
    for chunk in clean.split():
        for n in NGRAMS:
            for i in range(len(chunk) - n + 1):
                grams[chunk[i : i + n]] += 1
    return grams


def read_corpus(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(row[0], row[1]) for row in csv.reader(handle, delimiter="\t") if len(row) >= 2]


def train(rows: list[tuple[str, str]]) -> dict:
    """Fit the model: log priors and log likelihoods per n-gram (features seen fewer than twice dropped)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    docs: Counter[str] = Counter()
    for label, text in rows:
        docs[label] += 1
        counts[label].update(features(text))
    vocab_counts: Counter[str] = Counter()
    for c in counts.values():
        vocab_counts.update(c)
    vocab = {g for g, n in vocab_counts.items() if n >= 2}
    total_docs = sum(docs.values())
    model: dict = {"alpha": ALPHA, "vocab_size": len(vocab), "labels": {}}
    for label, c in counts.items():
        kept = {g: n for g, n in c.items() if g in vocab}
        denominator = sum(kept.values()) + ALPHA * len(vocab)
        model["labels"][label] = {
            "prior": math.log(docs[label] / total_docs),
            "unseen": math.log(ALPHA / denominator),
            "loglik": {g: round(math.log((n + ALPHA) / denominator), 5) for g, n in kept.items()},
        }
    return model


@dataclass(frozen=True)
class Suggestion:
    category: str
    score: float


_vocabs: dict[int, set[str]] = {}


def _vocab(key: int, model: dict) -> set[str]:
    if key not in _vocabs:
        _vocabs[key] = {g for params in model["labels"].values() for g in params["loglik"]}
    return _vocabs[key]


@cache
def _model() -> dict:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


def classify(text: str, *, top: int = 5, model: dict | None = None) -> list[Suggestion]:
    """Ranked category suggestions with posterior probabilities (sum to 1 over all categories)."""
    model = model or _model()
    vocab = _vocab(id(model), model)
    grams = {g: n for g, n in features(text).items() if g in vocab}
    scores = {}
    for label, params in model["labels"].items():
        loglik, unseen = params["loglik"], params["unseen"]
        scores[label] = params["prior"] + sum(n * loglik.get(g, unseen) for g, n in grams.items())
    best = max(scores.values())
    exp = {k: math.exp((v - best) / TEMPERATURE) for k, v in scores.items()}
    total = sum(exp.values())
    ranked = sorted(((k, v / total) for k, v in exp.items()), key=lambda kv: -kv[1])
    return [Suggestion(k, round(v, 4)) for k, v in ranked[:top]]


def evaluate(rows: list[tuple[str, str]], department_of: dict[str, str], model: dict | None = None) -> dict:
    """Top-1 category and department accuracy on labelled rows."""
    right_cat = right_dept = 0
    for label, text in rows:
        guess = classify(text, top=1, model=model)[0].category
        right_cat += guess == label
        right_dept += department_of.get(guess) == department_of.get(label)
    n = len(rows) or 1
    auto = [classify(text, top=1, model=model)[0] for _label, text in rows]
    confident = [(s, label) for s, (label, _t) in zip(auto, rows, strict=True) if s.score >= LOW_CONFIDENCE]
    return {
        "n": len(rows),
        "category_accuracy": round(right_cat / n, 4),
        "department_accuracy": round(right_dept / n, 4),
        "auto_dispatched": round(len(confident) / n, 4),
        "auto_dispatched_accuracy": round(
            sum(s.category == label for s, label in confident) / (len(confident) or 1), 4
        ),
    }


def departments_by_category() -> dict[str, str]:
    with (DATA / "event_categories.csv").open(encoding="utf-8") as handle:
        return {row["code"]: row["default_department"] for row in csv.DictReader(handle)}


def main(argv: list[str]) -> None:
    if argv[:1] == ["train"]:
        model = train(read_corpus(DATA / "train.tsv"))
        MODEL_PATH.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        print(f"model written: {MODEL_PATH} ({model['vocab_size']} features)")
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    print(json.dumps(evaluate(read_corpus(DATA / "heldout.tsv"), departments_by_category(), model)))


if __name__ == "__main__":
    main(sys.argv[1:])
