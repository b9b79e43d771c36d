"""GB/T 36904 identifiers: the MOD 37,36 check character, checked against the standard's own arithmetic."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiwang.certs.identifiers import ALPHABET, check_char, make_identifier, parse_identifier
from yiwang.core.identifiers import IdentifierError, credit_code_check_char

TYPE_CODE = "111000000000000GAB"[:17]
TYPE_CODE = TYPE_CODE + credit_code_check_char(TYPE_CODE) + "001"
ISSUER = "11320581000000GAJ"
ISSUER = ISSUER + credit_code_check_char(ISSUER)


def iso7064_mod_37_36(data: str) -> str:
    """ISO 7064 hybrid system M = 36: written out from the standard, independent of python-stdnum."""
    p = 36
    for ch in data:
        s = (p + ALPHABET.index(ch)) % 36 or 36
        p = (s * 2) % 37
    return ALPHABET[(37 - p) % 36]


def test_the_published_example_of_mod_37_36():
    # The example python-stdnum documents for ISO 7064 Mod 37, 36.
    assert iso7064_mod_37_36("A12425GABC1234002") == "M"
    assert check_char("A12425GABC1234002", "", "", "") == "M"


def test_identifier_layout_and_check_character():
    identifier = make_identifier(type_code=TYPE_CODE, issuer_code=ISSUER, serial="202600000001", version="001")
    parts = identifier.split(".")
    assert identifier.startswith("1.2.156.3005.2.")
    assert parts[5:] == [TYPE_CODE, ISSUER, "202600000001", "001", parts[-1]]
    assert parts[-1] == iso7064_mod_37_36(TYPE_CODE + ISSUER + "202600000001" + "001")
    assert parse_identifier(identifier.lower()).serial == "202600000001"


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=20))
def test_check_character_matches_the_standard_for_any_serial(serial):
    assert check_char(TYPE_CODE, ISSUER, serial, "001") == iso7064_mod_37_36(TYPE_CODE + ISSUER + serial + "001")


@given(st.integers(min_value=0, max_value=11), st.sampled_from(ALPHABET))
def test_any_single_substitution_in_the_serial_is_caught(position, replacement):
    serial = "202600000123"
    identifier = make_identifier(type_code=TYPE_CODE, issuer_code=ISSUER, serial=serial)
    if serial[position] == replacement:
        return
    changed = serial[:position] + replacement + serial[position + 1 :]
    forged = identifier.replace(f".{serial}.", f".{changed}.")
    with pytest.raises(IdentifierError, match="校验位"):
        parse_identifier(forged)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.2.156.3005.1.x", "开头"),
        (f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER}.1.001", "五段"),
        (f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER}.1.01.X", "版本号"),
        (f"1.2.156.3005.2.{TYPE_CODE[:20]}.{ISSUER}.1.001.X", "类型代码"),
        (f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER[:17]}0.1.001.X", "颁证单位"),
        (f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER}.1.001.*", "校验位"),
    ],
)
def test_malformed_identifiers_say_what_is_wrong(value, message):
    with pytest.raises(IdentifierError, match=message):
        parse_identifier(value)
