"""Smart dispatch: the shipped classifier's accuracy on the separately written held-out set, API and CLI."""

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
    assert rebuilt["vocab_size"] == classifier._model()["vocab_size"]


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
