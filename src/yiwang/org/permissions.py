"""Permission names of the org domain, the platform's roles, and their default grants."""

from yiwang.core.permissions import (
    AUDIT_ADMIN,
    AUDIT_READ,
    CITIZEN,
    DATA_STEWARD,
    DEPT_ADMIN,
    DISPATCHER,
    ENTERPRISE,
    EVENTS_MANAGE,
    HANDLER,
    LEADER,
    PERSONAL_READ_CLEAR,
    PLATFORM_ADMIN,
    SCOPE_ALL_DEPARTMENTS,
    SECURITY_ADMIN,
    SEPARATED_ADMIN_ROLES,
    Permission,
    Role,
    registry,
)

USER_READ = "org.user.read"
USER_WRITE = "org.user.write"
ROLE_READ = "org.role.read"
ROLE_WRITE = "org.role.write"
DEPARTMENT_READ = "org.department.read"
DEPARTMENT_WRITE = "org.department.write"
DIVISION_READ = "org.division.read"
DIVISION_WRITE = "org.division.write"
CLIENT_WRITE = "org.client.write"
WORKBENCH_VIEW = "org.workbench.view"
MESSAGE_READ = "org.message.read"  # the local SMS outbox: codes in clear, so an administrator's grant
# Escalation guards: granting what one does not hold, and opening accounts bound to a person's identity.
ROLE_GRANT_ANY = "org.role.grant_any"
PUBLIC_ACCOUNT_CREATE = "org.user.create_public"
# Separation of the three administrators: the security administrator authorises (gives roles to
# existing accounts, grants the three administrator roles) and keeps the second-factor rules.
ROLE_ASSIGN = "org.user.assign_roles"
ADMIN_ROLE_GRANT = "org.role.grant_admin"
SECOND_FACTOR_RESET = "org.second_factor.reset"

STAFF_ROLES = (PLATFORM_ADMIN, SECURITY_ADMIN, AUDIT_ADMIN, DEPT_ADMIN, HANDLER, DISPATCHER, DATA_STEWARD, LEADER)
PUBLIC_ROLES = (CITIZEN, ENTERPRISE)

registry.add_permissions(
    Permission(USER_READ, "查看账号"),
    Permission(USER_WRITE, "管理账号"),
    Permission(ROLE_READ, "查看角色"),
    Permission(ROLE_WRITE, "管理角色权限"),
    Permission(DEPARTMENT_READ, "查看部门"),
    Permission(DEPARTMENT_WRITE, "管理部门"),
    Permission(DIVISION_READ, "查看行政区划"),
    Permission(DIVISION_WRITE, "管理行政区划"),
    Permission(CLIENT_WRITE, "管理系统接入客户端"),
    Permission(WORKBENCH_VIEW, "使用工作台"),
    Permission(MESSAGE_READ, "查看消息网关的短信记录（含本地发件箱中的验证码）"),
    Permission(ROLE_GRANT_ANY, "授予任意角色和权限（含部门管理员；三员角色另需授权）"),
    Permission(PUBLIC_ACCOUNT_CREATE, "代为开设绑定身份证号码或信用代码的个人、企业账号"),
    Permission(ROLE_ASSIGN, "为已有账号分配角色"),
    Permission(ADMIN_ROLE_GRANT, "授予或撤销系统管理员、安全管理员、审计管理员角色"),
    Permission(SECOND_FACTOR_RESET, "重置他人的双因素认证（须填写事由）"),
)

registry.add_roles(
    Role(PLATFORM_ADMIN, "系统管理员", "账号、部门、行政区划、接入客户端与平台运维（三员之一）", True),
    Role(SECURITY_ADMIN, "安全管理员", "角色权限、授权、双因素认证等安全策略（三员之一）", True),
    Role(AUDIT_ADMIN, "审计管理员", "审计日志的查询与校验，仅此而已（三员之一）", True),
    Role(DEPT_ADMIN, "部门管理员", "管理本部门账号与业务配置"),
    Role(HANDLER, "业务经办人", "办理本部门的申请与派遣事件"),
    Role(DISPATCHER, "调度员", "联动指挥中心受理、分拨、督办事件"),
    Role(DATA_STEWARD, "数据专员", "编目、发布和申请共享数据"),
    Role(LEADER, "领导", "查看驾驶舱、指标与预警"),
    Role(CITIZEN, "公众", "办事、查询进度、上报城市问题"),
    Role(ENTERPRISE, "企业", "企业办事与数据开放服务"),
)

