"""Cross-validation of the complaint classifier on its training data (classifier_training.py)."""

import random
from collections import Counter

from yiwang.cityops import classifier, classifier_training


def test_stratified_folds_partition_the_rows_and_keep_categories_balanced():
    labels = ["A"] * 10 + ["B"] * 7 + ["C"] * 3
    folds = classifier_training.stratified_folds(labels, k=5, seed=1)
    assert sorted(i for fold in folds for i in fold) == list(range(len(labels)))
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    for fold in folds:
        assert Counter(labels[i] for i in fold)["A"] == 2
    assert folds == classifier_training.stratified_folds(labels, k=5, seed=1)
    assert folds != classifier_training.stratified_folds(labels, k=5, seed=2)


def test_each_row_is_scored_by_a_model_that_never_saw_it():
    # every text is a unique word standing for its own label: learnable only by remembering the row
    rng = random.Random(0)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 2000)]
    rows = [(f"L{i % 5}", "".join(rng.sample(alphabet, 6))) for i in range(50)]
    model = classifier.train(rows, classifier.CONFIG)
    assert all(classifier.classify(text, top=1, model=model)[0].category == label for label, text in rows)
    predictions = classifier_training.out_of_fold(rows, classifier.CONFIG)
    assert len(predictions) == len(rows)
    right = sum(max(p.scores, key=p.scores.get) == p.label for p in predictions)
    assert right <= 20  # about chance (1 in 5), far from the 50 of a leaking split


def test_cross_validation_of_a_learnable_corpus():
    words = {"CG01": "垃圾", "CG06": "路灯", "GA01": "红绿灯", "SW02": "停水"}
    fillers = ["小区门口", "昨天晚上", "有没有人管", "琴川街道", "好几天了", "麻烦处理"]
    rows = [(code, f"{fillers[i % 6]}{word}{fillers[(i + 2) % 6]}") for code, word in words.items() for i in range(10)]
    result = classifier_training.cross_validate(rows)
    assert result["n"] == 40 and result["category_accuracy"] == 1.0 and result["department_accuracy"] == 1.0
    assert 0 < result["auto_dispatched"] <= 1 and result["log_loss"] < 0.5


def test_the_shipped_configuration_generalises_within_the_training_data():
    rows = classifier.read_corpus(classifier.DATA / "train.tsv")
    predictions = classifier_training.out_of_fold(rows, classifier.CONFIG)
    result = classifier_training.report(
        predictions,
        classifier.departments_by_category(),
        temperature=classifier.TEMPERATURE,
        threshold=classifier.LOW_CONFIDENCE,
    )
    assert result["category_accuracy"] >= 0.85 and result["department_accuracy"] >= 0.88, result
    assert result["auto_dispatched"] >= 0.85 and result["auto_dispatched_accuracy"] >= 0.9, result
    # the shipped temperature is (near) the one that fits the held-out folds best
    assert abs(classifier_training.best_temperature(predictions) - classifier.TEMPERATURE) <= 0.2


def test_compare_ranks_variants_best_first():
    rows = classifier.read_corpus(classifier.DATA / "train.tsv")[::4]
    variants = {k: classifier_training.VARIANTS[k] for k in ["multinomial 2-4 a0.3 cut2", "complement 1-2 a2 cut1"]}
    ranked = classifier_training.compare(rows, variants)
    assert [name for name, _ in ranked] == ["complement 1-2 a2 cut1", "multinomial 2-4 a0.3 cut2"]
    assert ranked[0][1]["category_accuracy"] > ranked[1][1]["category_accuracy"]
