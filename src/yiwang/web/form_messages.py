"""Validation errors in words a person reads: one Chinese message per field, never pydantic's English.

Each pydantic error type has a template that names the field by its Chinese label; a validator's own
message is kept when it is already Chinese. An error type without a template still gets a Chinese
message, so nothing English reaches a page.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

FALLBACK = "{label}填写有误"

_NUMBER = "{label}须为数字"
_INTEGER = "{label}须为整数"
_DATE = "{label}须为有效日期，如 2026-01-31"
_DATETIME = "{label}须为有效的日期和时间，如 2026-01-31 09:30"
_TIME = "{label}须为有效时间，如 09:30"
_URL = "{label}须为有效网址"
_INVALID = "{label}的取值无效"

TEMPLATES: dict[str, str] = {
    "missing": "请填写{label}",
    "string_too_short": "{label}至少{min_length}个字",
    "string_too_long": "{label}不能超过{max_length}个字",
    "string_pattern_mismatch": "{label}格式不正确",
    "string_type": "{label}须为文字",
    "string_unicode": "{label}含有无法识别的字符",
    "string_not_ascii": "{label}只能包含英文字母、数字和符号",
    "too_short": "{label}至少{min_length}项",
    "too_long": "{label}最多{max_length}项",
    "int_parsing": _INTEGER,
    "int_parsing_size": "{label}超出可接受的范围",
    "int_type": _INTEGER,
    "int_from_float": _INTEGER,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_max_digits": "{label}最多{max_digits}位数字",
    "decimal_max_places": "{label}最多{decimal_places}位小数",
    "decimal_whole_digits": "{label}整数部分最多{whole_digits}位",
    "finite_number": "{label}须为有限的数",
    "greater_than": "{label}须大于{gt}",
    "greater_than_equal": "{label}不能小于{ge}",
    "less_than": "{label}须小于{lt}",
    "less_than_equal": "{label}不能大于{le}",
    "multiple_of": "{label}须为{multiple_of}的倍数",
    "literal_error": "请从列表中选择{label}",
    "enum": "请从列表中选择{label}",
    "bool_parsing": _INVALID,
    "bool_type": _INVALID,
    "date_parsing": _DATE,
    "date_type": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_past": "{label}须早于今天",
    "date_future": "{label}须晚于今天",
    "datetime_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "datetime_past": "{label}须早于现在",
    "datetime_future": "{label}须晚于现在",
    "timezone_naive": "{label}不能带时区",
    "timezone_aware": "{label}须带时区",
    "time_parsing": _TIME,
    "time_type": _TIME,
    "time_delta_parsing": "{label}须为有效的时长",
    "time_delta_type": "{label}须为有效的时长",
    "url_parsing": _URL,
    "url_type": _URL,
    "url_syntax_violation": _URL,
    "url_scheme": "{label}须以 {expected_schemes} 开头",
    "url_too_long": "{label}不能超过{max_length}个字符",
    "uuid_parsing": "{label}格式不正确",
    "uuid_type": "{label}格式不正确",
    "uuid_version": "{label}格式不正确",
    "json_invalid": "{label}不是合法的 JSON",
    "json_type": "{label}不是合法的 JSON",
    "bytes_too_short": "{label}至少{min_length}字节",
    "bytes_too_long": "{label}不能超过{max_length}字节",
    "extra_forbidden": "不应提交{label}",
    "frozen_field": "{label}不能修改",
    "list_type": _INVALID,
    "tuple_type": _INVALID,
    "set_type": _INVALID,
    "dict_type": _INVALID,
    "model_type": _INVALID,
    "model_attributes_type": _INVALID,
    "dataclass_type": _INVALID,
    "is_instance_of": _INVALID,
    "none_required": _INVALID,
    "union_tag_invalid": _INVALID,
    "union_tag_not_found": _INVALID,
    "control_characters": "{label}不能包含控制字符",
}
# A field a person picks rather than types is "chosen", so a missing one reads 请选择, not 请填写.
CHOOSE_TEMPLATES = {"missing": "请选择{label}", "string_too_short": "请选择{label}", "too_short": "请选择{label}"}

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _own_message(error: ErrorDetails) -> str | None:
    """A validator's own message (a ValueError raised by the model) when it is written in Chinese."""
    if error["type"] not in ("value_error", "assertion_error"):
        message = error.get("msg", "")
        return message if _CHINESE.search(message) else None
    cause = (error.get("ctx") or {}).get("error")
    text = str(cause) if cause is not None else ""
    return text if _CHINESE.search(text) else None


def message_for(error: ErrorDetails, label: str, *, chosen: bool = False) -> str:
    """The Chinese message for one pydantic error on the field labelled `label`."""
    error_type = error["type"]
    ctx = {key: _number(value) for key, value in (error.get("ctx") or {}).items()}
    if error_type in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        error_type = "missing"
    template = (CHOOSE_TEMPLATES.get(error_type) if chosen else None) or TEMPLATES.get(error_type)
    if template is None:
        own = _own_message(error)
        if own is not None:
            return own
        if error_type == "value_error" and "reason" in ctx:  # email-validator's refusal
            return f"{label}不是有效的电子邮箱地址"
        template = _INVALID if error_type in ("value_error", "assertion_error") else FALLBACK
    try:
        return template.format(label=label, **ctx)
    except (KeyError, IndexError, ValueError):
        return FALLBACK.format(label=label)


def messages_by_field(
    errors: list[ErrorDetails],
    *,
    field_of: Callable[[tuple[int | str, ...]], str],
    label_of: Callable[[str, tuple[int | str, ...]], str],
    chosen: Callable[[str], bool],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The first message for each form field ("" for errors about the form as a whole).

    `label_of` names the field of an error; it also gets the error's location, for a field made of rows."""
    messages: dict[str, str] = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        name = field_of(loc)
        if name in messages:
            continue
        if overrides and name in overrides:
            messages[name] = overrides[name]
        elif not name:
            messages[name] = _own_message(error) or "提交的内容不符合要求"
        else:
            messages[name] = message_for(error, label_of(name, loc), chosen=chosen(name))
    return messages
