"""Display masking of personal data (standards.md §4)."""


def _mask(value: str, keep_head: int, keep_tail: int) -> str:
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)
    middle = len(value) - keep_head - keep_tail
    return value[:keep_head] + "*" * middle + (value[-keep_tail:] if keep_tail else "")


def mask_name(value: str | None) -> str | None:
    """张三丰 → 张**: keep the first character."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1)


def mask_id_number(value: str | None) -> str | None:
    """Keep the first 6 and last 4 characters of a citizen ID number."""
    return _mask(value, 6, 4) if value else value


def mask_phone(value: str | None) -> str | None:
    """Keep the first 3 and last 4 digits of a mobile number."""
    return _mask(value, 3, 4) if value else value


def mask_bank_card(value: str | None) -> str | None:
    """Keep the first 6 and last 4 digits of a bank card."""
    return _mask(value, 6, 4) if value else value


_ADDRESS_LEVEL_MARKERS = ("街道", "镇", "乡", "区", "县", "市")


def mask_address(value: str | None) -> str | None:
    """Keep the address down to the town or street level and hide the rest."""
    if not value:
        return value
    for marker in _ADDRESS_LEVEL_MARKERS:
        position = value.rfind(marker)
        if position != -1:
            cut = position + len(marker)
            return value[:cut] + "****" if cut < len(value) else value
    return value[:3] + "****" if len(value) > 3 else "****"


def mask_email(value: str | None) -> str | None:
    """Keep the first character of the local part and the domain."""
    if not value or "@" not in value:
        return value
    local, domain = value.split("@", 1)
    return local[:1] + "***@" + domain
