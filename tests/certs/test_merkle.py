"""RFC 6962 hashing and proofs of the log code, checked by the independent verifier (RFC 9162 §2.1.3–2.1.4)."""

import hashlib

import pytest

from yiwang.certs import merkle, verifier

# The leaves and tree head used by the Certificate Transparency reference implementation's tests.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def build(leaves):
    compact, nodes = merkle.CompactRange(0, []), {}
    for leaf in leaves:
        nodes.update(compact.append(merkle.leaf_hash(leaf)))
    return compact, nodes


def test_hashing_follows_rfc_6962():
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert merkle.EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()
    compact, _ = build(CT_LEAVES)
    assert compact.root().hex() == CT_ROOT_8
    assert verifier.root_of(CT_LEAVES).hex() == CT_ROOT_8


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33])
def test_every_inclusion_and_consistency_proof_verifies(size):
    leaves = [f"entry {i}".encode() for i in range(size)]
    compact, nodes = build(leaves)
    fetch = lambda keys: {k: nodes[k] for k in keys}  # noqa: E731
    root = compact.root()
    assert root == verifier.root_of(leaves)
    for index in range(size):
        path = merkle.hashes_for(merkle.inclusion_ranges(index, size), fetch)
        verifier.verify_inclusion(leaf=leaves[index], index=index, tree_size=size, path=path, root=root)
    for first in range(1, size):
        proof = merkle.hashes_for(merkle.consistency_ranges(first, size), fetch)
        verifier.verify_consistency(
            first=first, second=size, first_root=verifier.root_of(leaves[:first]), second_root=root, proof=proof
        )


def test_tampered_leaves_paths_and_roots_fail():
    leaves = [f"entry {i}".encode() for i in range(13)]
    compact, nodes = build(leaves)
    fetch = lambda keys: {k: nodes[k] for k in keys}  # noqa: E731
    root = compact.root()
    path = merkle.hashes_for(merkle.inclusion_ranges(6, 13), fetch)
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(leaf=b"entry X", index=6, tree_size=13, path=path, root=root)
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(leaf=leaves[6], index=7, tree_size=13, path=path, root=root)
    bad = [*path[:-1], bytes(32)]
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(leaf=leaves[6], index=6, tree_size=13, path=bad, root=root)
    with pytest.raises(verifier.ProofError, match=r"过长|过短"):
        verifier.verify_inclusion(leaf=leaves[6], index=6, tree_size=13, path=path[:-1], root=root)
    proof = merkle.hashes_for(merkle.consistency_ranges(5, 13), fetch)
    forked = verifier.root_of([b"fork", *leaves[1:5]])
    with pytest.raises(verifier.ProofError):
        verifier.verify_consistency(first=5, second=13, first_root=forked, second_root=root, proof=proof)


def test_appending_resumes_from_the_stored_right_edge():
    leaves = [bytes([i]) for i in range(50)]
    _, nodes = build(leaves[:37])
    resumed = merkle.CompactRange(37, [nodes[k] for k in merkle.decomposition(37)])
    for leaf in leaves[37:]:
        resumed.append(merkle.leaf_hash(leaf))
    assert resumed.root() == verifier.root_of(leaves)
