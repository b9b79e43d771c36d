"""Training and choosing the complaint classifier: stratified k-fold cross-validation, the developer command.

The model and its confidence settings are chosen here, on data/train.tsv only; data/heldout.tsv
stays an untouched check. Every variant is fitted and scored with the classifier's own `fit` and
`scores`, so the figures are those of the code that ships.

    python -m yiwang.cityops.classifier_training train     # rebuild data/model.json from data/train.tsv
    python -m yiwang.cityops.classifier_training evaluate  # accuracy on data/heldout.tsv
    python -m yiwang.cityops.classifier_training cv        # the shipped configuration, with a threshold table
    python -m yiwang.cityops.classifier_training compare   # variants ranked by cross-validated accuracy
"""

import json
import math
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass

from yiwang.cityops import classifier
from yiwang.cityops.classifier import Config, Suggestion

FOLDS = 5
TEMPERATURES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)

VARIANTS: dict[str, Config] = {
    "multinomial 1-3 a0.3 cut2 (previous)": Config("multinomial", (1, 3), 0.3, 2),
    "multinomial 1-3 a1 cut1": Config("multinomial", (1, 3), 1.0, 1),
    "multinomial 1-4 a0.3 cut2": Config("multinomial", (1, 4), 0.3, 2),
    "multinomial 2-4 a0.3 cut2": Config("multinomial", (2, 4), 0.3, 2),
    "multinomial 1-1 a1 cut1": Config("multinomial", (1, 1), 1.0, 1),
    "multinomial 1-2 a1 cut1": Config("multinomial", (1, 2), 1.0, 1),
    "multinomial 1-2 a2 cut1": Config("multinomial", (1, 2), 2.0, 1),
    "multinomial 1-2 a1 cut1 binary": Config("multinomial", (1, 2), 1.0, 1, "binary"),
    "multinomial 1-2 a1 cut1 log": Config("multinomial", (1, 2), 1.0, 1, "log"),
    "complement 1-2 a0.5 cut1": Config("complement", (1, 2), 0.5, 1),
    "complement 1-2 a1 cut1": Config("complement", (1, 2), 1.0, 1),
    "complement 1-2 a2 cut1": Config("complement", (1, 2), 2.0, 1),
    "complement 1-2 a4 cut1": Config("complement", (1, 2), 4.0, 1),
    "complement 1-2 a2 cut2": Config("complement", (1, 2), 2.0, 2),
    "complement 1-2 a2 cut1 binary": Config("complement", (1, 2), 2.0, 1, "binary"),
    "complement 1-2 a2 cut1 log": Config("complement", (1, 2), 2.0, 1, "log"),
    "complement 1-3 a2 cut1": Config("complement", (1, 3), 2.0, 1),
    "complement 1-4 a2 cut1": Config("complement", (1, 4), 2.0, 1),
    "complement 2-3 a2 cut1": Config("complement", (2, 3), 2.0, 1),
}


def stratified_folds(labels: list[str], k: int = FOLDS, seed: int = 0) -> list[list[int]]:
    """Row indices split into k folds, each category's rows shuffled and dealt round the folds in turn."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    turn = 0
    for label in sorted(by_label):
        rows = by_label[label]
        rng.shuffle(rows)
        for i in rows:
            folds[turn % k].append(i)
            turn += 1
    return folds


@dataclass(frozen=True)
class Prediction:
    label: str
    scores: dict[str, float]  # raw scores from a model that never saw this row


def out_of_fold(
    rows: list[tuple[str, str]], config: Config, *, k: int = FOLDS, seeds: tuple[int, ...] = (0,)
) -> list[Prediction]:
    """Each row scored by a model trained on the other folds (once per seed)."""
    grams = [classifier.features(text, config.ngrams) for _label, text in rows]
    labels = [label for label, _text in rows]
    predictions = []
    for seed in seeds:
        for fold in stratified_folds(labels, k, seed):
            held = set(fold)
            model = classifier.fit([(labels[i], grams[i]) for i in range(len(rows)) if i not in held], config)
            predictions += [Prediction(labels[i], classifier.scores(grams[i], model)) for i in fold]
    return predictions


def log_loss(predictions: list[Prediction], temperature: float) -> float:
    """Mean negative log posterior of the true category."""
    total = 0.0
    for p in predictions:
        probability = dict(classifier.posteriors(p.scores, temperature)).get(p.label, 0.0)
        total -= math.log(max(probability, 1e-12))
    return total / (len(predictions) or 1)


def best_temperature(predictions: list[Prediction]) -> float:
    """The temperature whose tempered posteriors fit the held-out labels best (least log loss)."""
    return min(TEMPERATURES, key=lambda t: log_loss(predictions, t))


def report(
    predictions: list[Prediction], department_of: dict[str, str], *, temperature: float, threshold: float
) -> dict:
    """Accuracy figures, and the share sent automatically (top score >= threshold) with its accuracy."""
    best = []
    for p in predictions:
        category, score = classifier.posteriors(p.scores, temperature)[0]
        best.append((Suggestion(category, score), p.label))
    result = classifier.summarise(best, department_of)
    confident = [(s, label) for s, label in best if s.score >= threshold]
    result["auto_dispatched"] = round(len(confident) / (len(best) or 1), 4)
    result["auto_dispatched_accuracy"] = round(
        sum(s.category == label for s, label in confident) / (len(confident) or 1), 4
    )
    result["log_loss"] = round(log_loss(predictions, temperature), 4)
    result["temperature"] = temperature
    result["threshold"] = threshold
    return result


def cross_validate(rows: list[tuple[str, str]], config: Config = classifier.CONFIG, **kwargs) -> dict:
    """The shipped settings' cross-validated figures (temperature and threshold as in classifier.py)."""
    predictions = out_of_fold(rows, config, **kwargs)
    return report(
        predictions,
        classifier.departments_by_category(),
        temperature=classifier.TEMPERATURE,
        threshold=classifier.LOW_CONFIDENCE,
    )


