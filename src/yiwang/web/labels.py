"""The platform's vocabularies (术语表) and their Chinese labels: the one place pages and exports turn a
code value (`dispatched`, `CGJ`, `system:cityops`) into what a person reads.

Each domain registers the vocabularies it owns at start-up (`register`), and a lookup for those
held in the database (department codes, division codes: `register_lookup`). Templates call the
`label` filter: `{{ event.status|label("event_status") }}`; Python code calls `label()`.
docs/glossary.md lists every vocabulary.
"""

from collections.abc import Callable, Mapping

from yiwang.core.permissions import registry

_vocabularies: dict[str, dict[str, str]] = {}
_lookups: dict[str, Callable[[str], str | None]] = {}

# Vocabularies owned by no single domain: who acted when no person did, and how people log in.
register_defaults = {
    "actor": {
        "system": "系统",
        "system:cityops": "系统（一网统管自动流转）",
        "system:demo": "系统（演示数据装载）",
        "system:onestop": "系统（一网通办自动流转）",
        "system:sensing": "系统（物联感知告警）",
        "system:brain": "系统（城市智脑）",
        "system:scheduler": "系统（定时任务）",
        "anonymous": "匿名访问者",
    },
    "account_kind": {"staff": "工作人员", "citizen": "个人", "enterprise": "企业", "system": "系统客户端"},
    "alarm_level": {"info": "提示", "warning": "预警", "critical": "严重", "emergency": "紧急"},
    # Types of a data item (catalog entries, open datasets).
    "data_type": {
        "string": "文本",
        "integer": "整数",
        "number": "数值",
        "date": "日期",
        "datetime": "日期时间",
        "boolean": "是/否",
    },
    # What an audit entry is about (审计对象).
    "audit_target": {
        "user": "账号",
        "role": "角色",
        "department": "部门",
        "division": "行政区划",
        "organisation": "单位",
        "phone": "手机号",
        "credential": "登录凭据",
        "message": "短信",
        "oidc_client": "接入客户端",
        "catalog": "资源目录",
        "catalog_entry": "目录条目",
        "open_dataset": "开放数据集",
        "open_application": "开放申请",
        "federation_peer": "对接平台",
        "federation_objection": "上级异议",
        "federation_application": "跨层级申请",
        "collect_source": "归集数据源",
        "ingest_job": "入库任务",
        "application": "办件",
        "task": "审批任务",
        "service_item": "政务服务事项",
        "bundle": "一件事",
        "attachment": "申请材料",
        "followup": "回访",
        "calendar": "工作日历",
        "share_application": "共享申请",
        "share_grant": "共享授权",
        "grant": "授权",
        "live_service": "共享服务",
        "exchange_message": "交换报文",
        "rate_bucket": "调用限额",
        "event": "城市事件",
        "dispatch_rule": "分拨规则",
        "certificate": "电子证照",
        "cert_type": "证照类型",
        "transparency_log": "证照透明日志",
        "signing_key": "签名密钥",
        "crypto_key": "加密密钥",
        "crypto_profile": "密码配置",
        "thing": "感知设备",
        "datastream": "数据流",
        "alarm": "告警",
        "alarm_rule": "告警规则",
        "brain": "城市智脑",
        "brain_period": "指标期",
        "brain_upstream": "上级报送",
        "brain_enterprises": "企业名录",
        "audit_log": "审计日志",
        "event_outbox": "事件投递",
        "camera": "摄像头",
        "detection": "视频识别结果",
        "geo_area": "区划边界与网格",
        "geo_building": "建筑",
    },
}


def register(vocabulary: str, labels: Mapping[str, str]) -> None:
    """Add `labels` (code → Chinese) to `vocabulary`; a later registration adds to an earlier one."""
    _vocabularies.setdefault(vocabulary, {}).update(labels)


def register_lookup(vocabulary: str, lookup: Callable[[str], str | None]) -> None:
    """Labels kept in the database: `lookup(code)` returns the label, or None when unknown."""
    _lookups[vocabulary] = lookup


def label(value: object, vocabulary: str, default: str | None = None) -> str:
    """The Chinese label of `value` in `vocabulary`; unknown values show `default`, or the value itself
    (so a missing label is visible in tests rather than hidden)."""
    if value is None or value == "":
        return default if default is not None else ""
    code = str(value)
    found = _vocabularies.get(vocabulary, {}).get(code)
    if found is None and vocabulary in _lookups:
        found = _lookups[vocabulary](code)
    if found is None and vocabulary == "actor" and code.startswith("system:"):
        found = "系统"
    if found is None:
        return default if default is not None else code
    return found


def vocabularies() -> dict[str, dict[str, str]]:
    """Every registered vocabulary (for the glossary and its test)."""
    return {name: dict(labels) for name, labels in sorted(_vocabularies.items())}


def _role(code: str) -> str | None:
    role = registry.roles.get(code)
    return role.name if role else None


def _permission(code: str) -> str | None:
    permission = registry.permissions.get(code)
    return permission.label if permission else None


for _name, _labels in register_defaults.items():
    register(_name, _labels)
register_lookup("role", _role)
register_lookup("permission", _permission)
