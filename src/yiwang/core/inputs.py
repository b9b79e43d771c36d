"""The one base of every input model, and the one rule for text a caller sends.

Unknown fields are refused (a typo is an error, not silently ignored), text is trimmed, and text
holding NUL or another C0 control character other than tab, line feed and carriage return is refused:
PostgreSQL cannot store NUL, and the others are never meaningful in what a person or a system submits.
"""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from yiwang.core.errors import ValidationFailed

CONTROL_CHARACTER_MESSAGE = "不能包含空字符或控制字符"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def has_control_characters(text: str) -> bool:
    """True when the text holds NUL or a C0 control character other than tab, line feed, carriage return."""
    return _CONTROL_CHARACTERS.search(text) is not None


def refuse_control_characters(value: Any) -> Any:
    """The value unchanged, or ValueError when any text in it (nested lists and dict keys too) breaks the rule."""
    if isinstance(value, str):
        if has_control_characters(value):
            raise ValueError(CONTROL_CHARACTER_MESSAGE)
    elif isinstance(value, (list, tuple, set, frozenset)):  # a tuple checks faster than a union: device batches
        for item in value:
            refuse_control_characters(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(key)
            refuse_control_characters(item)
    return value


def check_parameters(*values: str | None) -> None:
    """Path and query text under the same rule: a 4xx for malformed input, never a database error."""
    if any(value is not None and has_control_characters(value) for value in values):
        raise ValidationFailed("参数包含非法字符", code="bad_parameter")


class StrictInput(BaseModel):
    """Base of every input model: unknown fields refused, text trimmed, control characters refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # Nested input models have checked their own fields already; lists and dicts are walked.
        return refuse_control_characters(value)
