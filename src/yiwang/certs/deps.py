"""Request dependencies of the certs domain: the key store and the log's origin."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from yiwang.certs.keys import KeyStore
from yiwang.certs.service import log_origin


@dataclass(frozen=True)
class LogContext:
    keys: KeyStore
    origin: str


def _log_context(request: Request) -> LogContext:
    settings = request.app.state.settings
    return LogContext(KeyStore(settings.key_dir), log_origin(settings.city_code))


LogDep = Annotated[LogContext, Depends(_log_context)]
