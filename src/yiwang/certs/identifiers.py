"""GB/T 36904 e-certificate identifiers (standards.md §3) with the ISO 7064 MOD 37,36 check character.

Form: ``1.2.156.3005.2.<type code>.<issuer credit code>.<serial>.<version>.<check>`` where the type
code is the issuing ministry's 18-character credit code followed by 3 digits, the version has 3
digits, and the check character is computed over type code, issuer code, serial and version.
"""

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

from yiwang.core.identifiers import IdentifierError, credit_code_check_char, validate_credit_code

PREFIX = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SERIAL = re.compile(r"^[0-9A-Z]{1,40}$")


@dataclass(frozen=True)
class CertificateIdentifier:
    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str

    def __str__(self) -> str:
        return ".".join((PREFIX, self.type_code, self.issuer_code, self.serial, self.version, self.check))


def check_char(type_code: str, issuer_code: str, serial: str, version: str) -> str:
    """The MOD 37,36 check character over the concatenated significant parts."""
    return mod_37_36.calc_check_digit(type_code + issuer_code + serial + version, alphabet=ALPHABET)


def _check_parts(type_code: str, issuer_code: str, serial: str, version: str) -> None:
    if len(type_code) != 21 or not type_code[18:].isdigit():
        raise IdentifierError("证照类型代码应为发证部委统一社会信用代码（18位）加3位数字")
    try:
        validate_credit_code(type_code[:18])
    except IdentifierError as exc:
        raise IdentifierError(f"证照类型代码中的统一社会信用代码无效：{exc}") from exc
    try:
        validate_credit_code(issuer_code)
    except IdentifierError as exc:
        raise IdentifierError(f"颁证单位代码无效：{exc}") from exc
    if not _SERIAL.match(serial):
        raise IdentifierError("证照顺序号应由1至40位数字或大写字母组成")
    if len(version) != 3 or not version.isdigit():
        raise IdentifierError("版本号应为3位数字")


def make_identifier(*, type_code: str, issuer_code: str, serial: str, version: str = "001") -> str:
    """Build a full identifier with its check character."""
    _check_parts(type_code, issuer_code, serial, version)
    return str(
        CertificateIdentifier(
            type_code, issuer_code, serial, version, check_char(type_code, issuer_code, serial, version)
        )
    )


def parse_identifier(value: str) -> CertificateIdentifier:
    """Validate an identifier given by a user; IdentifierError (Chinese message) names what is wrong."""
    text = value.strip().upper()
    if not text.startswith(PREFIX + "."):
        raise IdentifierError(f"电子证照标识应以 {PREFIX}. 开头")
    parts = text[len(PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise IdentifierError("电子证照标识应由类型代码、颁证单位代码、顺序号、版本号和校验位五段组成")
    type_code, issuer_code, serial, version, check = parts
    _check_parts(type_code, issuer_code, serial, version)
    if len(check) != 1 or check not in ALPHABET:
        raise IdentifierError("校验位应为1位数字或大写字母")
    expected = check_char(type_code, issuer_code, serial, version)
    if check != expected:
        raise IdentifierError("电子证照标识校验位错误")
    return CertificateIdentifier(type_code, issuer_code, serial, version, check)


_ILLEGAL = str.maketrans({"I": "1", "O": "0", "Z": "2", "S": "5", "V": "4"})


def demo_credit_code(prefix: str, name: str) -> str:
    """A GB 32100-valid code for a public body whose real code is not available offline (demo data)."""
    body = re.sub(r"[^0-9A-Z]", "", name.upper()).translate(_ILLEGAL)
    first17 = prefix + ("0" * 17 + body)[-(17 - len(prefix)) :]
    return first17 + credit_code_check_char(first17)


def department_credit_code(department_code: str) -> str:
    """Issuer code of a Changshu department: 机关 (11) + 320581 + a demo organisation code."""
    return demo_credit_code("11320581", department_code)
