"""RFC 9421 signatures of both profiles, the hash chain's walk and proofs, and the message keys'
versions across a profile switch."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import http_message_signatures as hms
import pytest
from http_message_signatures.structures import CaseInsensitiveDict

from yiwang.core import hashchain, httpsig
from yiwang.core.crypto import ED25519, GM, INTL, SM2, generate_signing_key

CREATED = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


class _Request:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, CaseInsensitiveDict(headers)


def test_an_ed25519_request_signature_verifies_with_the_library_and_covers_the_body():
    key = generate_signing_key(ED25519)
    body = b'{"id": 1}'
    headers = {
        "Content-Type": "application/json",
        "Content-Digest": httpsig.content_digest("SHA-256", INTL.digest(body)),
    }
    signed = httpsig.sign_request(
        key=key, key_id="k/v1", method="POST", url="https://p.example/v1/a?b=1", headers=headers,
        components=("@method", "@target-uri", "content-digest", "content-type"), tag="t", created=CREATED,
    )  # fmt: skip
    assert signed.signature_base == (
        '"@method": POST\n"@target-uri": https://p.example/v1/a?b=1\n'
        f'"content-digest": sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:\n'
        '"content-type": application/json\n'
        '"@signature-params": ("@method" "@target-uri" "content-digest" "content-type");'
        'created=1796630400;keyid="k/v1";alg="ed25519";tag="t"'
    )
    message = _Request("POST", "https://p.example/v1/a?b=1", headers | {
        "Signature-Input": signed.signature_input, "Signature": signed.signature,
    })  # fmt: skip

    class Keys(hms.HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id):
            return key.public_key().pem()

    verifier = hms.HTTPMessageVerifier(signature_algorithm=hms.algorithms.ED25519, key_resolver=Keys())
    verifier.max_clock_skew = timedelta(days=36500)
    assert verifier.verify(message, body=body, max_age=None)[0].parameters["keyid"] == "k/v1"
    with pytest.raises(hms.InvalidSignature):
        verifier.verify(message, body=b'{"id": 2}', max_age=None)
    assert httpsig.verify_stored(
        key.public_key(), signature_base=signed.signature_base, signature_field=signed.signature
    )
    assert not httpsig.verify_stored(
        key.public_key(), signature_base=signed.signature_base.replace("POST", "GET"), signature_field=signed.signature
    )


def test_the_gm_profile_signs_with_sm2_sm3_and_digests_with_sm3():
    key = generate_signing_key(SM2)
    digest = httpsig.content_digest("SM3", GM.digest(b"abc"))
    assert digest == f"sm3=:{base64.b64encode(bytes.fromhex(GM.hexdigest(b'abc'))).decode()}:"
    signed = httpsig.sign_response(
        key=key, key_id="exchange.messages/v2", status=200, headers={"Content-Digest": digest},
        request_method="GET", request_url="https://yiwang.example/x/s/a", tag="t", created=CREATED,
        components=("@status", "content-digest", '"@method";req', '"@target-uri";req'),
    )  # fmt: skip
    assert 'alg="sm2-sm3"' in signed.signature_input and signed.alg == "sm2-sm3"
    assert '"@target-uri";req: https://yiwang.example/x/s/a' in signed.signature_base
    assert httpsig.verify_stored(
        key.public_key(), signature_base=signed.signature_base, signature_field=signed.signature
    )
    other = generate_signing_key(SM2)
    assert not httpsig.verify_stored(
        other.public_key(), signature_base=signed.signature_base, signature_field=signed.signature
    )


def _chain(n):
    links, prev = [], hashchain.GENESIS_HASH
    for seq in range(1, n + 1):
        content = hashchain.content_hash([seq, f"entry {seq}"], "SHA-256" if seq < 3 else "SM3")
        name = "SHA-256" if seq < 3 else "SM3"
        entry = hashchain.link_hash(prev, content, name)
        links.append(hashchain.Link(seq, prev, entry, content, name))
        prev = entry
    return links


def test_the_walk_names_the_first_broken_link_and_the_fold_proves_a_link_up_to_a_head():
    links = _chain(5)
    assert hashchain.walk(links).broken is None and hashchain.walk(links).last_hash == links[-1].entry_hash
    tampered = list(links)
    tampered[2] = hashchain.Link(3, links[2].prev_hash, links[2].entry_hash, "0" * 64, "SM3")
    assert hashchain.walk(tampered).broken == hashchain.ChainBreak(3, "content")
    assert hashchain.walk(links[:1] + links[2:]).broken == hashchain.ChainBreak(2, "missing")
    proof = [(link.content_hash, link.hash_name) for link in links[2:]]
    assert hashchain.fold(links[1].entry_hash, proof) == links[-1].entry_hash
    assert hashchain.fold(links[0].entry_hash, proof) != links[-1].entry_hash


def test_the_documented_example_is_what_the_platform_signs_and_it_verifies():
    """docs/exchange.md shows a request signed with the RFC 8032 test key 1; the same inputs give the
    same base and signature, which the published form of the key verifies."""
    from pathlib import Path

    from yiwang.core.crypto import load_signing_key, load_verifying_pem
    from yiwang.exchange.mediation import REQUEST_COMPONENTS

    pem = (
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/Vpguo"
        b"RK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n"
    )
    key = load_signing_key(pem)
    body = b'{"case":"CG-2026-0001"}'
    headers = {
        "Content-Type": "application/json",
        "Content-Digest": httpsig.content_digest("SHA-256", INTL.digest(body)),
        "X-Yiwang-Call": "5f2c0e8a1b3d4f6a7c9e0b1d",
        "X-Yiwang-Consumer": "CGJ",
        "X-Yiwang-Grant": "17",
        "X-Yiwang-Operation": "checkPerson",
    }
    signed = httpsig.sign_request(
        key=key, key_id="exchange.messages/v1", method="POST", url="https://api.hbj.example/v1/persons/P0001/check",
        headers=headers, components=(*REQUEST_COMPONENTS, "content-type"), tag="yiwang-request", created=CREATED,
    )  # fmt: skip
    docs = (Path(__file__).resolve().parents[2] / "docs" / "exchange.md").read_text(encoding="utf-8")
    assert signed.signature_base in docs
    assert f"Signature-Input: {signed.signature_input}" in docs and f"Signature: {signed.signature}" in docs
    public = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    assert public in docs
    verifier = load_verifying_pem(f"-----BEGIN PUBLIC KEY-----\n{public}\n-----END PUBLIC KEY-----\n".encode())
    assert httpsig.verify_stored(verifier, signature_base=signed.signature_base, signature_field=signed.signature)
