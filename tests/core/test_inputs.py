"""The one rule for submitted text: trimmed, and no NUL or other C0 control character but tab, LF, CR."""

import pytest
from pydantic import Field, ValidationError

from yiwang.core.errors import ValidationFailed
from yiwang.core.inputs import StrictInput, check_parameters


class Inner(StrictInput):
    note: str = ""


class Sample(StrictInput):
    name: str
    tags: list[str] = Field(default_factory=list)
    data: dict[str, object] = Field(default_factory=dict)
    inner: Inner | None = None


def test_text_is_trimmed_and_tab_line_feed_carriage_return_are_kept():
    sample = Sample(name="  甲\t乙\r\n丙  ", tags=[" a "])
    assert sample.name == "甲\t乙\r\n丙" and sample.tags == ["a"]


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a\x00b"},
        {"name": "a\x1bb"},
        {"name": "a", "tags": ["ok", "b\x07"]},
        {"name": "a", "data": {"k\x00": "v"}},
        {"name": "a", "data": {"k": ["v", {"deep": "\x01"}]}},
        {"name": "a", "inner": {"note": "x\x0cy"}},
    ],
)
def test_control_characters_anywhere_are_refused(data):
    with pytest.raises(ValidationError, match="不能包含空字符或控制字符"):
        Sample.model_validate(data)


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        Sample.model_validate({"name": "a", "colour": "red"})


def test_path_and_query_text_follow_the_same_rule():
    check_parameters("BJ-20260101-000001", None, "a\tb")
    with pytest.raises(ValidationFailed) as raised:
        check_parameters("ok", "X\x00Y")
    assert raised.value.code == "bad_parameter" and raised.value.status_code == 422
