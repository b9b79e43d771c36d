"""The serialised DCAT catalog, kept per process and rebuilt only when the catalog changes.

Building the rdflib graph of every open dataset and serialising it takes about a second; harvesters
fetch the same document again and again. Each request reads the catalog's change marker
(`service.catalog_marker`, a few indexed queries), so every process sees a change on its next request
without any messaging between them; the body's hash is its ETag, so a harvester that already has it
gets a 304.
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core.crypto import content_suite
from yiwang.core.timeutil import utcnow
from yiwang.opendata import dcat, service

MAX_DOCUMENTS = 16  # (base URL, format) pairs kept: a few host names, two formats


@dataclass(frozen=True)
class CatalogDocument:
    body: bytes
    etag: str
    last_modified: datetime


_documents: dict[tuple[str, ...], tuple[tuple[Any, ...], CatalogDocument]] = {}
_lock = threading.Lock()


def catalog_document(db: Session, *, base: str, site_name: str, fmt: str) -> CatalogDocument:
    """The catalog in `fmt` ("json-ld" or "turtle") as of now, from the cache when nothing changed."""
    marker = service.catalog_marker(db)
    key = (str(db.get_bind().engine.url), base, site_name, fmt)
    cached = _documents.get(key)
    if cached is not None and cached[0] == marker:
        return cached[1]
    with _lock:  # one build at a time: requests arriving meanwhile take the fresh document
        cached = _documents.get(key)
        if cached is not None and cached[0] == marker:
            return cached[1]
        graph = dcat.catalog_graph(base, site_name, service.all_datasets(db))
        body = dcat.serialise(graph, fmt)
        document = CatalogDocument(
            body=body, etag=f'"{content_suite(db).hexdigest(body)[:32]}"', last_modified=_last_modified(marker)
        )
        if key not in _documents and len(_documents) >= MAX_DOCUMENTS:
            _documents.pop(next(iter(_documents)))
        _documents[key] = (marker, document)
        return document


def _last_modified(marker: tuple[Any, ...]) -> datetime:
    """The latest change time in the marker, to the second (HTTP dates have no fractions)."""
    times = [value for part in marker if isinstance(part, tuple) for value in part if isinstance(value, datetime)]
    latest = max(times, default=None) or utcnow()
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return latest.replace(microsecond=0)


def not_modified(document: CatalogDocument, *, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether the client's copy is current (RFC 9110: If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or document.etag in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return document.last_modified <= since
    return False


def headers(document: CatalogDocument) -> dict[str, str]:
    """Validators for conditional requests; no-cache: a shared cache revalidates before reusing it."""
    return {
        "ETag": document.etag,
        "Last-Modified": format_datetime(document.last_modified, usegmt=True),
        "Cache-Control": "no-cache",
    }
