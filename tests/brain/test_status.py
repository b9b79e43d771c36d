"""Status thresholds: met, on track, at risk (trend, too little history, past the deadline), no data."""

from datetime import date

from yiwang.brain import indicators as ind


def _monthly(values, start=date(2024, 1, 1)):
    out = []
    for k, v in enumerate(values):
        out.append((date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1), v))
    return out


def test_met_when_the_value_reaches_the_target():
    assert ind.assess(value=95.0, target=95, history=[], as_of=date(2024, 6, 1))[0] == ind.MET
    assert ind.assess(value=94.99, target=95, history=[], as_of=date(2024, 6, 1))[0] != ind.MET


def test_on_track_when_the_trend_reaches_the_target_by_2025():
    # 60 → 71 over 2024 (+1/month); 12 months left from 2024-12 → 71 + 12 = 83 ≥ 80
    history = _monthly([60 + k for k in range(12)], start=date(2024, 1, 1))
    status, reason = ind.assess(value=71, target=80, history=history, as_of=date(2024, 12, 15))
    assert status == ind.ON_TRACK and "可达" in reason


def test_at_risk_when_the_trend_falls_short():
    history = _monthly([60 + 0.2 * k for k in range(12)], start=date(2024, 6, 1))
    status, reason = ind.assess(value=62.2, target=85, history=history, as_of=date(2025, 5, 15))
    assert status == ind.AT_RISK and "低于目标" in reason


def test_the_threshold_between_on_track_and_at_risk():
    # Slope exactly 1/month, 7 months left (2025-05 → 2025-12): reaching 85 needs the value to be 78.
    as_of = date(2025, 5, 1)
    for value, expected in ((78.0, ind.ON_TRACK), (77.9, ind.AT_RISK)):
        history = _monthly([value - 11 + k for k in range(12)], start=date(2024, 5, 1))
        assert ind.assess(value=value, target=85, history=history, as_of=as_of)[0] == expected


def test_at_risk_with_too_little_history_and_past_the_deadline():
    assert ind.assess(value=50, target=85, history=_monthly([49]), as_of=date(2024, 3, 1))[0] == ind.AT_RISK
    status, reason = ind.assess(value=99, target=100, history=_monthly(range(90, 99)), as_of=date(2026, 1, 5))
    assert status == ind.AT_RISK and "已过 2025 年目标期限" in reason


def test_no_data():
    assert ind.assess(value=None, target=100, history=[], as_of=date(2024, 1, 1))[0] == ind.NO_DATA


def test_all_twenty_indicators_are_defined_with_target_unit_and_kind():
    items = ind.definitions()
    assert [i.no for i in items] == list(range(1, 21))
    assert {i.kind for i in items} == {"约束性", "预期性"}
    assert sum(i.source == "computed" for i in items) == 15  # 4–9, 11–15, and 17–20 from the cascade (federation)
    assert ind.definition(13).target == 75 and ind.definition(16).unit == "家"
