"""Validation of national identifiers: GB 11643 citizen ID numbers and GB 32100 credit codes."""

from collections.abc import Callable
from datetime import date
from typing import Annotated

from pydantic import AfterValidator
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, ValidationError

from yiwang.core.timeutil import local_today

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_AUTHORITIES = set("123456789ANY")


class IdentifierError(ValueError):
    """An identifier that fails its standard's format or check character; message in Chinese."""


def normalise_id_number(value: str) -> str:
    """Upper-case and strip a citizen ID number."""
    return value.strip().upper()


def validate_id_number(value: str) -> str:
    """Return the normalised 18-character ID number or raise IdentifierError (GB 11643-1999)."""
    number = normalise_id_number(value)
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise IdentifierError("身份证号码应为18位，前17位为数字，末位为数字或X")
    try:
        ric.validate(number)
    except InvalidChecksum as exc:
        raise IdentifierError("身份证号码校验位错误") from exc
    except (ValidationError, KeyError, ValueError) as exc:
        # stdnum checks the birth date and that the address code existed in the birth year; its
        # address lookup raises KeyError on some malformed county entries, which is the same answer.
        raise IdentifierError("身份证号码中的出生日期或地址码无效") from exc
    if ric.get_birth_date(number) > local_today():
        raise IdentifierError("身份证号码中的出生日期无效")
    return number


def id_number_birth_date(number: str) -> date:
    """The birth date encoded in a valid ID number."""
    return ric.get_birth_date(number)


def id_number_gender(number: str) -> str:
    """'男' or '女' from the sequence digit (odd male, even female)."""
    return "男" if int(number[16]) % 2 == 1 else "女"


def normalise_credit_code(value: str) -> str:
    return value.strip().upper()


def validate_credit_code(value: str) -> str:
    """Return the normalised unified social credit code or raise IdentifierError (GB 32100-2015).

    Hand-written because python-stdnum's cn.uscc rejects valid codes whose registering authority is
    A, N or Y (standards.md §3).
    """
    code = normalise_credit_code(value)
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        raise IdentifierError("统一社会信用代码应为18位，由数字和大写字母（不含I、O、Z、S、V）组成")
    if code[0] not in _USCC_AUTHORITIES:
        raise IdentifierError("统一社会信用代码第1位（登记管理部门代码）无效")
    if not code[2:8].isdigit():
        raise IdentifierError("统一社会信用代码第3-8位应为行政区划码")
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    if USCC_ALPHABET[(31 - total % 31) % 31] != code[17]:
        raise IdentifierError("统一社会信用代码校验位错误")
    return code


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (used to make demo codes)."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits (used to make demo numbers)."""
    return ric.calc_check_digit(first17 + "?")  # the function drops a trailing check character


def is_mobile(value: str) -> bool:
    """Mainland mobile numbers: 11 digits starting 13–19."""
    return len(value) == 11 and value.isdigit() and value[0] == "1" and value[1] in "3456789"


def _as_pydantic(check: Callable[[str], str]) -> Callable[[str], str]:
    def validator(value: str) -> str:
        try:
            return check(value)
        except IdentifierError as exc:
            raise ValueError(str(exc)) from exc

    return validator


def _mobile(value: str) -> str:
    if not is_mobile(value):
        raise IdentifierError("手机号码应为11位大陆手机号")
    return value


# Field types for Pydantic models: validated and normalised, with the Chinese reason as the error.
IdNumber = Annotated[str, AfterValidator(_as_pydantic(validate_id_number))]
CreditCode = Annotated[str, AfterValidator(_as_pydantic(validate_credit_code))]
Mobile = Annotated[str, AfterValidator(_as_pydantic(_mobile))]