_ALL_READS = (USER_READ, ROLE_READ, DEPARTMENT_READ, DIVISION_READ)
registry.grant(
    PLATFORM_ADMIN,
    *_ALL_READS,
    USER_WRITE,
    DEPARTMENT_WRITE,
    DIVISION_WRITE,
    CLIENT_WRITE,
    WORKBENCH_VIEW,
    MESSAGE_READ,
    ROLE_GRANT_ANY,
    PUBLIC_ACCOUNT_CREATE,
    EVENTS_MANAGE,
    SCOPE_ALL_DEPARTMENTS,
    PERSONAL_READ_CLEAR,
)
registry.grant(
    SECURITY_ADMIN,
    USER_READ,
    ROLE_READ,
    DEPARTMENT_READ,
    ROLE_WRITE,
    ROLE_ASSIGN,
    ROLE_GRANT_ANY,
    ADMIN_ROLE_GRANT,
    SECOND_FACTOR_RESET,
    SCOPE_ALL_DEPARTMENTS,
)
registry.grant(AUDIT_ADMIN, AUDIT_READ)
registry.grant(DEPT_ADMIN, *_ALL_READS, USER_WRITE, WORKBENCH_VIEW, PERSONAL_READ_CLEAR)
for _role in (HANDLER, DISPATCHER, DATA_STEWARD):
    registry.grant(_role, DEPARTMENT_READ, DIVISION_READ, WORKBENCH_VIEW)
registry.grant(LEADER, DEPARTMENT_READ, DIVISION_READ, WORKBENCH_VIEW, SCOPE_ALL_DEPARTMENTS)
registry.grant(CITIZEN, DIVISION_READ)
registry.grant(ENTERPRISE, DIVISION_READ)

# A role holding any of these is an administrator role: only holders of ROLE_GRANT_ANY grant or
# withdraw it, and only they add these permissions to a role.
ADMIN_PERMISSIONS = frozenset(
    {
        USER_WRITE,
        ROLE_WRITE,
        DEPARTMENT_WRITE,
        DIVISION_WRITE,
        CLIENT_WRITE,
        MESSAGE_READ,
        ROLE_GRANT_ANY,
        PUBLIC_ACCOUNT_CREATE,
        AUDIT_READ,
        SCOPE_ALL_DEPARTMENTS,
        PERSONAL_READ_CLEAR,
        ROLE_ASSIGN,
        ADMIN_ROLE_GRANT,
        SECOND_FACTOR_RESET,
    }
)

# The duties of the three administrators (三员分立). No role and no account carries the duties of two
# of them (org.separation), and the security and audit duties are handed out only by holders of
# ADMIN_ROLE_GRANT, so the system administrator cannot give them to an account or client it made.
SYSTEM_DUTIES = frozenset(
    {USER_WRITE, DEPARTMENT_WRITE, DIVISION_WRITE, CLIENT_WRITE, PUBLIC_ACCOUNT_CREATE, EVENTS_MANAGE}
)
SECURITY_DUTIES = frozenset({ROLE_WRITE, ROLE_ASSIGN, ADMIN_ROLE_GRANT, SECOND_FACTOR_RESET})
AUDIT_DUTIES = frozenset({AUDIT_READ})
DUTIES_BY_ADMIN_ROLE = {PLATFORM_ADMIN: SYSTEM_DUTIES, SECURITY_ADMIN: SECURITY_DUTIES, AUDIT_ADMIN: AUDIT_DUTIES}
assert set(DUTIES_BY_ADMIN_ROLE) == SEPARATED_ADMIN_ROLES

# Which roles each kind of account may hold.
ROLES_BY_KIND = {
    "staff": set(STAFF_ROLES),
    "citizen": {CITIZEN},
    "enterprise": {ENTERPRISE},
    "system": set(),
}
