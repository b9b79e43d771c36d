"""One place turns code values into the Chinese people read (yiwang.web.labels), and the glossary
lists every vocabulary it holds."""

from pathlib import Path

from yiwang.web import labels

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"


def test_every_vocabulary_and_code_is_in_the_glossary(app):
    text = GLOSSARY.read_text(encoding="utf-8")
    vocabularies = labels.vocabularies()
    assert {"event_status", "event_source", "alarm_level", "claim_state", "masking", "data_type"} <= vocabularies.keys()
    for name, mapping in vocabularies.items():
        assert f"### `{name}`" in text, name
        for code, label in mapping.items():
            assert f"| `{code}` | {label} |" in text, (name, code)


def test_labels_from_vocabularies_the_database_and_the_registry(app):
    assert labels.label("dispatched", "event_status") == "派遣"
    assert labels.label("CGJ", "department") == "城管局"
    assert labels.label("320581", "division") == "常熟市"
    assert labels.label("leader", "role") == "领导"
    assert labels.label("system:cityops", "actor").startswith("系统")
    assert labels.label("system:something-new", "actor") == "系统"
    assert labels.label(None, "department", "—") == "—"
    assert labels.label("no-such-code", "event_status") == "no-such-code"  # visible, so the crawl test sees it
