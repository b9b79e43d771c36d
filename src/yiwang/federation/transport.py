"""What this installation says about itself, and reading what a peer says about itself."""

import httpx
from pydantic import ValidationError

from yiwang.core.errors import AppError
from yiwang.core.runtime import Runtime
from yiwang.federation.keys import FederationKeys, InstallationKey, federation_keys
from yiwang.federation.schemas import Identity


class PeerUnreachable(AppError):
    """The address given does not answer as a yiwang installation: the caller's to correct (or retry)."""

    status_code = 422
    code = "peer_unreachable"
    message = "无法连接对方平台"


def own_keys(runtime: Runtime) -> FederationKeys:
    return federation_keys(runtime.keyring, runtime.db)


def own_key(runtime: Runtime) -> InstallationKey:
    """The current version of the installation's federation key."""
    return own_keys(runtime).current


def own_identity(runtime: Runtime) -> Identity:
    settings, key = runtime.settings, own_key(runtime)
    return Identity(
        name=settings.federation_name or settings.site_name,
        url=settings.public_url,
        algorithm=key.algorithm,
        public_key=key.public_b64,
        fingerprint=key.fingerprint,
        key_id=key.key_id,
    )


def fetch_identity(url: str, *, timeout: float = 10) -> Identity:
    """GET the peer's /api/federation/identity; PeerUnreachable with the reason when that fails."""
    try:
        response = httpx.get(url.rstrip("/") + "/api/federation/identity", timeout=timeout)
        response.raise_for_status()
        return Identity.model_validate(response.json())
    except (httpx.HTTPError, ValueError, ValidationError) as exc:
        raise PeerUnreachable(f"无法读取对方平台的身份信息：{exc}"[:300]) from exc
