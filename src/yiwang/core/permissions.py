"""The permission registry: each domain names its permissions and which roles hold them by default."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Permission:
    name: str  # "<domain>.<object>.<verb>", e.g. "org.user.write"
    label: str  # Chinese, shown on the roles page


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    description: str = ""
    # The role's starting value of "requires a second factor" (双因素认证); the security
    # administrator changes it afterwards, per role, in the database.
    requires_second_factor: bool = False


@dataclass
class PermissionRegistry:
    """Every permission and role the platform knows, filled by the domains' permissions.py."""

    permissions: dict[str, Permission] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    default_grants: dict[str, set[str]] = field(default_factory=dict)

    def add_permissions(self, *items: Permission) -> None:
        for item in items:
            self.permissions[item.name] = item

    def add_roles(self, *items: Role) -> None:
        for item in items:
            self.roles[item.code] = item
            self.default_grants.setdefault(item.code, set())

    def grant(self, role_code: str, *names: str) -> None:
        unknown = [n for n in names if n not in self.permissions]
        if unknown:
            raise KeyError(f"unknown permissions {unknown}")
        self.default_grants.setdefault(role_code, set()).update(names)


registry = PermissionRegistry()

# The platform's roles, which every domain grants its permissions to; org names and describes them.
PLATFORM_ADMIN = "platform_admin"  # the system administrator (系统管理员)
SECURITY_ADMIN = "security_admin"  # 安全管理员
AUDIT_ADMIN = "audit_admin"  # 审计管理员
DEPT_ADMIN = "dept_admin"
HANDLER = "handler"
DISPATCHER = "dispatcher"
DATA_STEWARD = "data_steward"
LEADER = "leader"
CITIZEN = "citizen"
ENTERPRISE = "enterprise"

# Separation of the three administrators (三员分立): no account holds two of these roles.
SEPARATED_ADMIN_ROLES = frozenset({PLATFORM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})

# The kernel's own permissions: the audit log and cross-department scope.
AUDIT_READ = "core.audit.read"
SCOPE_ALL_DEPARTMENTS = "core.scope.all"
PERSONAL_READ_CLEAR = "core.personal.read_clear"
EVENTS_MANAGE = "core.events.manage"

registry.add_permissions(
    Permission(AUDIT_READ, "查询审计日志"),
    Permission(SCOPE_ALL_DEPARTMENTS, "跨部门访问所有部门的记录"),
    Permission(PERSONAL_READ_CLEAR, "查看个人信息明文（留痕审计）"),
    Permission(EVENTS_MANAGE, "查看并重试跨域事件投递"),
)
