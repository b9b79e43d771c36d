"""Hash chains (哈希链) as the platform's append-only logs keep them, and their proofs.

A link's content hash covers its recorded fields in one canonical JSON form; its entry hash covers the
previous link's entry hash and its own content hash. Editing, deleting or reordering a stored link
breaks the chain from that link on, and anyone holding a link and the content hashes of the links
after it can recompute the chain up to a later, signed head — which is how a message-log entry's
evidence proves the entry without the rest of the log. Hashes are the profile's (SHA-256 or SM3),
named beside each link so a log that spans a profile switch stays checkable.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from yiwang.core.crypto import suite_for_hash

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is: the one form a hash or signature covers."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(fields: Sequence[Any], hash_name: str) -> str:
    return suite_for_hash(hash_name).hexdigest(canonical_json(list(fields)).encode())


def link_hash(prev_hash: str, content: str, hash_name: str) -> str:
    return suite_for_hash(hash_name).hexdigest((prev_hash + content).encode())


@dataclass(frozen=True)
class Link:
    """A stored link as read back: what it claims (prev_hash, entry_hash) and its recomputed content hash."""

    seq: int
    prev_hash: str
    entry_hash: str
    content_hash: str
    hash_name: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


@dataclass(frozen=True)
class ChainWalk:
    links: int  # links checked
    last_seq: int
    last_hash: str
    broken: ChainBreak | None = None


def walk(links: Iterable[Link], *, first_seq: int = 1, genesis: str = GENESIS_HASH) -> ChainWalk:
    """Check each link in order (sequence without gaps, link to the previous one, its own hash) and
    stop at the first break, naming it."""
    expected_seq, expected_prev, checked = first_seq, genesis, 0
    for link in links:
        if link.seq != expected_seq:
            return ChainWalk(checked, expected_seq - 1, expected_prev, ChainBreak(expected_seq, "missing"))
        if link.prev_hash != expected_prev:
            return ChainWalk(checked, expected_seq - 1, expected_prev, ChainBreak(link.seq, "prev_hash"))
        if link_hash(link.prev_hash, link.content_hash, link.hash_name) != link.entry_hash:
            return ChainWalk(checked, expected_seq - 1, expected_prev, ChainBreak(link.seq, "content"))
        expected_seq, expected_prev, checked = expected_seq + 1, link.entry_hash, checked + 1
    return ChainWalk(checked, expected_seq - 1, expected_prev)


def fold(start_hash: str, later: Iterable[tuple[str, str]]) -> str:
    """The entry hash reached from start_hash over the later links' (content hash, hash name) pairs:
    a proof that the starting link lies on the chain whose head has that hash."""
    current = start_hash
    for content, hash_name in later:
        current = link_hash(current, content, hash_name)
    return current
