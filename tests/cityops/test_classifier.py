"""Smart dispatch: the shipped classifier's accuracy on the separately written held-out set, API and CLI."""

from collections import Counter

import pytest

from tests.cityops.conftest import bearer
from tests.conftest import run_cli
from yiwang.cityops import classifier


def test_heldout_accuracy_meets_the_targets():
    rows = classifier.read_corpus(classifier.DATA / "heldout.tsv")
    train = classifier.read_corpus(classifier.DATA / "train.tsv")
    assert len(rows) >= 100 and len(train) >= 300
    assert not {t for _, t in rows} & {t for _, t in train}  # the held-out texts are not in training
    result = classifier.evaluate(rows, classifier.departments_by_category())
    assert result["category_accuracy"] >= 0.85, result
    assert result["department_accuracy"] >= 0.90, result


def test_shipped_model_matches_the_training_data():
    rebuilt = classifier.train(classifier.read_corpus(classifier.DATA / "train.tsv"))
    assert rebuilt == classifier._model()  # retrain after editing train.tsv or the configuration
    assert rebuilt["config"] == classifier.CONFIG.to_json()
    assert classifier.MODEL_PATH.stat().st_size < 3_000_000


def test_training_set_covers_every_category_evenly():
    rows = classifier.read_corpus(classifier.DATA / "train.tsv")
    per_category = Counter(label for label, _ in rows)
    assert set(per_category) == set(classifier.departments_by_category())
    assert min(per_category.values()) >= 50
    assert len({text for _, text in rows}) == len(rows)  # no text twice


@pytest.mark.parametrize("kind", ["complement", "multinomial"])
def test_both_naive_bayes_kinds_learn_a_toy_corpus(kind):
    rows = [("A", "垃圾桶满了"), ("A", "垃圾没人收"), ("A", "门口垃圾臭"), ("B", "路灯不亮"), ("B", "路灯坏了")]
    model = classifier.train(rows, classifier.Config(kind, (1, 2), 1.0, 1))
    assert classifier.classify("楼下垃圾堆着", model=model)[0].category == "A"
    assert classifier.classify("晚上路灯黑了", model=model)[0].category == "B"
    ranked = classifier.classify("路灯", model=model)
    assert abs(sum(s.score for s in ranked) - 1) < 1e-3
    # text the model has never seen gives no evidence, so it is far less sure than with a known word
    assert classifier.classify("ＸＹＺ", model=model)[0].score < classifier.classify("垃圾", model=model)[0].score


def test_features_fold_full_width_forms_and_drop_punctuation():
    assert classifier.features("ＫＴＶ，吵！", (1, 2)) == Counter({"k": 1, "t": 1, "v": 1, "kt": 1, "tv": 1, "吵": 1})


@pytest.mark.parametrize(
    "fields", [{"kind": "svm"}, {"tf": "tfidf"}, {"ngrams": (3, 2)}, {"alpha": 0.0}, {"min_count": 0}]
)
def test_bad_configurations_are_refused(fields):
    with pytest.raises(ValueError):
        classifier.Config(**fields)


def test_classify_api_ranks_suggestions(client):
    response = client.post(
        "/api/cityops/classify", json={"text": "楼下饭店油烟太大，窗户上全是油"}, headers=bearer(client, "zhangsan")
    )
    body = response.json()
    assert body["suggestions"][0]["category_code"] == "HB03" and body["suggestions"][0]["department_code"] == "HBJ"
    scores = [s["score"] for s in body["suggestions"]]
    assert scores == sorted(scores, reverse=True) and not body["needs_dispatcher"]
    vague = client.post(
        "/api/cityops/classify", json={"text": "你好，我想咨询一下"}, headers=bearer(client, "zhangsan")
    )
    assert vague.json()["needs_dispatcher"] is True


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "x" * 5000}, {"text": "ok", "extra": 1}, {"text": 5}])
def test_classify_bad_payloads(client, body):
    response = client.post("/api/cityops/classify", json=body, headers=bearer(client, "zhangsan"))
    assert response.status_code == 422


def test_classify_cli(runtime):
    result = run_cli(runtime, "cityops", "classify", "路口红绿灯坏了一直闪黄灯")
    assert result.exit_code == 0, result.output
    assert "GA01" in result.output and "GAJ" in result.output
