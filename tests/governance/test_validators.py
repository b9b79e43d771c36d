"""Every validator of the pipeline with valid and invalid values, vectorised checks against the
kernel's reference implementations, normalisation, and de-identification."""

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.catalog.schemas import InfoItem
from yiwang.core import masking
from yiwang.core.identifiers import credit_code_check_char, id_number_check_char, validate_id_number
from yiwang.core.timeutil import local_today
from yiwang.governance import pipeline


def _run(item: InfoItem, values: list[str | None]) -> list[str]:
    """The reasons each value gets (empty string when valid)."""
    frame = pl.DataFrame({item.name: pl.Series(values, dtype=pl.String)})
    result = pipeline.process(frame, [item], first_row_number=1)
    reasons = dict(
        zip(result.quarantine[pipeline.ROW].to_list(), result.quarantine[pipeline.REASONS].to_list(), strict=True)
    )
    return [reasons.get(n + 1, "") for n in range(len(values))]


def _uscc(body: str, authority: str = "9") -> str:
    first17 = f"{authority}1320581{body}"
    return first17 + credit_code_check_char(first17)


CASES = [
    (
        InfoItem(name="v", label="身份证", validator="id_number"),
        [
            "11010519491231002X",
            "11010519491231002x",
            "320581199003071234"[:17] + id_number_check_char("32058119900307123"),
        ],
        [
            "110105194912310021",
            "1101051949123100",
            "11010519491331002X",
            "32058130000101001" + id_number_check_char("32058130000101001"),
            "ABCDEFGHIJKLMNOPQR",
        ],
    ),
    (
        InfoItem(name="v", label="信用代码", validator="credit_code"),
        [
            "91110000600037341L",
            _uscc("MA1YE2026"),
            _uscc("MA1YE2026", "A")[:0]
            + "A1"
            + _uscc("MA1YE2026")[2:17]
            + credit_code_check_char("A1" + _uscc("MA1YE2026")[2:17]),
            "N1" + _uscc("123456789")[2:17] + credit_code_check_char("N1" + _uscc("123456789")[2:17]),
        ],
        ["91110000600037341M", "91110000600037341", "0111000060003734IL", "91110000600O37341L"],
    ),
    (
        InfoItem(name="v", label="手机", validator="mobile"),
        ["13812345678", "19912345678"],
        ["12812345678", "1381234567", "138123456789", "1381234567a"],
    ),
    (
        InfoItem(name="v", label="邮箱", validator="email"),
        ["a.b@example.cn", "zhang_san+x@gov.cs.js.cn"],
        ["a@b", "no-at.cn", "a@@b.cn", "a b@c.cn"],
    ),
    (
        InfoItem(name="v", label="日期", validator="date"),
        ["2024-03-05", "2024/3/5", "20240305", "2024年3月5日"],
        ["2024-02-30", "yesterday", "2024-13-01"],
    ),
    (
        InfoItem(name="v", label="区划", validator="division_code"),
        ["320581", "320581101", "320581101001"],
        ["999999", "32058", "3205811010", "32058a"],
    ),
    (InfoItem(name="v", label="枚举", validator="enum", validator_arg="男|女"), ["男", "女"], ["M", "男性"]),
    (
        InfoItem(name="v", label="范围", validator="range", validator_arg="0,100"),
        ["0", "55.5", "100"],
        ["-1", "100.01", "abc"],
    ),
    (
        InfoItem(name="v", label="正则", validator="regex", validator_arg=r"[A-Z]{2}\d{3}"),
        ["AB123"],
        ["AB1234", "ab123", "XAB123"],
    ),
    (InfoItem(name="v", label="整数", data_type="integer"), ["42", "-7"], ["4.2", "x"]),
    (InfoItem(name="v", label="数字", data_type="number"), ["4.2", "1e3"], ["四", "1,000"]),
    (InfoItem(name="v", label="长度", length=3), ["abc", "常熟市"], ["abcd"]),
]


@pytest.mark.parametrize(("item", "valid", "invalid"), CASES, ids=[c[0].label for c in CASES])
def test_each_validator_accepts_valid_and_rejects_invalid_values(item, valid, invalid):
    reasons = _run(item, valid + invalid)
    assert reasons[: len(valid)] == [""] * len(valid), reasons
    assert all(r.startswith(item.label + "：") for r in reasons[len(valid) :]), reasons


def test_required_fields_and_empty_cells():
    item = InfoItem(name="v", label="姓名", required=True)
    assert _run(item, ["张三", "", "  ", None]) == ["", "姓名：必填项为空", "姓名：必填项为空", "姓名：必填项为空"]
    optional = InfoItem(name="v", label="手机", validator="mobile")
    assert _run(optional, [None, ""]) == ["", ""]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_id_number_checks_agree_with_a_plain_reading_of_gb_11643(first17, check):
    """Reference: ISO 7064 MOD 11-2 check character and a real birth date (standards.md §3).

    (The kernel's validate_id_number also looks the address code up in python-stdnum's table, which
    the pipeline deliberately does not: division codes change over time.)
    """
    number = first17 + check
    total = sum(int(d) * w for d, w in zip(first17, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    try:
        born = date(int(first17[6:10]), int(first17[10:12]), int(first17[12:14]))
        date_ok = date(1890, 1, 1) <= born <= local_today()
    except ValueError:
        date_ok = False
    expected_ok = date_ok and "10X98765432"[total % 11] == check
    reasons = _run(InfoItem(name="v", label="号", validator="id_number"), [number])
    assert (reasons[0] == "") == expected_ok


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9), st.sampled_from("19ANY"))
def test_credit_code_checks_agree_with_the_kernel(body, authority):
    from yiwang.core.identifiers import validate_credit_code

    first17 = f"{authority}1320581{body}"
    good = first17 + credit_code_check_char(first17)
    bad = first17 + ("0" if good[-1] != "0" else "1")
    item = InfoItem(name="v", label="码", validator="credit_code")
    assert validate_credit_code(good) == good
    assert _run(item, [good, bad]) == ["", "码：统一社会信用代码无效"]


