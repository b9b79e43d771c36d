"""The DCAT catalog is built once per change: conditional requests get a 304, and any change to what it
is built from (a dataset opened or withdrawn) gives a new document at once."""

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from tests.conftest import bearer


def _datasets(text: str, fmt: str) -> set[URIRef]:
    return set(Graph().parse(data=text, format=fmt).subjects(RDF.type, DCAT.Dataset))


def test_catalog_answers_conditional_requests_with_304(anon):
    for path in ("/catalog.jsonld", "/catalog.ttl"):
        first = anon.get(path)
        assert first.status_code == 200
        etag, last_modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('"') and first.headers["cache-control"] == "no-cache"

        again = anon.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert anon.get(path, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
        assert anon.get(path, headers={"If-Modified-Since": last_modified}).status_code == 304

        stale = anon.get(path, headers={"If-None-Match": '"not-this-one"'})
        assert stale.status_code == 200 and stale.content == first.content
        # If-None-Match decides when both are sent (RFC 9110): a stale tag gets the body.
        both = anon.get(path, headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
        assert both.status_code == 200
        assert anon.get(path, headers={"If-Modified-Since": "not a date"}).status_code == 200
        assert anon.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_catalog_changes_as_soon_as_a_dataset_is_withdrawn_or_opened(client, anon, runtime):
    from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
    from yiwang.core.security import Principal
    from yiwang.opendata import permissions as perm
    from yiwang.opendata import service

    steward = Principal(
        user_id=None,
        username="test:opendata",
        display_name="测试",
        kind="system",
        permissions=frozenset({perm.DATASET_WRITE, SCOPE_ALL_DEPARTMENTS}),
    )
    with runtime.db.unit_of_work() as db:
        code = max(c for c in service.opened_entry_codes(db) if not c.startswith("HBJ"))
    node = URIRef(f"http://testserver/dataset/{code}")
    before = anon.get("/catalog.jsonld")
    assert node in _datasets(before.text, "json-ld")
    anon.get("/catalog.ttl")  # both formats cached before the change

    with runtime.db.unit_of_work() as db:
        service.withdraw_dataset(db, actor=steward, entry_code=code, reason="测试撤回")
    withdrawn = anon.get("/catalog.jsonld", headers={"If-None-Match": before.headers["etag"]})
    assert withdrawn.status_code == 200 and withdrawn.headers["etag"] != before.headers["etag"]
    assert node not in _datasets(withdrawn.text, "json-ld")
    assert node not in _datasets(anon.get("/catalog.ttl").text, "turtle")

    opened = client.post(f"/api/opendata/datasets/{code}/publish", headers=bearer(client, "admin"))
    assert opened.status_code == 201, opened.text
    again = anon.get("/catalog.jsonld", headers={"If-None-Match": withdrawn.headers["etag"]})
    assert again.status_code == 200 and node in _datasets(again.text, "json-ld")
    assert node in _datasets(anon.get("/catalog.ttl").text, "turtle")
