"""The event an installation publishes when it switches its crypto profile (e.g. intl → gm).

Domains whose records are bound to one profile's algorithms subscribe to it: the certificate
transparency log, for one, cannot change its hash in the middle and starts a new log instead.
"""

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from yiwang.core.events import EventPayload


class CryptoProfileChanged(EventPayload):
    """Payload {"from": "intl", "to": "gm"}; `from` is a Python keyword, hence the alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)
    event_name: ClassVar[str] = "crypto.profile_changed"

    from_profile: Literal["intl", "gm"] = Field(alias="from")
    to: Literal["intl", "gm"]