def test_normalisation_trims_half_widths_and_writes_dates_as_iso():
    items = [
        InfoItem(name="phone", label="手机", validator="mobile"),
        InfoItem(name="day", label="日期", data_type="date"),
        InfoItem(name="code", label="号", validator="id_number"),
    ]
    assert validate_id_number("11010519491231002X")
    frame = pl.DataFrame(
        {"phone": ["  １３８１２３４５６７８ "], "day": ["2024年3月5日"], "code": ["11010519491231002x"]}
    )
    result = pipeline.process(frame, items)
    assert result.quarantine.height == 0
    row = result.clean.row(0, named=True)
    assert row["phone"] == "13812345678" and str(row["day"]) == "2024-03-05" and row["code"] == "11010519491231002X"


def test_duplicates_on_the_key_are_quarantined_naming_the_kept_row():
    items = [InfoItem(name="k", label="编号", is_key=True), InfoItem(name="v", label="值", validator="mobile")]
    frame = pl.DataFrame({"k": ["a", "b", "a", "c", "c"], "v": ["13800000000", "x", "13800000001", "1", "13800000002"]})
    result = pipeline.process(frame, items)
    assert result.clean["k"].to_list() == ["a", "c"]
    reasons = dict(zip(result.quarantine[pipeline.ROW], result.quarantine[pipeline.REASONS], strict=True))
    # line numbers count the header as line 1; an invalid first 'c' does not make the valid one a duplicate
    assert reasons == {3: "值：手机号码无效", 4: "主键重复：与第 2 行相同", 5: "值：手机号码无效"}
    assert result.report["duplicates"] == 1 and result.report["rows_in"] == 5


def test_quality_report_gives_completeness_and_validity_per_field():
    items = [InfoItem(name="m", label="手机", validator="mobile"), InfoItem(name="n", label="名")]
    frame = pl.DataFrame({"m": ["13800000000", "bad", None, "13900000000"], "n": ["a", "b", "c", None]})
    report = pipeline.process(frame, items).report
    assert report["fields"]["m"]["completeness"] == 0.75
    assert report["fields"]["m"]["validity"] == round(2 / 3, 4)
    assert report["fields"]["n"]["empty"] == 1
    assert report["rows_out"] == 3 and report["rows_quarantined"] == 1
    assert report["reasons"] == {"手机：手机号码无效": 1}


def test_masking_matches_the_display_conventions_of_the_kernel():
    values = {
        "name": ["张三丰", "李四"],
        "id_number": ["11010519491231002X"],
        "mobile": ["13812345678"],
        "bank_card": ["6222021234567890123"],
        "address": ["常熟市虞山街道书院街88号"],
        "email": ["zhangsan@example.cn"],
    }
    reference = {
        "name": masking.mask_name,
        "id_number": masking.mask_id_number,
        "mobile": masking.mask_phone,
        "bank_card": masking.mask_bank_card,
        "address": masking.mask_address,
        "email": masking.mask_email,
    }
    for method, samples in values.items():
        frame = pl.DataFrame({"c": samples})
        masked = pipeline.deidentify(frame, {"c": method}, lambda v, ns: v)["c"].to_list()
        assert masked == [reference[method](v) for v in samples], method


def test_pseudonyms_generalisation_and_suppression():
    from datetime import date

    from yiwang.core.crypto import FieldCipher

    cipher, other = FieldCipher.legacy(b"k" * 32), FieldCipher.legacy(b"j" * 32)
    frame = pl.DataFrame(
        {
            "id": ["11010519491231002X", "11010519491231002X", "320581199003071234"],
            "born": [date(1949, 12, 31), date(1990, 3, 7), date(2001, 1, 1)],
            "secret": ["a", "b", "c"],
        }
    )
    out = pipeline.deidentify(
        frame,
        {"id": "pseudonym", "born": "year", "secret": "suppress"},
        lambda v, ns: cipher.pseudonym(v, namespace=ns),
    )
    assert out.columns == ["id", "born"]
    ids = out["id"].to_list()
    assert ids[0] == ids[1] != ids[2] and "1101" not in ids[0]
    again = pipeline.deidentify(frame, {"id": "pseudonym"}, lambda v, ns: other.pseudonym(v, namespace=ns))
    assert again["id"][0] != ids[0]  # keyed: another key gives other pseudonyms
    assert out["born"].to_list() == ["1949", "1990", "2001"]
    bands = pipeline.deidentify(frame.select("born"), {"born": "age_band"}, lambda v, ns: v)["born"].to_list()
    assert all(b.endswith("岁") and "-" in b for b in bands)
    from_id = pipeline.deidentify(frame.select("id"), {"id": "year"}, lambda v, ns: v)["id"].to_list()
    assert from_id == ["1949", "1949", "1990"]
