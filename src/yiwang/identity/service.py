"""The identity domain's public face: clients, signing keys, consents and signed-in applications.

Other packages (the CLI, the demo) import only this module; the work sits in the modules beside it."""

from yiwang.identity.clients import create_client, get_client, list_clients, rotate_secret, update_client
from yiwang.identity.consent import list_consents, withdraw_consent
from yiwang.identity.keys import ensure_keys, jwks, list_keys, rotate
from yiwang.identity.signins import list_app_sessions

__all__ = [
    "create_client",
    "ensure_keys",
    "get_client",
    "jwks",
    "list_app_sessions",
    "list_clients",
    "list_consents",
    "list_keys",
    "rotate",
    "rotate_secret",
    "update_client",
    "withdraw_consent",
]
