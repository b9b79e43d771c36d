"""Permission names of the certs domain and their default grants."""

from yiwang.core.permissions import Permission, registry

TYPE_WRITE = "certs.type.write"
CERT_ISSUE = "certs.certificate.issue"
CERT_REVOKE = "certs.certificate.revoke"
CERT_READ = "certs.certificate.read"
WALLET = "certs.wallet.view"

registry.add_permissions(
    Permission(TYPE_WRITE, "管理电子证照类型"),
    Permission(CERT_ISSUE, "签发本部门电子证照"),
    Permission(CERT_REVOKE, "注销本部门电子证照"),
    Permission(CERT_READ, "查看本部门签发的电子证照"),
    Permission(WALLET, "使用个人/企业证照夹"),
)
registry.grant("platform_admin", TYPE_WRITE, CERT_ISSUE, CERT_REVOKE, CERT_READ)
registry.grant("dept_admin", CERT_ISSUE, CERT_REVOKE, CERT_READ)
registry.grant("handler", CERT_ISSUE, CERT_READ)
registry.grant("leader", CERT_READ)
registry.grant("citizen", WALLET)
registry.grant("enterprise", WALLET)
