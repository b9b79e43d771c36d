"""Finding a service (找服务): items and 一件事 bundles by what a person types, in Chinese, forgiving of
typos and other word orders.

Names are compared by character bigrams (and single characters for short queries), the usual way
to match Chinese text without a word segmenter: "营业执造" still finds 营业执照 through 营业 and
业执, "出生一件事" finds 出生“一件事”. Services are few (hundreds), so each search scores them all.
"""

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.onestop.models import Application, Bundle, ServiceItem

PUNCTUATION = set(" \t\r\n“”\"'《》（）()、，,。.·-—_/：:？?！!")


@dataclass(frozen=True)
class ServiceHit:
    """One service found: an item or a bundle, with how well it matched (0–1)."""

    kind: Literal["item", "bundle"]
    code: str
    name: str
    department_code: str
    online: bool
    visits: int
    score: float

    @property
    def url(self) -> str:
        return f"/onestop/{'bundles' if self.kind == 'bundle' else 'items'}/{self.code}"


def _clean(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch not in PUNCTUATION)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def similarity(query: str, name: str) -> float:
    """How much of `query` is found in `name`: 1 when it is a substring, else the share of the
    query's bigrams (and, for queries of three characters or fewer, its characters) in the name."""
    q, n = _clean(query), _clean(name)
    if not q or not n:
        return 0.0
    if q in n:
        return 1.0
    grams = _bigrams(q)
    by_bigram = len(grams & _bigrams(n)) / len(grams) if grams else 0.0
    by_char = len(set(q) & set(n)) / len(set(q))
    return max(by_bigram, by_char * 0.8 if len(q) <= 3 else by_char * 0.5)


def find_services(db: Session, *, q: str, limit: int = 20, min_score: float = 0.45) -> list[ServiceHit]:
    """Active items and bundles whose name (or life event) matches `q`, best first, bundles ahead of
    items at equal score (one application does more)."""
    hits: list[ServiceHit] = []
    for item in db.scalars(select(ServiceItem).where(ServiceItem.active.is_(True))):
        score = max(
            similarity(q, item.name),
            similarity(q, item.life_event or "") * 0.9,
            similarity(q, item.enterprise_event or "") * 0.9,
        )
        if score >= min_score:
            hits.append(ServiceHit("item", item.code, item.name, item.department_code, item.online, item.visits, score))
    for bundle in db.scalars(select(Bundle).where(Bundle.active.is_(True))):
        score = max(similarity(q, bundle.name), similarity(q, bundle.description or "") * 0.7)
        if score >= min_score:
            hits.append(ServiceHit("bundle", bundle.code, bundle.name, bundle.lead_department_code, True, 0, score))
    hits.sort(key=lambda h: (-round(h.score, 2), h.kind != "bundle", len(h.name), h.code))
    return hits[:limit]


def popular_services(db: Session, *, audience: str, limit: int = 8) -> list[ServiceHit]:
    """The 一件事 bundles for `audience` ("citizen" or "enterprise"), then the items marked for the city
    services entry point (总入口), most applied-for first."""
    hits = [
        ServiceHit("bundle", b.code, b.name, b.lead_department_code, True, 0, 1.0)
        for b in db.scalars(
            select(Bundle).where(Bundle.active.is_(True), Bundle.audience.in_((audience, "both"))).order_by(Bundle.code)
        )
    ]
    counts = select(Application.item_id, func.count().label("n")).group_by(Application.item_id).subquery()
    items = db.execute(
        select(ServiceItem)
        .outerjoin(counts, counts.c.item_id == ServiceItem.id)
        .where(ServiceItem.active.is_(True), ServiceItem.entry_point.is_(True))
        .order_by(func.coalesce(counts.c.n, 0).desc(), ServiceItem.code)
        .limit(limit)
    ).scalars()
    hits += [ServiceHit("item", i.code, i.name, i.department_code, i.online, i.visits, 1.0) for i in items]
    return hits[: limit * 2]


def service_departments(db: Session) -> list[tuple[str, int]]:
    """Department codes that offer active items, with how many, most first."""
    rows = db.execute(
        select(ServiceItem.department_code, func.count())
        .where(ServiceItem.active.is_(True))
        .group_by(ServiceItem.department_code)
        .order_by(func.count().desc(), ServiceItem.department_code)
    ).all()
    return [(code, int(n)) for code, n in rows]
