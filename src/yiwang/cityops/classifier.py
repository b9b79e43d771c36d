"""Smart dispatch: a character n-gram naive Bayes classifier of complaint texts.

Trained on data/train.tsv (complaints written for this project), shipped as data/model.json, so
nothing is downloaded at run time. The developer command in classifier_training.py rebuilds the model,
cross-validates and compares configurations on the training data, and reports accuracy on the
separately written data/heldout.tsv, which is never used to choose anything.

Both naive Bayes kinds are stored as one linear model over the vocabulary V:

    score(c) = bias[c] + N * scale[c] + sum over n-grams g in V of n_g * weights[c].get(g, shared[g])

where n_g is the (tf-weighted) count of g in the text and N the sum of those counts. Multinomial NB
has weights[c][g] = log(count(c, g) + alpha), shared[g] = log(alpha), scale = -log(its denominator),
bias = the log prior. Complement NB (Rennie et al. 2003, better for many classes with few texts
each) scores a class by how unlike the *other* classes' texts the text is: weights[c][g] =
-log(total(g) - count(c, g) + alpha), shared[g] = -log(total(g) + alpha), scale = log(the complement
denominator), no prior. Only n-grams seen in a class get their own weight, so the file stays small.
"""

import csv
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
MODEL_PATH = DATA / "model.json"
# Posteriors are softmax(score / TEMPERATURE): the temperature that minimised the cross-validated log
# loss of the shipped configuration (see docs/cityops.md), so the score reads as a probability.
TEMPERATURE = 0.5
# Below this top score the event waits for a dispatcher: with calibrated posteriors, 0.5 sends a text
# automatically only when its best category is more likely right than wrong (93 % of texts in
# cross-validation, 92.8 % of them right; see `... cv` for the trade-off at other thresholds).
LOW_CONFIDENCE = 0.5
_NOISE = re.compile(r"[\s，。！？、；：,.!?;:（）()“”\"'…~—\-【】\[\]<>《》/|#*+=_@&%^$￥·]+")


@dataclass(frozen=True)
class Config:
    """What is trained: naive Bayes kind, n-gram lengths, smoothing, vocabulary cut-off, term weighting."""

    kind: str = "complement"  # or "multinomial"
    ngrams: tuple[int, int] = (1, 2)  # shortest and longest n-gram, inclusive
    alpha: float = 2.0  # additive smoothing
    min_count: int = 1  # n-grams seen fewer times in the training data are ignored
    tf: str = "count"  # "count", "binary" (once per text) or "log" (1 + log count)

    def __post_init__(self) -> None:
        if self.kind not in ("complement", "multinomial") or self.tf not in ("count", "binary", "log"):
            raise ValueError(f"unknown classifier configuration: {self}")
        if not 1 <= self.ngrams[0] <= self.ngrams[1] or self.alpha <= 0 or self.min_count < 1:
            raise ValueError(f"unknown classifier configuration: {self}")

    def to_json(self) -> dict:
        return {**asdict(self), "ngrams": list(self.ngrams)}


CONFIG = Config()


def features(text: str, ngrams: tuple[int, int] = CONFIG.ngrams) -> Counter[str]:
    """Character n-grams of the text, punctuation removed (Chinese needs no word segmentation).

    NFKC folds full-width letters and digits (Ｗｉｆｉ, １２３４５) into their usual forms.
    """
    clean = _NOISE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    grams: Counter[str] = Counter()
    for chunk in clean.split():
        for n in range(ngrams[0], ngrams[1] + 1):
            for i in range(len(chunk) - n + 1):
                grams[chunk[i : i + n]] += 1
    return grams


def weigh(grams: Counter[str], tf: str) -> dict[str, float]:
    if tf == "binary":
        return dict.fromkeys(grams, 1.0)
    if tf == "log":
        return {g: 1.0 + math.log(n) for g, n in grams.items()}
    return {g: float(n) for g, n in grams.items()}


def read_corpus(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(row[0], row[1]) for row in csv.reader(handle, delimiter="\t") if len(row) >= 2]


