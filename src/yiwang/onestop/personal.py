"""Personal fields of application forms: which fields they are, how they are shown, how they are kept.

A form's ID numbers and phones, and any field the item marks `personal`, never reach the database in
clear: `form_data` holds them masked (what every output shows by default) and `personal_data` holds
them in clear as one AES-GCM envelope, bound to the application's number so it cannot be moved to
another application's row.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yiwang.core.crypto import FieldCipher
from yiwang.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from yiwang.onestop.schemas import FormField

PERSONAL_CONTEXT = "onestop_application.personal_data"


def _mask_all(value: str) -> str:
    return "****" if value else value


_MASKS: dict[str, Callable[[str], str | None]] = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
    "other": _mask_all,
}


def personal_kind(field: FormField) -> str | None:
    """How a field is personal: its type for ID numbers and phones, else what the item marks."""
    if field.type in ("id_number", "phone"):
        return field.type
    return field.personal


def mask(kind: str, value: Any) -> str:
    """The display form of a personal value."""
    return _MASKS.get(kind, _mask_all)(str(value)) or ""


@dataclass(frozen=True)
class SplitForm:
    stored: dict[str, Any]  # what form_data keeps: other fields as given, personal ones masked
    personal: dict[str, Any]  # the personal fields in clear, to be sealed


def split(fields: list[FormField], values: dict[str, Any]) -> SplitForm:
    """Separate the personal values of a cleaned form from the rest."""
    kinds = {f.name: kind for f in fields if (kind := personal_kind(f))}
    stored = {name: mask(kinds[name], value) if name in kinds else value for name, value in values.items()}
    personal = {name: value for name, value in values.items() if name in kinds}
    return SplitForm(stored=stored, personal=personal)


def _context(number: str) -> str:
    return f"{PERSONAL_CONTEXT}:{number}"


def seal(cipher: FieldCipher, number: str, personal: dict[str, Any]) -> str | None:
    """The personal values of one application as ciphertext (None when there are none)."""
    if not personal:
        return None
    plain = json.dumps(personal, ensure_ascii=False, sort_keys=True)
    return cipher.encrypt(plain, context=_context(number))


def unseal(cipher: FieldCipher, number: str, envelope: str | None) -> dict[str, Any]:
    """The personal values of one application in clear."""
    if not envelope:
        return {}
    return json.loads(cipher.decrypt(envelope, context=_context(number)))
