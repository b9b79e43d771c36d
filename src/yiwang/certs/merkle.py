"""RFC 6962 / RFC 9162 Merkle tree hashing and proof construction over stored complete subtrees.

The tree structure is the RFC's; its hash is the log's own: SHA-256 in an intl log, SM3 (GB/T 32905)
in a gm log. A log keeps the hash it was created with for its whole life (docs/certs.md).

Nodes are addressed by (level, index): the node at level L and index i covers leaves
[i·2^L, (i+1)·2^L). Only complete subtrees are ever stored, and they never change once written, so
any subtree hash the RFC recursion needs is either one stored node or a fold over the few stored
nodes of its binary decomposition. Building a proof therefore needs O(log n) node reads, fetched in
one query (see translog.py).
"""

from collections.abc import Callable, Iterable

from yiwang.core.crypto import Suite, suite_for_hash

NodeKey = tuple[int, int]  # (level, index)
NodeFetch = Callable[[set[NodeKey]], dict[NodeKey, bytes]]


class TreeHash:
    """RFC 6962 hashing with one hash function H: leaves H(0x00 ‖ d), nodes H(0x01 ‖ l ‖ r), empty H("")."""

    def __init__(self, suite: Suite) -> None:
        self.name = suite.hash_name
        self._digest = suite.hash_function()
        self.empty_root = self._digest(b"")

    def leaf(self, data: bytes) -> bytes:
        return self._digest(b"\x00" + data)

    def node(self, left: bytes, right: bytes) -> bytes:
        return self._digest(b"\x01" + left + right)


def tree_hash(hash_name: str) -> TreeHash:
    """The tree hashing of a log that names its hash ("SHA-256" or "SM3")."""
    return _TREES[hash_name] if hash_name in _TREES else TreeHash(suite_for_hash(hash_name))


_TREES = {name: TreeHash(suite_for_hash(name)) for name in ("SHA-256", "SM3")}


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_complete(start: int, end: int) -> bool:
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def _key(start: int, end: int) -> NodeKey:
    level = (end - start).bit_length() - 1
    return level, start >> level


def subtree_keys(start: int, end: int, out: set[NodeKey]) -> None:
    """The stored nodes needed to hash leaves [start, end)."""
    while not _is_complete(start, end):
        k = split_point(end - start)
        out.add(_key(start, start + k))
        start += k
    out.add(_key(start, end))


def subtree_hash(tree: TreeHash, start: int, end: int, nodes: dict[NodeKey, bytes]) -> bytes:
    """MTH of leaves [start, end) from stored complete subtrees (the right edge folded)."""
    if _is_complete(start, end):
        return nodes[_key(start, end)]
    k = split_point(end - start)
    return tree.node(nodes[_key(start, start + k)], subtree_hash(tree, start + k, end, nodes))


def decomposition(size: int) -> list[NodeKey]:
    """The complete subtrees that make up a tree of `size` leaves, largest (leftmost) first."""
    keys, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) as leaf ranges, leaf-to-root order."""
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    return ranges[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as leaf ranges."""
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    return ranges[::-1]


def hashes_for(tree: TreeHash, ranges: Iterable[tuple[int, int]], fetch: NodeFetch) -> list[bytes]:
    """Resolve leaf ranges to subtree hashes with one batched fetch of stored nodes."""
    ranges = list(ranges)
    needed: set[NodeKey] = set()
    for start, end in ranges:
        subtree_keys(start, end, needed)
    nodes = fetch(needed)
    return [subtree_hash(tree, start, end, nodes) for start, end in ranges]


def root_from_stack(tree: TreeHash, stack: list[bytes]) -> bytes:
    """The tree head from the hashes of its decomposition (largest first), folded from the right."""
    if not stack:
        return tree.empty_root
    root = stack[-1]
    for item in reversed(stack[:-1]):
        root = tree.node(item, root)
    return root


class CompactRange:
    """The right edge of a growing tree: appending a leaf yields the complete nodes it finishes."""

    def __init__(self, tree: TreeHash, size: int, edge: list[bytes]) -> None:
        self.tree = tree
        self.size = size
        self.levels = [key[0] for key in decomposition(size)]
        self.hashes = list(edge)

    def append(self, leaf: bytes) -> list[tuple[NodeKey, bytes]]:
        """Add one leaf hash; return every (level, index) → hash completed by it, the leaf included."""
        index = self.size
        made: list[tuple[NodeKey, bytes]] = [((0, index), leaf)]
        self.levels.append(0)
        self.hashes.append(leaf)
        self.size += 1
        while len(self.levels) > 1 and self.levels[-1] == self.levels[-2]:
            level = self.levels.pop()
            right = self.hashes.pop()
            left = self.hashes.pop()
            self.levels[-1] = level + 1
            merged = self.tree.node(left, right)
            self.hashes.append(merged)
            made.append(((level + 1, index >> (level + 1)), merged))
        return made

    def root(self) -> bytes:
        return root_from_stack(self.tree, self.hashes)
