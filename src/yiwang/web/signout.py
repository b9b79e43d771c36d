"""Front-channel logout (前端登出): pages shown when a browser session ends load, in hidden frames,
the logout addresses of the applications signed in through it. A domain that signs applications in
registers a provider of those addresses at start-up; the logout page asks every provider."""

from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

FrontchannelProvider = Callable[[Session, int], list[str]]
_providers: dict[str, FrontchannelProvider] = {}


def register(name: str, provider: FrontchannelProvider) -> None:
    """Register a provider of front-channel logout URLs for a session id; re-registering replaces it."""
    _providers[name] = provider


def frontchannel_urls(db: Session, session_id: int | None) -> list[str]:
    """Every application's front-channel logout URL for the session, in registration order."""
    if session_id is None:
        return []
    return [url for provider in _providers.values() for url in provider(db, session_id)]


def frame_policy(urls: list[str]) -> str:
    """The page's Content-Security-Policy, allowing frames from exactly those URLs' origins."""
    origins = sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.scheme in ("http", "https")})
    frames = " ".join(origins) or "'none'"
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        f"frame-src {frames}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
