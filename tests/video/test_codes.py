"""GB/T 28181 codes: the five parts decoded, and each kind of wrong code refused by its part."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiwang.core.errors import ValidationFailed
from yiwang.video import service
from yiwang.video.codes import decode


def test_a_network_camera_code_decodes_into_its_five_parts():
    parts = service.decode_code("32058100081326000001")
    assert (parts.centre, parts.division, parts.industry, parts.type, parts.network, parts.serial) == (
        "32058100",
        "320581",
        "08",
        132,
        "6",
        "000001",
    )
    assert (parts.industry_name, parts.type_name, parts.network_name) == ("城市管理接入", "网络摄像机", "政务网")


def test_the_standards_example_code():
    code = decode("34020000001320000101")
    assert code.division == "340200" and code.is_camera and code.network_name == "监控报警专网"


@pytest.mark.parametrize(
    ("code", "part"),
    [
        ("3205810008132600000", "20位"),  # 19 digits
        ("3205810008132600000a", "20位"),
        ("99058100081326000001", "中心编码"),  # no province 99
        ("32058100081006000001", "类型编码"),  # type 100
        ("32058100081329000001", "网络标识"),  # network 9 is reserved
    ],
)
def test_a_wrong_code_is_refused_naming_the_part(code, part):
    with pytest.raises(ValidationFailed) as refused:
        decode(code)
    assert part in refused.value.message


@given(st.text(alphabet="0123456789", min_size=20, max_size=20))
def test_any_twenty_digits_decode_or_are_refused_cleanly(code):
    try:
        parts = decode(code)
    except ValidationFailed:
        return
    assert parts.centre + parts.industry + f"{parts.type:03d}" + parts.network + parts.serial == code


def test_haversine_distance_of_known_points():
    # one degree of latitude is about 111.2 km; Changshu to Suzhou centre is about 37 km
    assert abs(service.haversine_m(120.75, 31.0, 120.75, 32.0) - 111_195) < 50
    assert 35_000 < service.haversine_m(120.7538, 31.6534, 120.6195, 31.2990) < 42_000
