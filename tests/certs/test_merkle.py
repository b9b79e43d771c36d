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


SHA256 = merkle.tree_hash("SHA-256")
HASHES = ["SHA-256", "SM3"]


def build(leaves, hash_name="SHA-256"):
    tree = merkle.tree_hash(hash_name)
    compact, nodes = merkle.CompactRange(tree, 0, []), {}
    for leaf in leaves:
        nodes.update(compact.append(tree.leaf(leaf)))
    return compact, nodes


def test_hashing_follows_rfc_6962():
    assert SHA256.leaf(b"") == hashlib.sha256(b"\x00").digest()
    assert SHA256.node(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert SHA256.empty_root.hex() == hashlib.sha256(b"").hexdigest()
    compact, _ = build(CT_LEAVES)
    assert compact.root().hex() == CT_ROOT_8
    assert verifier.root_of(CT_LEAVES).hex() == CT_ROOT_8


# SM3 of "abc" (GB/T 32905 example 1) and of the empty string: the gm tree's hash is the standard's.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_EMPTY = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"


def test_the_gm_tree_is_the_rfc_6962_structure_over_sm3():
    sm3 = merkle.tree_hash("SM3")
    assert sm3.empty_root.hex() == SM3_EMPTY == verifier.root_of([], "SM3").hex()
    # the verifier's own SM3 is the standard's; the log's leaves and nodes are SM3 with RFC 6962 prefixes
    assert verifier._sm3(b"abc").hex() == SM3_ABC
    assert sm3.leaf(b"abc") == verifier._sm3(b"\x00abc") != SHA256.leaf(b"abc")
    compact, _ = build(CT_LEAVES, "SM3")
    assert compact.root() == verifier.root_of(CT_LEAVES, "SM3") != bytes.fromhex(CT_ROOT_8)
    left, right = verifier.root_of(CT_LEAVES[:4], "SM3"), verifier.root_of(CT_LEAVES[4:], "SM3")
    assert compact.root() == verifier._sm3(b"\x01" + left + right)


@pytest.mark.parametrize("hash_name", HASHES)
@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33])
def test_every_inclusion_and_consistency_proof_verifies(size, hash_name):
    tree = merkle.tree_hash(hash_name)
    leaves = [f"entry {i}".encode() for i in range(size)]
    compact, nodes = build(leaves, hash_name)
    fetch = lambda keys: {k: nodes[k] for k in keys}  # noqa: E731
    root = compact.root()
    assert root == verifier.root_of(leaves, hash_name)
    for index in range(size):
        path = merkle.hashes_for(tree, merkle.inclusion_ranges(index, size), fetch)
        verifier.verify_inclusion(
            leaf=leaves[index], index=index, tree_size=size, path=path, root=root, hash_name=hash_name
        )
    for first in range(1, size):
        proof = merkle.hashes_for(tree, merkle.consistency_ranges(first, size), fetch)
        first_root = verifier.root_of(leaves[:first], hash_name)
        verifier.verify_consistency(
            first=first, second=size, first_root=first_root, second_root=root, proof=proof, hash_name=hash_name
        )


@pytest.mark.parametrize("hash_name", HASHES)
def test_tampered_leaves_paths_and_roots_fail(hash_name):
    tree = merkle.tree_hash(hash_name)
    leaves = [f"entry {i}".encode() for i in range(13)]
    compact, nodes = build(leaves, hash_name)
    fetch = lambda keys: {k: nodes[k] for k in keys}  # noqa: E731
    root = compact.root()
    path = merkle.hashes_for(tree, merkle.inclusion_ranges(6, 13), fetch)
    check = {"tree_size": 13, "root": root, "hash_name": hash_name}
    verifier.verify_inclusion(leaf=leaves[6], index=6, path=path, **check)
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(leaf=b"entry X", index=6, path=path, **check)
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(leaf=leaves[6], index=7, path=path, **check)
    bad = [*path[:-1], bytes(32)]
    with pytest.raises(verifier.ProofError):
        verifier.verify_inclusion(leaf=leaves[6], index=6, path=bad, **check)
    with pytest.raises(verifier.ProofError, match=r"过长|过短"):
        verifier.verify_inclusion(leaf=leaves[6], index=6, path=path[:-1], **check)
    other = "SM3" if hash_name == "SHA-256" else "SHA-256"
    with pytest.raises(verifier.ProofError):  # the right proof checked with the other profile's hash
        verifier.verify_inclusion(leaf=leaves[6], index=6, path=path, tree_size=13, root=root, hash_name=other)
    proof = merkle.hashes_for(tree, merkle.consistency_ranges(5, 13), fetch)
    forked = verifier.root_of([b"fork", *leaves[1:5]], hash_name)
    with pytest.raises(verifier.ProofError):
        verifier.verify_consistency(
            first=5, second=13, first_root=forked, second_root=root, proof=proof, hash_name=hash_name
        )


@pytest.mark.parametrize("hash_name", HASHES)
def test_appending_resumes_from_the_stored_right_edge(hash_name):
    tree = merkle.tree_hash(hash_name)
    leaves = [bytes([i]) for i in range(50)]
    _, nodes = build(leaves[:37], hash_name)
    resumed = merkle.CompactRange(tree, 37, [nodes[k] for k in merkle.decomposition(37)])
    for leaf in leaves[37:]:
        resumed.append(tree.leaf(leaf))
    assert resumed.root() == verifier.root_of(leaves, hash_name)