def fit(samples: list[tuple[str, Counter[str]]], config: Config = CONFIG) -> dict:
    """Fit the model from (label, n-gram counts) pairs; `train` is the same from texts."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    docs: Counter[str] = Counter()
    for label, grams in samples:
        docs[label] += 1
        counts[label].update(weigh(grams, config.tf))
    totals: Counter[str] = Counter()
    for c in counts.values():
        totals.update(c)
    vocab = {g: n for g, n in totals.items() if n >= config.min_count}
    alpha, size = config.alpha, len(vocab)
    all_mass = sum(vocab.values())
    model: dict = {"config": config.to_json(), "vocab_size": size, "labels": {}}
    if config.kind == "multinomial":
        model["shared"] = dict.fromkeys(vocab, _r(math.log(alpha)))
    else:
        model["shared"] = {g: _r(-math.log(n + alpha)) for g, n in vocab.items()}
    for label in sorted(counts):
        own = {g: n for g, n in counts[label].items() if g in vocab}
        mass = sum(own.values())
        if config.kind == "multinomial":
            params = {
                "bias": _r(math.log(docs[label] / sum(docs.values()))),
                "scale": _r(-math.log(mass + alpha * size)),
                "weights": {g: _r(math.log(n + alpha)) for g, n in own.items()},
            }
        else:
            params = {
                "bias": 0.0,
                "scale": _r(math.log(all_mass - mass + alpha * size)),
                "weights": {g: _r(-math.log(vocab[g] - n + alpha)) for g, n in own.items()},
            }
        model["labels"][label] = params
    return model


def _r(value: float) -> float:
    return round(value, 5)


def train(rows: list[tuple[str, str]], config: Config = CONFIG) -> dict:
    return fit([(label, features(text, config.ngrams)) for label, text in rows], config)


def scores(grams: Counter[str], model: dict) -> dict[str, float]:
    """Raw linear scores per category (higher is more likely) for the text's n-gram counts."""
    shared = model["shared"]
    known = {g: n for g, n in weigh(grams, model["config"]["tf"]).items() if g in shared}
    total = sum(known.values())
    result = {}
    for label, params in model["labels"].items():
        weights = params["weights"]
        result[label] = (
            params["bias"] + total * params["scale"] + sum(n * weights.get(g, shared[g]) for g, n in known.items())
        )
    return result


def posteriors(raw: dict[str, float], temperature: float = TEMPERATURE) -> list[tuple[str, float]]:
    """Tempered softmax of raw scores, best first; the probabilities sum to 1."""
    best = max(raw.values())
    exp = {k: math.exp((v - best) / temperature) for k, v in raw.items()}
    total = sum(exp.values())
    return sorted(((k, v / total) for k, v in exp.items()), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class Suggestion:
    category: str
    score: float


@cache
def _model() -> dict:
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


def classify(text: str, *, top: int = 5, model: dict | None = None) -> list[Suggestion]:
    """Ranked category suggestions with posterior probabilities (sum to 1 over all categories)."""
    model = model or _model()
    grams = features(text, tuple(model["config"]["ngrams"]))
    return [Suggestion(k, round(v, 4)) for k, v in posteriors(scores(grams, model))[:top]]


def evaluate(rows: list[tuple[str, str]], department_of: dict[str, str], model: dict | None = None) -> dict:
    """Top-1 category and department accuracy on labelled rows, and how many would be sent automatically."""
    best = [(classify(text, top=1, model=model)[0], label) for label, text in rows]
    return summarise(best, department_of)


def summarise(best: list[tuple[Suggestion, str]], department_of: dict[str, str]) -> dict:
    """Figures for (top suggestion, true label) pairs."""
    n = len(best) or 1
    confident = [(s, label) for s, label in best if s.score >= LOW_CONFIDENCE]
    return {
        "n": len(best),
        "category_accuracy": round(sum(s.category == label for s, label in best) / n, 4),
        "department_accuracy": round(
            sum(department_of.get(s.category) == department_of.get(label) for s, label in best) / n, 4
        ),
        "auto_dispatched": round(len(confident) / n, 4),
        "auto_dispatched_accuracy": round(
            sum(s.category == label for s, label in confident) / (len(confident) or 1), 4
        ),
    }


def departments_by_category() -> dict[str, str]:
    with (DATA / "event_categories.csv").open(encoding="utf-8") as handle:
        return {row["code"]: row["default_department"] for row in csv.DictReader(handle)}
