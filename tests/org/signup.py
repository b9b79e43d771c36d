"""Helpers of the registration tests: fresh identities, clients at their own address, codes from the outbox."""

import re
import secrets
from datetime import date

from fastapi.testclient import TestClient

from yiwang.core.identifiers import USCC_ALPHABET
from yiwang.core.masking import mask_phone
from yiwang.demo.people import demo_credit_code, demo_id_number

PASSWORD = "Signup2026x"
CODE_IN_TEXT = re.compile(r"验证码(\d{6})")


def new_phone() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


def new_id_number(*, born: date | None = None) -> str:
    """A valid Changshu ID number; by default an adult born between 1989 and 2004 (the code exists from 1989)."""
    if born is None:
        born = date(1989 + secrets.randbelow(16), 1 + secrets.randbelow(12), 1 + secrets.randbelow(28))
    return demo_id_number(born, secrets.randbelow(1000))


def new_credit_code() -> str:
    body = "".join(secrets.choice(USCC_ALPHABET) for _ in range(9))
    return demo_credit_code(body)


def new_address() -> str:
    """A client address of its own, so the per-address limit of one test never meets another's."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{1 + secrets.randbelow(250)}"


def client_at(app, address: str | None = None) -> TestClient:
    return TestClient(app, base_url="http://testserver", client=(address or new_address(), 40000))


def messages_to(client: TestClient, admin_headers: dict[str, str], phone: str) -> list[dict]:
    """The outbox's messages to a number, newest first, as the system administrator reads them."""
    response = client.get("/api/org/messages", headers=admin_headers, params={"size": 100})
    assert response.status_code == 200, response.text
    return [m for m in response.json()["items"] if m["to"] == mask_phone(phone)]


def code_for(client: TestClient, admin_headers: dict[str, str], phone: str) -> str:
    """The newest code texted to a number."""
    for message in messages_to(client, admin_headers, phone):
        found = CODE_IN_TEXT.search(message["text"])
        if found:
            return found.group(1)
    raise AssertionError(f"no code in the outbox for {mask_phone(phone)}")


def citizen(phone: str, code: str, **changes: str) -> dict[str, str]:
    return {
        "display_name": "陈晓梅",
        "id_number": new_id_number(),
        "phone": phone,
        "code": code,
        "username": f"cz{secrets.token_hex(4)}",
        "password": PASSWORD,
    } | changes


def enterprise(phone: str, code: str, **changes: str) -> dict[str, str]:
    return {
        "enterprise_name": "常熟虞山科技有限公司",
        "credit_code": new_credit_code(),
        "legal_representative": "王建国",
        "operator_name": "李娜",
        "phone": phone,
        "code": code,
        "username": f"qy{secrets.token_hex(4)}",
        "password": PASSWORD,
    } | changes


def ask_code(client: TestClient, phone: str) -> None:
    response = client.post("/api/register/code", json={"phone": phone})
    assert response.status_code == 202, response.text


def register(client: TestClient, admin_headers: dict[str, str], kind: str = "citizen", **changes: str):
    """Ask a code for a fresh number, read it from the outbox, and register; returns (response, body sent)."""
    phone = changes.pop("phone", None) or new_phone()
    ask_code(client, phone)
    code = code_for(client, admin_headers, phone)
    body = (citizen if kind == "citizen" else enterprise)(phone, code, **changes)
    return client.post(f"/api/register/{kind}", json=body), body
