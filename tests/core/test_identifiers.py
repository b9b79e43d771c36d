import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiwang.core.identifiers import (
    USCC_ALPHABET,
    IdentifierError,
    credit_code_check_char,
    id_number_birth_date,
    id_number_check_char,
    id_number_gender,
    is_mobile,
    validate_credit_code,
    validate_id_number,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "320581199003071236"])
def test_valid_id_numbers(number):
    assert validate_id_number(number) == number.upper()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "校验位"),  # wrong check character
        ("11010519491231002", "18位"),  # too short
        ("1101051949123100AX", "18位"),  # letters inside
        ("320581198511222462", "地址码"),  # 320581 was assigned to Changshu only from 1989
        ("155214290511145346", "地址码"),  # an address code stdnum's table cannot place
    ],
)
def test_invalid_id_numbers(number, reason):
    with pytest.raises(IdentifierError, match=reason):
        validate_id_number(number)


def test_impossible_birth_date_is_refused_even_with_a_correct_check_character():
    first17 = "11010519491331002"  # month 13
    with pytest.raises(IdentifierError, match="出生日期"):
        validate_id_number(first17 + id_number_check_char(first17))


def test_id_number_parts():
    assert str(id_number_birth_date("11010519491231002X")) == "1949-12-31"
    assert id_number_gender("11010519491231002X") == "女"
    assert id_number_gender("320581199003071236") == "男"


@pytest.mark.parametrize(
    "code", ["91110000600037341L", "91320581MA1YE2026" + credit_code_check_char("91320581MA1YE2026")]
)
def test_valid_credit_codes(code):
    assert validate_credit_code(code.lower()) == code


@pytest.mark.parametrize("authority", ["A", "N", "Y"])
def test_credit_codes_of_authorities_a_n_y_are_accepted(authority):
    first17 = f"{authority}1320581MA1234567"
    code = first17 + credit_code_check_char(first17)
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000600037341M", "校验位"),
        ("91110000600037341", "18位"),
        ("9111000060003734IL", "18位"),  # I is not in the alphabet
        ("B1110000600037341L", "登记管理部门"),
        ("911100A0600037341L", "行政区划"),
    ],
)
def test_invalid_credit_codes(code, reason):
    with pytest.raises(IdentifierError, match=reason):
        validate_credit_code(code)


@given(
    st.text(alphabet=USCC_ALPHABET, min_size=15, max_size=15),
    st.sampled_from("123456789ANY"),
    st.integers(0, 16),
    st.sampled_from(USCC_ALPHABET),
)
def test_any_single_substitution_breaks_the_credit_code_check(body, authority, position, replacement):
    first17 = authority + body[0] + "320581" + body[6:15]
    code = first17 + credit_code_check_char(first17)
    assert validate_credit_code(code) == code
    mutated = code[:position] + replacement + code[position + 1 :]
    if mutated != code and mutated[0] in "123456789ANY" and mutated[2:8].isdigit():
        with pytest.raises(IdentifierError):
            validate_credit_code(mutated)


def test_mobile_numbers():
    assert is_mobile("13812345678")
    assert not is_mobile("12812345678")
    assert not is_mobile("1381234567")
