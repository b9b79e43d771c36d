"""Surface water class per GB 3838-2002 Table 1, single-factor evaluation (单因子评价法)."""

from dataclasses import dataclass

CLASSES = ("I", "II", "III", "IV", "V")
WORSE_THAN_V = "劣V"
LABELS = {"I": "优", "II": "优", "III": "良好", "IV": "轻度污染", "V": "中度污染", WORSE_THAN_V: "重度污染"}
ITEMS = ("ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "tn")
ITEM_LABELS = {
    "ph": "pH",
    "do": "溶解氧",
    "codmn": "高锰酸盐指数",
    "cod": "化学需氧量",
    "bod5": "五日生化需氧量",
    "nh3n": "氨氮",
    "tp": "总磷",
    "tn": "总氮",
}
# Limits per class I..V; DO is "at least", the rest "at most".
_AT_MOST = {
    "codmn": (2, 4, 6, 10, 15),
    "cod": (15, 15, 20, 30, 40),
    "bod5": (3, 3, 4, 6, 10),
    "nh3n": (0.15, 0.5, 1.0, 1.5, 2.0),
}
_TP = {"river": (0.02, 0.1, 0.2, 0.3, 0.4), "lake": (0.01, 0.025, 0.05, 0.1, 0.2)}
_TN_LAKE = (0.2, 0.5, 1.0, 1.5, 2.0)
_DO_AT_LEAST = (7.5, 6, 5, 3, 2)


@dataclass(frozen=True)
class WaterResult:
    water_class: str
    limiting: list[str]
    per_item: dict[str, str]

    def as_dict(self) -> dict:
        return {
            "class": self.water_class,
            "limiting": self.limiting,
            "per_item": self.per_item,
            "label": LABELS[self.water_class],
        }


def _rank(name: str) -> int:
    return len(CLASSES) if name == WORSE_THAN_V else CLASSES.index(name)


def item_class(item: str, value: float, *, water_body: str = "river") -> str | None:
    """The class one indicator meets; None where the item has no limit for this water body."""
    if item == "ph":
        return "I" if 6 <= value <= 9 else WORSE_THAN_V
    if item == "do":
        limits: tuple[float, ...] = _DO_AT_LEAST
        for name, limit in zip(CLASSES, limits, strict=True):
            if value >= limit:
                return name
        return WORSE_THAN_V
    if item == "tp":
        limits = _TP[water_body]
    elif item == "tn":
        if water_body != "lake":
            return None  # TN is evaluated for lakes and reservoirs only
        limits = _TN_LAKE
    elif item in _AT_MOST:
        limits = _AT_MOST[item]
    else:
        raise ValueError(f"未知指标 {item}")
    for name, limit in zip(CLASSES, limits, strict=True):
        if value <= limit:
            return name
    return WORSE_THAN_V


def classify(values: dict[str, float | None], *, water_body: str = "river") -> WaterResult:
    """A section's class is its worst indicator's class; `limiting` names the indicators that set it."""
    if water_body not in _TP:
        raise ValueError("water_body 只能是 river 或 lake")
    per_item: dict[str, str] = {}
    for item, value in values.items():
        if value is None:
            continue
        if value < 0 and item != "ph":
            raise ValueError(f"{item} 不能为负")
        found = item_class(item, float(value), water_body=water_body)
        if found is not None:
            per_item[item] = found
    if not per_item:
        raise ValueError("至少需要一个指标")
    worst = max(per_item.values(), key=_rank)
    limiting = [i for i in ITEMS if per_item.get(i) == worst] if worst != "I" else []
    return WaterResult(worst, limiting, per_item)


def worst_class(classes: list[str]) -> str | None:
    """A river's class from its stations: the worst one."""
    return max(classes, key=_rank) if classes else None
