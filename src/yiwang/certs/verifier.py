"""Independent verification of RFC 9162 proofs (§2.1.3.2 inclusion, §2.1.4.2 consistency).

Written from the RFC text alone and deliberately sharing no code with the log (merkle.py,
translog.py): anyone checking the log can use this module, and the tests use it to check the log.
"""

import hashlib


class ProofError(ValueError):
    """A proof that does not verify; the message says why (Chinese)."""


def _hash_leaf(entry: bytes) -> bytes:
    return hashlib.sha256(bytes([0]) + entry).digest()


def _hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(bytes([1]) + left + right).digest()


def root_of(entries: list[bytes]) -> bytes:
    """MTH(D[n]) straight from the definition (RFC 9162 §2.1.1); for audits of small logs."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return _hash_leaf(entries[0])
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return _hash_children(root_of(entries[:k]), root_of(entries[k:]))


def verify_inclusion(*, leaf: bytes, index: int, tree_size: int, path: list[bytes], root: bytes) -> None:
    """Raise ProofError unless `leaf` (the entry itself) is at `index` of the tree with head `root`."""
    if index >= tree_size or index < 0:
        raise ProofError("叶子序号超出树的大小")
    fn, sn = index, tree_size - 1
    r = _hash_leaf(leaf)
    for p in path:
        if sn == 0:
            raise ProofError("审计路径过长")
        if fn & 1 or fn == sn:
            r = _hash_children(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("审计路径过短")
    if r != root:
        raise ProofError("由审计路径算得的根哈希与树头不一致")


def verify_consistency(*, first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> None:
    """Raise ProofError unless the tree of size `second` extends the tree of size `first`."""
    if first > second or first < 0:
        raise ProofError("第一棵树不能大于第二棵树")
    if first == second:
        if proof:
            raise ProofError("同一大小的树的一致性证明应为空")
        if first_root != second_root:
            raise ProofError("同一大小的两个树头不同")
        return
    if first == 0:
        if proof:
            raise ProofError("空树的一致性证明应为空")
        return
    if not proof:
        raise ProofError("一致性证明为空")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("一致性证明过长")
        if fn & 1 or fn == sn:
            fr = _hash_children(c, fr)
            sr = _hash_children(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("一致性证明过短")
    if fr != first_root:
        raise ProofError("一致性证明与第一个树头不符")
    if sr != second_root:
        raise ProofError("一致性证明与第二个树头不符")