def compare(rows: list[tuple[str, str]], variants: dict[str, Config] = VARIANTS) -> list[tuple[str, dict]]:
    """Every variant cross-validated, each at its own best temperature; most accurate first."""
    department_of = classifier.departments_by_category()
    results = []
    for name, config in variants.items():
        predictions = out_of_fold(rows, config, seeds=(0, 1, 2))
        results.append(
            (
                name,
                report(
                    predictions,
                    department_of,
                    temperature=best_temperature(predictions),
                    threshold=classifier.LOW_CONFIDENCE,
                ),
            )
        )
    return sorted(results, key=lambda r: (-r[1]["category_accuracy"], r[1]["log_loss"]))


def show_cross_validation(command: str) -> None:
    rows = classifier.read_corpus(classifier.DATA / "train.tsv")
    counts = Counter(label for label, _text in rows)
    print(f"{len(rows)} training texts, {len(counts)} categories, {FOLDS}-fold stratified cross-validation")
    if command == "compare":
        print(f"{'variant':40} {'category':>8} {'dept':>6} {'logloss':>7} {'T':>4} {'auto':>6} {'auto acc':>8}")
        for name, r in compare(rows):
            print(
                f"{name:40} {r['category_accuracy']:8.4f} {r['department_accuracy']:6.4f} {r['log_loss']:7.3f}"
                f" {r['temperature']:4} {r['auto_dispatched']:6.3f} {r['auto_dispatched_accuracy']:8.4f}"
            )
        return
    config = classifier.CONFIG
    predictions = out_of_fold(rows, config, seeds=(0, 1, 2))
    department_of = classifier.departments_by_category()
    print(f"shipped: {config}")
    print(f"best temperature by log loss: {best_temperature(predictions)} (shipped {classifier.TEMPERATURE})")
    for threshold in THRESHOLDS:
        r = report(predictions, department_of, temperature=classifier.TEMPERATURE, threshold=threshold)
        if threshold == THRESHOLDS[0]:
            print(f"category {r['category_accuracy']:.4f}, department {r['department_accuracy']:.4f}")
        mark = "  <- LOW_CONFIDENCE" if threshold == classifier.LOW_CONFIDENCE else ""
        print(
            f"threshold {threshold}: sent automatically {r['auto_dispatched']:.3f}"
            f" with accuracy {r['auto_dispatched_accuracy']:.4f}{mark}"
        )


def main(argv: list[str]) -> None:
    command = argv[0] if argv else ""
    if command == "train":
        model = classifier.train(classifier.read_corpus(classifier.DATA / "train.tsv"))
        classifier.MODEL_PATH.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        print(f"model written: {classifier.MODEL_PATH} ({model['vocab_size']} features)")
    elif command == "evaluate":
        model = json.loads(classifier.MODEL_PATH.read_text(encoding="utf-8"))
        heldout = classifier.read_corpus(classifier.DATA / "heldout.tsv")
        print(json.dumps(classifier.evaluate(heldout, classifier.departments_by_category(), model)))
    elif command in ("cv", "compare"):
        show_cross_validation(command)
    else:
        print("usage: python -m yiwang.cityops.classifier_training train | evaluate | cv | compare", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
