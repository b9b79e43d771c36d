"""The message gateway (消息网关): text messages to mobile numbers, kept in a local outbox or sent to
an HTTP SMS gateway.

`YIWANG_SMS_GATEWAY=outbox` (the embedded default) keeps each message in `org_message`, where the
system administrator reads it on /admin/messages; nothing leaves the machine. Set to an http(s) URL,
each message is written in the sending transaction together with a domain event (`org.sms_requested`);
after commit the event's handler POSTs it to the gateway, and the events outbox retries a failed or
interrupted call with back-off, so a crash between commit and delivery loses no message. The request:

    POST <YIWANG_SMS_GATEWAY>
    Authorization: Bearer <YIWANG_SMS_GATEWAY_TOKEN>
    Content-Type: application/json
    {"to": "13800138000", "template": "register_code", "params": {"code": "123456", "minutes": "5"},
     "request_id": "<uuid>"}

Any 2xx is taken as accepted. A retried message keeps its request_id, so the gateway can drop repeats.
"""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from yiwang.config import Settings
from yiwang.core import audit, events
from yiwang.core.crypto import FieldCipher
from yiwang.core.events import Transactions
from yiwang.core.masking import mask_phone
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org.models import Message
from yiwang.org.schemas import MessageRead, SmsRequested

OUTBOX = "outbox"
TO_CONTEXT = "org_message.to"
PARAMS_CONTEXT = "org_message.params"

# How each template reads; an HTTP gateway holds its own registered copy under the same name.
TEMPLATES = {
    "register_code": "您正在注册账号，验证码{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    "reset_code": "您正在找回账号密码，验证码{code}，{minutes}分钟内有效。请勿将验证码告诉他人。",
    "phone_change_code": "您正在将本号码绑定到账号，验证码{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    "register_done": "您已成功注册账号，用户名：{username}。请使用该用户名和您设置的密码登录。",
    "register_exists": "该证件号已注册（用户名：{username}），如非本人操作，请忽略本短信并留意账号安全；"
    "忘记密码可在登录页选择“忘记密码”找回。",
    "password_reset_done": "您的账号{username}的密码已重置，其他设备上的登录已退出。"
    "如非本人操作，请立即联系平台管理员。",
    "phone_changed": "您的账号{username}绑定的手机号已更换为{masked}。如非本人操作，请立即联系平台管理员。",
}


class GatewayRefused(RuntimeError):
    """The HTTP gateway did not accept a message; the event is retried."""


def uses_outbox(settings: Settings) -> bool:
    return settings.sms_gateway.strip().lower() == OUTBOX


def render(template: str, params: dict[str, str], *, site_name: str) -> str:
    """The message as the recipient reads it, signed with the platform's name."""
    return f"【{site_name}】" + TEMPLATES[template].format(**params)


def send(
    db: Session, *, settings: Settings, cipher: FieldCipher, to: str, template: str, params: dict[str, str]
) -> int:
    """Queue a message in the caller's transaction; it goes out (or into the outbox) only if that commits."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown message template {template}")
    render(template, params, site_name="")  # a missing parameter fails here, not at the gateway
    outbox = uses_outbox(settings)
    message = Message(
        request_id=str(uuid.uuid4()),
        template=template,
        to_enc=cipher.encrypt(to, context=TO_CONTEXT),
        to_masked=mask_phone(to) or "",
        params_enc=cipher.encrypt(json.dumps(params, ensure_ascii=False), context=PARAMS_CONTEXT),
        status=OUTBOX if outbox else "pending",
        created_at=utcnow(),
    )
    db.add(message)
    db.flush()
    if not outbox:
        events.publish(db, SmsRequested(message_id=message.id))
    return message.id


def gateway_request(message: Message, cipher: FieldCipher) -> dict[str, Any]:
    """The JSON body the HTTP gateway receives for a message."""
    return {
        "to": cipher.decrypt(message.to_enc, context=TO_CONTEXT),
        "template": message.template,
        "params": json.loads(cipher.decrypt(message.params_enc, context=PARAMS_CONTEXT)) if message.params_enc else {},
        "request_id": message.request_id,
    }


def deliver(transaction: Transactions, *, message_id: int, settings: Settings, cipher: FieldCipher) -> None:
    """Hand one pending message to the HTTP gateway (the event's io handler); idempotent.

    The gateway is called between two short transactions, never inside one: on SQLite a transaction
    that writes holds the platform's one write lock, and a slow gateway would hold up every writer.
    Raises GatewayRefused when the gateway fails or answers other than 2xx, so the events outbox tries
    again later. A platform switched back to the outbox gateway keeps the message there instead."""
    with transaction() as db:
        message = db.get(Message, message_id)
        if message is None or message.status != "pending":
            return
        if uses_outbox(settings):
            message.status = OUTBOX
            return
        body = gateway_request(message, cipher)
    headers = {"Authorization": f"Bearer {settings.sms_gateway_token}"} if settings.sms_gateway_token else {}
    try:
        response = httpx.post(
            settings.sms_gateway, json=body, headers=headers, timeout=settings.sms_gateway_timeout_seconds
        )
    except httpx.HTTPError as exc:
        raise GatewayRefused(f"SMS gateway unreachable: {type(exc).__name__}") from exc
    if not response.is_success:
        raise GatewayRefused(f"SMS gateway answered {response.status_code}")
    with transaction() as db:
        # The code or username is no longer needed here once the gateway has it.
        db.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "pending")
            .values(status="sent", sent_at=utcnow(), last_error=None, params_enc=None)
        )


def list_messages(
    db: Session, *, actor: Principal, settings: Settings, cipher: FieldCipher, offset: int = 0, limit: int = 50
) -> tuple[list[MessageRead], int]:
    """The gateway's record, newest first, with each text as its recipient reads it; the read is audited
    (the outbox holds live codes)."""
    total = db.execute(select(func.count()).select_from(Message)).scalar_one()
    rows = db.execute(select(Message).order_by(Message.id.desc()).offset(offset).limit(limit)).scalars()
    found = []
    for row in rows:
        if row.params_enc:
            params = json.loads(cipher.decrypt(row.params_enc, context=PARAMS_CONTEXT))
            text = render(row.template, params, site_name=settings.site_name)
        else:
            text = "（已交短信网关发送，内容不再保存）"
        found.append(
            MessageRead(
                id=row.id,
                request_id=row.request_id,
                created_at=row.created_at,
                to=row.to_masked,
                template=row.template,
                text=text,
                status=row.status,
                sent_at=row.sent_at,
            )
        )
    audit.record(db, actor=actor, action="org.message.read", target_type="message", details={"shown": len(found)})
    return found, total


def purge(db: Session, *, keep_days: int, now: datetime | None = None) -> int:
    """Drop messages past their keeping time, except those still waiting for the gateway."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    result = db.execute(delete(Message).where(Message.created_at < cutoff, Message.status != "pending"))
    return int(getattr(result, "rowcount", 0) or 0)
