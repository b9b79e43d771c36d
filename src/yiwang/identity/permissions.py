"""Permission names of the identity domain and their default grants."""

from yiwang.core.permissions import PLATFORM_ADMIN, Permission, registry

CLIENT_READ = "identity.client.read"
CLIENT_WRITE = "identity.client.write"

registry.add_permissions(
    Permission(CLIENT_READ, "查看统一身份认证接入应用"),
    Permission(CLIENT_WRITE, "登记、修改、停用接入应用并重置其密钥"),
)
registry.grant(PLATFORM_ADMIN, CLIENT_READ, CLIENT_WRITE)
